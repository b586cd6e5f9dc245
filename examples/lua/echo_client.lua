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

-- A line is sent this much at a time, and what the server has answered so far is
-- taken in between: the servers answer a long line 64 KiB at a time while it is
-- still coming, and a client that sent all of it first would stop both ends once
-- those answers filled its receive buffer and the server's send buffer.
local PIECE = 65536
local pending = {} -- what came back and is not printed yet, in the pieces it came in

local function take(data, e)
  if not data then fail(e) end
  if data == "" then fail("server terminated prematurely") end
  pending[#pending + 1] = data
  return data
end

local function send_line(line)
  for at = 1, #line, PIECE do
    local ok, e = conn:send(line:sub(at, at + PIECE - 1))
    if not ok then fail(e) end
    if at + PIECE <= #line then
      conn:settimeout(0) -- only what is there now
      while true do
        local data, e, errno = conn:recv(65536)
        if not data and errno == unixsock.errno.EAGAIN then break end
        take(data, e)
      end
      conn:settimeout(10)
    end
  end
end

-- The answer to the line sent: what came back up to its newline, read until it has one.
local function read_answer()
  local all = table.concat(pending)
  pending = { all }
  local nl, size = all:find("\n", 1, true), #all
  while not nl do
    local data = take(conn:recv(65536))
    nl = data:find("\n", 1, true) -- only the new bytes: the rest was searched
    nl = nl and size + nl
    size = size + #data
  end
  all = table.concat(pending)
  pending = { all:sub(nl + 1) }
  return all:sub(1, nl - 1)
end

for line in io.lines() do
  local reply
  if kind == "stream" then
    send_line(line .. "\n")
    reply = read_answer()
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
