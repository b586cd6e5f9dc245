-- The seeds' echo client in Lua: sends each line of stdin, prints the answer.
--   lua5.4 echo_client.lua PATH [stream|dgram|seqpacket]
-- A dgram client autobinds a reply address (no tmpnam() file left behind).
local unixsock = require "unixsock"

local path, kind = arg[1], arg[2] or "stream"
local kinds = { stream = true, dgram = true, seqpacket = true }
if not path or not kinds[kind] or arg[3] then
  io.stderr:write("usage: echo_client.lua PATH [stream|dgram|seqpacket]\n")
  os.exit(2)
end

local conn <close>, err = unixsock.connect(path, kind, 5)
if not conn then
  io.stderr:write("echo_client: ", err, "\n")
  os.exit(1)
end
conn:settimeout(10)
if kind ~= "dgram" then
  local p = conn:peer()
  if p then io.stderr:write(string.format("server: pid=%d uid=%d gid=%d\n", p.pid, p.uid, p.gid)) end
end

local function fail(msg)
  io.stderr:write("echo_client: ", msg, "\n")
  os.exit(1)
end

local pending = ""
for line in io.lines() do
  local reply
  if kind == "stream" then
    assert(conn:send(line .. "\n"))
    while not pending:find("\n", 1, true) do
      local data, e = conn:recv(4096)
      if not data then fail(e) end
      if data == "" then fail("server terminated prematurely") end
      pending = pending .. data
    end
    reply, pending = pending:match("^(.-)\n(.*)$")
  else
    if kind == "dgram" then print("now sending " .. line) end
    local ok, e = conn:send(line)
    if not ok then fail(e) end
    reply, e = conn:recv(65536)
    if not reply then fail(e) end
  end
  print(reply)
  io.stdout:flush()
end
