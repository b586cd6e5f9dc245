-- The seeds' echo server in Lua: answers every message with "Hi, <message>".
--   lua5.4 echo_server.lua PATH [stream|dgram|seqpacket]
-- stream: one line is one message (wire-compatible with examples/c and
-- examples/python); dgram and seqpacket: one packet is one message.
-- Serves one client after another until SIGINT/SIGTERM, then removes its file;
-- a client that leaves before its reply is reported on stderr, the next served.
local unixsock = require "unixsock"

local path, kind = arg[1], arg[2] or "stream"
local kinds = { stream = true, dgram = true, seqpacket = true }
if not path or not kinds[kind] or arg[3] then
  io.stderr:write("usage: echo_server.lua PATH [stream|dgram|seqpacket]\n")
  os.exit(2)
end
io.stdout:setvbuf("line")
unixsock.catch_signals("INT", "TERM")

local function serve_stream(conn)
  local pending = ""
  while not unixsock.signaled() do
    local data, why = conn:recv(4096)
    if not data then
      if not unixsock.signaled() then io.stderr:write("client lost: ", why, "\n") end
      return
    end
    if data == "" then
      if pending ~= "" then -- a last line without its newline is answered as it is
        print("Receive: " .. pending)
        local sent, why = conn:send("Hi, " .. pending)
        if not sent then io.stderr:write("client lost: ", why, "\n") return end
      end
      print("client quit")
      return
    end
    pending = pending .. data
    while true do
      local line, rest = pending:match("^(.-)\n(.*)$")
      if not line then break end
      pending = rest
      print("Receive: " .. line)
      local sent, why = conn:send("Hi, " .. line .. "\n")
      if not sent then io.stderr:write("client lost: ", why, "\n") return end
    end
  end
end

local function serve_packets(conn)
  while not unixsock.signaled() do
    local data, why = conn:recv(65536)
    if not data then
      if not unixsock.signaled() then io.stderr:write("client lost: ", why, "\n") end
      return
    end
    if data == "" then print("client quit") return end
    print("Receive: " .. data)
    local sent, why = conn:send("Hi, " .. data)
    if not sent then io.stderr:write("client lost: ", why, "\n") return end
  end
end

if kind == "dgram" then
  local sock <close>, err = unixsock.bind(path)
  if not sock then io.stderr:write("echo_server: ", err, "\n") os.exit(1) end
  while not unixsock.signaled() do
    local data, sender, errno = sock:recvfrom(65536)
    if not data and errno ~= unixsock.errno.EMSGSIZE then break end -- a signal: leave
    if not data then
      io.stderr:write("echo_server: ", sender, "\n") -- too long (and gone): the next
    else
      print("Receive: " .. data)
      print("now sending: Hi, " .. data)
      if sender == "" then -- it sent from an unbound socket
        io.stderr:write("echo_server: sender has no address to answer\n")
      else
        local sent, why = sock:sendto("Hi, " .. data, sender)
        if not sent then io.stderr:write("echo_server: ", why, "\n") end -- that client left
      end
    end
  end
else
  local listener <close>, err = unixsock.listen(path, kind)
  if not listener then io.stderr:write("echo_server: ", err, "\n") os.exit(1) end
  while not unixsock.signaled() do
    local conn <close> = listener:accept()
    if not conn then break end
    local p = conn:peer()
    if p then print(string.format("peer: pid=%d uid=%d gid=%d", p.pid, p.uid, p.gid)) end
    if kind == "stream" then serve_stream(conn) else serve_packets(conn) end
  end
end
