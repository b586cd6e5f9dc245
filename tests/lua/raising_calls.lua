-- Calls that raise part-way (bad arguments found after something was allocated),
-- many times over; run under valgrind by test_lua_leaks.py, which wants no leak.
local unixsock = require "unixsock"

local function raises(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok and tostring(err):match(pattern), "expected an error matching " .. pattern .. ", got " .. tostring(err))
end

local a, b = unixsock.pair("seqpacket")
for _ = 1, 50 do
  raises("allow_gids%[1%] must be a uid/gid", unixsock.listen, "@unixsock-leak-test", "stream",
    { allow_uids = { 1, 2, 3 }, allow_gids = { "x" } })
  raises("allow_uids%[2%] must be a uid/gid", unixsock.bind, "", { allow_uids = { 0, -1 } })
  raises("fds%[2%] is a string, not a descriptor", a.send_message, a, "x", { a, "not an fd" })
  raises("fds must be a list of descriptors", a.send_message, a, "x", { a, creds = true })
  raises("message 3 must be a string or a table", a.send_batch, a, { "fine", { data = "x", fds = { a } }, 42 })
  raises("count must be 1..1024", b.recv_batch, b, 0)
end
a:close()
b:close()
print("ok")
