-- An echo server written for an embedding host (examples/lua-host/host.c).
-- Nothing here blocks: every socket has timeout 0, the host polls the fds the
-- script lists and calls on_ready(fd).  Stops after `arg[2]` clients (default 1).
local unixsock = require "unixsock"

local path = assert(arg[1], "usage: lua_host echo_server.lua PATH [CLIENTS]")
local want = tonumber(arg[2] or "1")
local listener = assert(unixsock.listen(path, "seqpacket"))
listener:settimeout(0)
local clients, served = {}, 0

local script = {}

function script.fds()
  local list = { listener:fileno() }
  for fd in pairs(clients) do list[#list + 1] = fd end
  return list
end

function script.on_ready(fd)
  if fd == listener:fileno() then
    local conn = listener:accept()
    if conn then
      conn:settimeout(0)
      clients[conn:fileno()] = conn
    end
    return
  end
  local conn = clients[fd]
  local data, msg, err = conn:recv(65536)
  if data == nil and err == unixsock.errno.EAGAIN then return end -- spurious: yield
  if not data or data == "" then -- closed (or failed): forget the client
    clients[fd] = nil
    conn:close()
    served = served + 1
    return
  end
  local sent, why = conn:send("Hi, " .. data)
  -- this host watches readability only, so a reply the client has no room for
  -- (EAGAIN) is not kept for later: say so rather than drop it without a word
  if not sent then io.stderr:write("reply not sent: ", why, "\n") end
end

function script.done()
  return served >= want
end

return script
