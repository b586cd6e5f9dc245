-- The seeds' echo server in Lua: answers every message with "Hi, <message>".
--   lua5.4 echo_server.lua PATH [stream|dgram|seqpacket]
-- stream: one line is one message (wire-compatible with examples/c and
-- examples/python; a line over 64 KiB is answered in 64 KiB pieces, as they fill
-- the buffer); dgram and seqpacket: one packet is one message.
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

-- as the C server's buffer: a longer line is answered in pieces this long
local LINE_MAX = 65536

local function answer(conn, line, ending)
  print("Receive: " .. line)
  local sent, why = conn:send("Hi, " .. line .. ending)
  if not sent then io.stderr:write("client lost: ", why, "\n") end
  return sent
end

local function serve_stream(conn)
  local pending = "" -- never more than LINE_MAX: a client cannot make the server hold more
  while not unixsock.signaled() do
    local data, why = conn:recv(LINE_MAX - #pending)
    if not data then
      if not unixsock.signaled() then io.stderr:write("client lost: ", why, "\n") end
      return
    end
    if data == "" then
      -- a last line without its newline is answered as it is
      if pending ~= "" and not answer(conn, pending, "") then return end
      print("client quit")
      return
    end
    pending = pending .. data
    local from = 1
    while true do
      local nl = pending:find("\n", from, true) -- a plain find: a pattern retries at each byte
      if not nl then break end
      if not answer(conn, pending:sub(from, nl - 1), "\n") then return end
      from = nl + 1
    end
    pending = pending:sub(from)
    if #pending == LINE_MAX then -- no newline in a whole buffer: answer this piece
      if not answer(conn, pending, "") then return end
      pending = ""
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
