-- The measured end in Lua: unixsock ("us") or luasocket ("luasocket").
-- Prints one number, like bench/c/client.c.
--   client.lua rtt us|luasocket KIND ADDRESS SIZE N   ns per round trip
--   client.lua spin us KIND ADDRESS SIZE N            the same, polling without blocking
--   client.lua poll us|luasocket KIND ADDRESS N        ns per try that finds nothing
--   client.lua rate us|batch KIND ADDRESS N            64-byte messages per second
--   client.lua fds us|batch KIND ADDRESS N             messages with one fd per second
--   client.lua fds-in us|batch KIND ADDRESS N          the same received (from peer
--                                                      fd-source), each fd closed
local what, how, kind, addr = arg[1], arg[2], arg[3], arg[4]
local clock = os.clock -- CPU time would mislead across processes: use wall time
local function now()
  local f = io.open("/proc/uptime") -- coarse; replaced below when possible
  local t = f:read("n")
  f:close()
  return t
end
local ok, socket = pcall(require, "socket")
if ok and socket.gettime then now = socket.gettime end

if what == "rtt" then
  local size, n = tonumber(arg[5]), tonumber(arg[6])
  local buf = string.rep("\0", size)
  if how == "luasocket" then
    local unix = require "socket.unix"
    local s = assert(kind == "dgram" and unix.dgram() or unix.stream())
    if kind == "dgram" then
      assert(s:bind(addr:gsub("^@", "/tmp/lua-bench-") .. ".sock"))
    end
    -- luasocket cannot name abstract sockets: the runner gives it a path
    assert(s:connect(addr))
    local t0 = now()
    for _ = 1, n do
      s:send(buf)
      if kind == "dgram" then s:receive() else s:receive(size) end
    end
    print(math.floor((now() - t0) / n * 1e9))
    if kind == "dgram" then os.remove((addr:gsub("^@", "/tmp/lua-bench-")) .. ".sock") end
    return
  end
  local u = require "unixsock"
  local s = assert(u.connect(addr, kind, 5))
  s:settimeout(nil) -- blocking, like the C clients
  local stream = kind == "stream"
  local t0 = now()
  for _ = 1, n do
    s:send(buf)
    local got = #s:recv(size)
    while stream and got < size do got = got + #s:recv(size - got) end
  end
  print(math.floor((now() - t0) / n * 1e9))
elseif what == "spin" then -- round trips polling without blocking
  local size, n = tonumber(arg[5]), tonumber(arg[6])
  local buf = string.rep("\0", size)
  local u = require "unixsock"
  local s = assert(u.connect(addr, kind, 5))
  s:settimeout(0)
  local t0 = now()
  for _ = 1, n do
    s:send(buf)
    local got = 0
    while got < size do
      local d = s:recv(size - got)
      if d then got = got + #d end
    end
  end
  print(math.floor((now() - t0) / n * 1e9))
elseif what == "poll" then -- tries that find nothing to read (would block)
  local n = tonumber(arg[5])
  local s
  if how == "luasocket" then
    local unix = require "socket.unix"
    s = assert(unix.stream()) -- the runner gives luasocket a path and a stream
    assert(s:connect(addr))
    s:settimeout(0)
    local t0 = now()
    for _ = 1, n do s:receive(64) end
    print(math.floor((now() - t0) / n * 1e9))
    return
  end
  local u = require "unixsock"
  s = assert(u.connect(addr, kind, 5))
  s:settimeout(0)
  local t0 = now()
  for _ = 1, n do s:recv(64) end
  print(math.floor((now() - t0) / n * 1e9))
elseif what == "rate" then
  local n = tonumber(arg[5])
  local u = require "unixsock"
  local s = assert(u.connect(addr, kind, 5))
  s:settimeout(nil) -- blocking, like the C clients
  local buf = string.rep("\0", 64)
  local t0 = now()
  if how == "batch" then
    local batch = {}
    for i = 1, 64 do batch[i] = buf end
    local sent = 0
    while sent < n do sent = sent + assert(s:send_batch(batch)) end
  else
    for _ = 1, n do s:send(buf) end
  end
  s:recv(1)
  print(math.floor(n / (now() - t0)))
elseif what == "fds" then
  local n = tonumber(arg[5])
  local u = require "unixsock"
  local s = assert(u.connect(addr, kind, 5))
  s:settimeout(nil) -- blocking, like the C clients
  local a, b = u.pair()
  local fds = { a }
  local t0 = now()
  if how == "batch" then
    local batch = {}
    for i = 1, 64 do batch[i] = { data = "x", fds = fds } end
    local sent = 0
    while sent < n do
      if n - sent < 64 then batch = table.move(batch, 1, n - sent, 1, {}) end
      sent = sent + assert(s:send_batch(batch))
    end
  else
    for _ = 1, n do s:send_message("x", fds) end
  end
  s:recv(1)
  print(math.floor(n / (now() - t0)))
elseif what == "fds-in" then
  local n = tonumber(arg[5])
  local u = require "unixsock"
  local s = assert(u.connect(addr, kind, 5))
  s:settimeout(nil)
  if kind == "dgram" then assert(s:send("k")) end -- hello: where the source sends
  local t0 = now()
  if how == "batch" then
    local got = 0
    while got < n do
      local batch = assert(s:recv_batch(math.min(64, n - got), 64))
      for i = 1, #batch do batch[i].fds[1]:close() end
      got = got + #batch
    end
  else
    for _ = 1, n do assert(s:recv_message()).fds[1]:close() end
  end
  assert(s:send("k"))
  print(math.floor(n / (now() - t0)))
end
