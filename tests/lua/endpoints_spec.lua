local unixsock = require "unixsock"
local h = require "helper"
local E = unixsock.errno

describe("endpoints", function()
  for _, kind in ipairs({ "stream", "dgram", "seqpacket" }) do
    it("pair of kind " .. kind .. " carries bytes", h.no_leak(function()
      local a, b = unixsock.pair(kind)
      local _a <close> = a
      local _b <close> = b
      assert.are.equal(kind, a:kind())
      assert.are.equal(4, a:send("ping"))
      assert.are.equal("ping", b:recv(16))
      assert.are.equal(4, b:send("pong"))
      assert.are.equal("pong", a:recv(16))
    end))
  end

  for _, kind in ipairs({ "stream", "seqpacket" }) do
    it("listens, connects and accepts on " .. kind, h.no_leak(function()
      local addr = h.abstract()
      local l <close> = assert(unixsock.listen(addr, kind))
      local c <close> = assert(unixsock.connect(addr, kind, 5))
      l:settimeout(5)
      local s <close> = assert(l:accept())
      c:send("g1")
      assert.are.equal("g1", s:recv(100))
      assert.are.equal(addr, l:local_address())
      assert.are.equal(addr, c:peer_address())
      -- luasocket's and Python's names (luasocket code called getsockname: a nil method)
      assert.are.equal(addr, l:getsockname())
      assert.are.equal(addr, c:getpeername())
      assert.are.equal("", s:getpeername()) -- the client is unnamed
    end))
  end

  it("close is idempotent and a closed socket raises on use", h.no_leak(function()
    local a, b = unixsock.pair()
    a:close()
    a:close()
    assert.is_true(a:closed())
    assert.has_error(function() a:send("x") end)
    b:close()
  end))

  it("<close> closes the descriptor at scope end", h.no_leak(function()
    local fd
    do
      local a, b = unixsock.pair()
      local _a <close> = a
      local _b <close> = b
      fd = a:fileno()
    end
    assert.is_false(h.exists("/proc/self/fd/" .. fd))
  end))

  it("__gc closes a forgotten socket", h.no_leak(function()
    local a, b = unixsock.pair()
    a = nil
    collectgarbage()
    collectgarbage()
    assert.are.equal("", b:recv(10)) -- the peer was closed: end of stream
    b:close()
  end))

  it("__tostring shows kind, address and fd or closed", h.no_leak(function()
    local addr = h.abstract()
    local l = assert(unixsock.listen(addr, "seqpacket"))
    local s = tostring(l)
    assert.truthy(s:find("seqpacket", 1, true))
    assert.truthy(s:find(addr, 1, true))
    assert.truthy(s:find("fd " .. l:fileno(), 1, true))
    l:close()
    assert.are.equal("unixsock.socket (closed)", tostring(l))
  end))

  it("__tostring names a client's peer, a long path whole, control bytes as \\xNN", h.no_leak(function()
    local name = h.abstract() .. "\0x"
    local l <close> = assert(unixsock.listen(name, "seqpacket"))
    local c <close> = assert(unixsock.connect(name, "seqpacket"))
    local s <close> = assert(l:accept())
    local shown = name:gsub("%z", "\\x00")
    assert.are.equal("unixsock.socket seqpacket '" .. shown .. "' (fd " .. l:fileno() .. ")", tostring(l))
    assert.are.equal("unixsock.socket seqpacket '' peer '" .. shown .. "' (fd " .. c:fileno() .. ")", tostring(c))
    assert.are.equal("unixsock.socket seqpacket '" .. shown .. "' (fd " .. s:fileno() .. ")", tostring(s))
    -- a path past sun_path was shown as '' (its buffer was too small for it)
    local d = h.tmpdir()
    while #d < 150 do
      d = d .. "/a-rather-long-directory-name"
      os.execute("mkdir " .. d)
    end
    local long = assert(unixsock.listen(d .. "/long.sock"))
    assert.are.equal("unixsock.socket stream '" .. d .. "/long.sock' (fd " .. long:fileno() .. ")", tostring(long))
    long:close()
    h.rmdir(d:match("^/tmp/us%-lua%-[^/]+"))
  end))

  it("adopt reads the kind of an fd and refuses non-sockets", h.no_leak(function()
    local a, b = unixsock.pair("seqpacket")
    local fd = a:detach()
    local c <close> = assert(unixsock.adopt(fd))
    assert.are.equal("seqpacket", c:kind())
    c:send("x")
    assert.are.equal("x", b:recv())
    b:close()
    -- and says what a descriptor it refuses is, which the errno alone did not
    local f <close> = assert(io.open("/dev/null"))
    local x, y = unixsock.pair("seqpacket")
    assert(x:send_message("x", { f }))
    local passed = assert(y:recv_message()).fds[1] -- a unixsock.fd of /dev/null
    x:close()
    y:close()
    local file_fd = passed:fileno()
    local s, msg, err = unixsock.adopt(file_fd)
    assert.is_nil(s)
    assert.are.equal(E.ENOTSOCK, err)
    assert.are.equal("adopt: " .. unixsock.strerror(E.ENOTSOCK) .. "; descriptor " .. file_fd
      .. " is a device, not a socket", msg)
    passed:close()
    s, msg, err = unixsock.adopt(file_fd)
    assert.are.equal(E.EBADF, err)
    assert.are.equal("adopt: Bad file descriptor; descriptor " .. file_fd .. " is not open", msg)
    s, msg = unixsock.adopt(-2)
    assert.are.equal("adopt: Bad file descriptor; a descriptor is 0 or more, not -2", msg)
  end))

  it("adopt of what holds a descriptor says how to take it, and that way works", h.no_leak(function()
    -- "number expected, got unixstream{client}": and its number alone would
    -- have two owners, each to close it
    local dir = h.tmpdir()
    local l <close> = assert(unixsock.listen(dir .. "/srv"))
    local theirs = assert(require("socket.unix").stream())
    assert(theirs:connect(dir .. "/srv"))
    local ok, err = pcall(unixsock.adopt, theirs)
    assert.is_false(ok)
    assert.matches("a descriptor number, which the socket then owns: from a luasocket socket s, "
      .. "adopt(s:getfd()), then s:setfd(-1) so that s does not close it too", err, 1, true)
    local mine <close> = assert(unixsock.adopt(theirs:getfd())) -- as it says
    theirs:setfd(-1)
    theirs:close() -- closes nothing now
    local s <close> = assert(l:accept())
    assert(mine:send("x"))
    assert.are.equal("x", s:recv(1))
    local a, b = unixsock.pair("seqpacket")
    assert(a:send_message("x", { a }))
    local passed = assert(b:recv_message()).fds[1]
    ok, err = pcall(unixsock.adopt, passed)
    assert.is_false(ok)
    assert.matches("a received unixsock.fd becomes a socket with f:socket()", err, 1, true)
    passed:close()
    a:close()
    b:close()
    l:close()
    h.rmdir(dir)
  end))

  it("listening tells a listener from a connection", h.no_leak(function()
    for _, kind in ipairs({"stream", "seqpacket"}) do
      local addr = h.abstract()
      local l <close> = assert(unixsock.listen(addr, kind))
      local c <close> = assert(unixsock.connect(addr, kind, 5))
      local s <close> = assert(l:accept())
      assert.are.same({true, false, false}, {l:listening(), c:listening(), s:listening()})
    end
    local d <close> = assert(unixsock.bind())
    assert.is_false(d:listening())
    d:close()
    assert.has_error(function() d:listening() end, "attempt to use a closed socket")
  end))

  it("raises on a wrong argument type or unknown kind", function()
    assert.has_error(function() unixsock.connect({}) end)
    assert.has_error(function() unixsock.pair("raw") end)
    assert.has_error(function() unixsock.listen("@x", "dgram") end)
  end)

  it("sets and reads buffer sizes", h.no_leak(function()
    local a, b = unixsock.pair()
      local _a <close> = a
      local _b <close> = b
    assert.truthy(a:send_buffer(65536) >= 65536)
    assert.truthy(a:recv_buffer(65536) >= 65536)
    -- out of range, as max_message(0) and Python's OSError(EINVAL): they raised
    for _, set in ipairs({"send_buffer", "recv_buffer"}) do
      for _, bad in ipairs({ -1, 1 << 31 }) do
        local ok, msg, errno = a[set](a, bad)
        assert.is_nil(ok)
        assert.are.equal(set .. ": the size must be 0 to 2147483647", msg)
        assert.are.equal(E.EINVAL, errno)
      end
    end
    assert.truthy(a:send_buffer() >= 65536) -- unchanged
    assert.has_error(function() a:send_buffer("x") end) -- a mistyped one still raises
  end))

  it("a call that does not fit the socket says what the socket is", h.no_leak(function()
    -- "Invalid argument" for recv on a listener and accept on a connection, "not
    -- connected" for send on a listener: none said what the socket was
    local a, to = h.abstract(), h.abstract()
    local l <close> = assert(unixsock.listen(a))
    local c <close> = assert(unixsock.connect(a, "stream", 5))
    local d <close> = assert(unixsock.bind(to))
    local function listens(op)
      return op .. " " .. a .. ": %s; this stream socket listens: it only accepts connections; "
        .. op .. " on one that accept returns"
    end
    local cases = {
      { function() return l:recv(10) end, E.EINVAL, listens("recv"):format("Invalid argument") },
      { function() return l:send("x") end, E.ENOTCONN,
        listens("send"):format("Transport endpoint is not connected") },
      { function() return l:recv_message() end, E.EINVAL, listens("recv_message"):format("Invalid argument") },
      { function() return c:accept() end, E.EINVAL, "accept " .. a .. ": Invalid argument; this stream "
        .. "socket is not a listener: only one made by listen accepts connections" },
      { function() return d:accept() end, E.EINVAL, "accept " .. to .. ": Invalid argument; a dgram "
        .. "socket has no connections to accept: it receives datagrams itself (recv, recvfrom)" },
      { function() return c:sendto("x", to) end, E.EISCONN, "sendto " .. to .. ": Transport endpoint "
        .. "is already connected; a stream socket sends only to its peer: send without an address" },
      { function() return d:send("x") end, E.ENOTCONN, "send " .. to .. ": Transport endpoint is not "
        .. "connected; this dgram socket is not connected: give each datagram an address (sendto)" },
    }
    h.fails_as(cases)
  end))

  it("a reset says the peer closed with data unread", h.no_leak(function()
    -- "Connection reset by peer", on a machine with no network, said nothing
    for _, kind in ipairs({ "stream", "seqpacket" }) do
      local a, b = unixsock.pair(kind)
      local _a <close> = a
      assert(a:send("unread"))
      b:close()
      local data, msg, err = a:recv(10)
      assert.is_nil(data)
      assert.are.equal(E.ECONNRESET, err)
      assert.are.equal("recv: Connection reset by peer; the peer closed before reading all that "
        .. "this socket sent it", msg)
      assert.are.equal("", a:recv(10))
    end
  end))

  it("a send that timed out says the peer has not read", h.no_leak(function()
    local a, b = unixsock.pair()
    local _a <close> = a
    local _b <close> = b
    a:settimeout(0.02)
    local chunk = string.rep("x", 65536)
    local n, msg, err
    repeat n, msg, err = a:send(chunk) until not n
    assert.are.equal(E.ETIMEDOUT, err)
    assert.are.equal("send: Connection timed out; the peer has not read what was sent before: "
      .. "its receive buffer, and this socket's send buffer, are full", msg)
  end))
end)
