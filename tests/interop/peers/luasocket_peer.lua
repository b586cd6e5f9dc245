-- A peer nobody in this project wrote: luasocket's socket.unix, as a client of
-- unixsock servers and as a server for unixsock clients.
--   lua5.4 luasocket_peer.lua server stream|dgram PATH   echo "Hi, " + message
--   lua5.4 luasocket_peer.lua client stream|dgram PATH   stdin lines -> replies
local unix = require "socket.unix"

local role, kind, path = arg[1], arg[2], arg[3]

local function check(v, err)
  if not v then
    io.stderr:write("luasocket_peer: ", tostring(err), "\n")
    os.exit(1)
  end
  return v
end

if role == "server" and kind == "stream" then
  local l = check(unix.stream())
  check(l:bind(path))
  check(l:listen())
  print("ready")
  io.stdout:flush()
  while true do
    local c = check(l:accept())
    while true do
      local line = c:receive("*l")
      if not line then break end
      c:send("Hi, " .. line .. "\n")
    end
    c:close()
  end
elseif role == "server" and kind == "dgram" then
  local s = check(unix.dgram())
  check(s:bind(path))
  print("ready")
  io.stdout:flush()
  while true do
    local data, from = s:receivefrom()
    if data and from and from ~= "" then s:sendto("Hi, " .. data, from) end
  end
elseif role == "client" and kind == "stream" then
  local c = check(unix.stream())
  check(c:connect(path))
  for line in io.lines() do
    check(c:send(line .. "\n"))
    print(check(c:receive("*l")))
  end
  c:close()
elseif role == "client" and kind == "dgram" then
  local c = check(unix.dgram())
  local me = path .. ".luasocket-client"
  check(c:bind(me)) -- luasocket has no autobind: a path of its own for replies
  check(c:connect(path))
  c:settimeout(10)
  for line in io.lines() do
    check(c:send(line))
    print(check(c:receive()))
  end
  c:close()
  os.remove(me)
else
  io.stderr:write("usage: luasocket_peer.lua server|client stream|dgram PATH\n")
  os.exit(2)
end
