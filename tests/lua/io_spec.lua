local unixsock = require "unixsock"
local h = require "helper"
local E = unixsock.errno

describe("bytes", function()
  it("errname and strerror say what the core says, for errno and -errno alike", function()
    assert.are.same({ "ENOENT", "EPIPE", "EPIPE", "EUNKNOWN" },
      { unixsock.errname(E.ENOENT), unixsock.errname(E.EPIPE), unixsock.errname(-E.EPIPE),
        unixsock.errname(99999) })
    assert.are.equal("EUNKNOWN", unixsock.errname((1 << 32) + E.EPIPE)) -- was EPIPE: cut to an int
    assert.are.equal("Broken pipe", unixsock.strerror(E.EPIPE))
    assert.are.equal(unixsock.strerror(E.EPIPE), unixsock.strerror(-E.EPIPE))
  end)

  it("timeout 0 returns a distinct would-block result", h.no_leak(function()
    local a, b = unixsock.pair("dgram")
      local _a <close> = a
      local _b <close> = b
    b:settimeout(0)
    assert.are.equal(0, b:gettimeout())
    local data, msg, err = b:recv(10)
    assert.is_nil(data)
    assert.are.equal(E.EAGAIN, err)
    assert.are.equal("recv: " .. unixsock.strerror(E.EAGAIN), msg)
  end))

  it("a call's error names the socket by its address, as connect's does", h.no_leak(function()
    local dir = h.tmpdir()
    local path = dir .. "/app.sock"
    local l <close> = assert(unixsock.listen(path))
    local c = assert(unixsock.connect(path))
    l:settimeout(1)
    local conn <close> = assert(l:accept())
    c:close()
    local ok, msg, err = conn:send("x") -- an accepted connection: its listener's address
    assert.is_nil(ok)
    assert.are.equal(E.EPIPE, err)
    local closed = "; the peer closed its end, or shut down its reading: nothing more reaches it"
    assert.are.equal("send " .. path .. ": " .. unixsock.strerror(E.EPIPE) .. closed, msg)
    ok, msg = conn:send_message("x")
    assert.are.equal("send_message " .. path .. ": " .. unixsock.strerror(E.EPIPE) .. closed, msg)
    l:settimeout(0)
    ok, msg = l:accept() -- a poller's empty try names nothing: it costs no lookup
    assert.are.equal("accept: " .. unixsock.strerror(E.EAGAIN), msg)
    for _, kind in ipairs({ "dgram", "seqpacket" }) do
      local name = h.abstract(kind)
      local srv <close> = assert(kind == "dgram" and unixsock.bind(name) or unixsock.listen(name, kind))
      local cli <close> = assert(unixsock.connect(name, kind))
      cli:settimeout(0.01)
      ok, msg, err = cli:recv_message()
      assert.are.equal(E.ETIMEDOUT, err)
      assert.are.equal("recv_message " .. name .. ": " .. unixsock.strerror(E.ETIMEDOUT), msg)
      ok, msg = cli:recv_batch(2)
      assert.are.equal("recv_batch " .. name .. ": " .. unixsock.strerror(E.ETIMEDOUT), msg)
    end
    local d <close> = assert(unixsock.bind(""))
    local missing = dir .. "/nobody.sock"
    ok, msg, err = d:send_batch({ { data = "x", address = missing } }) -- the destination, not d
    assert.are.equal("send_batch " .. missing .. ": " .. unixsock.strerror(E.ENOENT), msg)
    local a, b = unixsock.pair()
    local _a <close> = a
    b:close()
    ok, msg = a:send("x")
    assert.are.equal("send: " .. unixsock.strerror(E.EPIPE) .. closed, msg) -- a pair has no name
    h.rmdir(dir)
  end))

  it("timeouts convert as in every language", h.no_leak(function()
    local a, b = unixsock.pair()
    local _a <close> = a
    local _b <close> = b
    b:settimeout(math.huge) -- was 24.8 days; waits for ever, as in Python and the CLI
    assert.is_nil(b:gettimeout())
    b:settimeout(1e300)
    assert.are.equal(2147483.647, b:gettimeout())
    b:settimeout(0.0015)
    assert.are.equal(0.002, b:gettimeout())
    assert.has_error(function() b:settimeout(0 / 0) end, "bad argument #1 to 'settimeout' (timeout must be nil or >= 0)")
  end))

  it("a timeout bounds the call and returns ETIMEDOUT", h.no_leak(function()
    local a, b = unixsock.pair()
      local _a <close> = a
      local _b <close> = b
    b:settimeout(0.1)
    local t0 = os.clock()
    local data, msg, err = b:recv(10)
    assert.is_nil(data)
    assert.are.equal(E.ETIMEDOUT, err)
  end))

  it("recv returns an empty string at end of stream", h.no_leak(function()
    local a, b = unixsock.pair()
      local _b <close> = b
    a:send("z")
    a:close()
    assert.are.equal("z", b:recv(10))
    assert.are.equal("", b:recv(10))
  end))

  it("recv(0) returns an empty string at once and takes nothing", h.no_leak(function()
    for _, kind in ipairs({ "stream", "dgram", "seqpacket" }) do
      local a, b = unixsock.pair(kind)
      local _a <close> = a
      local _b <close> = b
      b:settimeout(5) -- waiting would end in ETIMEDOUT
      assert.are.equal("", assert(b:recv(0)))
      a:send("kept")
      assert.are.equal("", assert(b:recv(0)))
      assert.are.equal("kept", b:recv(10))
    end
  end))

  it("a size too large to allocate raises before anything is taken", function()
    for _, kind in ipairs({ "stream", "dgram", "seqpacket" }) do
      local a, b = unixsock.pair(kind)
      local _a <close> = a
      local _b <close> = b
      a:send("kept")
      local ok, err = pcall(b.recv, b, 1 << 60)
      assert.is_false(ok)
      assert.matches("not enough memory", err, 1, true)
      if kind == "dgram" then
        ok, err = pcall(b.recvfrom, b, 1 << 60)
        assert.is_false(ok)
        assert.matches("not enough memory", err, 1, true)
      end
      assert.are.equal("kept", b:recv(10))
      -- a size over the kept buffer's 1 MiB still works, for that call
      a:send("more")
      assert.are.equal("more", b:recv(4 << 20))
    end
  end)

  it("a destination address on stream or seqpacket is EISCONN and sends nothing", h.no_leak(function()
    for _, kind in ipairs({ "stream", "seqpacket" }) do
      local a, b = unixsock.pair(kind)
      local _a <close> = a
      local _b <close> = b
      local n, msg, err = a:sendto("x", "@elsewhere")
      assert.is_nil(n)
      assert.are.equal(unixsock.errno.EISCONN, err)
      assert.matches("sendto @elsewhere", msg, 1, true)
      n, msg, err = a:send_message("x", nil, { address = "@elsewhere" })
      assert.is_nil(n)
      assert.are.equal(unixsock.errno.EISCONN, err)
      assert.matches("send_message @elsewhere", msg, 1, true)
      b:settimeout(0)
      local _, _, again = b:recv(10)
      assert.are.equal(unixsock.errno.EAGAIN, again)
    end
  end))

  it("send to a closed peer is EPIPE, never SIGPIPE", h.no_leak(function()
    local a, b = unixsock.pair("seqpacket")
      local _a <close> = a
    b:close()
    local n, msg, err = a:send("x")
    assert.is_nil(n)
    assert.are.equal(E.EPIPE, err)
  end))

  it("a long message is EMSGSIZE, never truncated", h.no_leak(function()
    local a, b = unixsock.pair("dgram")
      local _a <close> = a
      local _b <close> = b
    a:send("too long")
    local d, msg, err = b:recv(4)
    assert.is_nil(d)
    assert.are.equal("recv: Message too long; the datagram that arrived had 8 bytes, more than recv "
      .. "asked for: it was dropped, not cut (ask for as many, or use recv_message)", msg)
    assert.are.equal(E.EMSGSIZE, err)
    assert(a:send_buffer(10000)) -- the kernel makes it 20000
    d, msg, err = a:send(string.rep("x", 20000))
    assert.is_nil(d)
    assert.are.equal(E.EMSGSIZE, err)
    assert.matches("send: Message too long; this socket sends a datagram of at most 19968 bytes: its send "
      .. "buffer (20000 bytes) less 32", msg, 1, true)
    a:send("next")
    assert.are.equal("next", b:recv(4)) -- the long one was dropped, not left in the way
  end))

  it("stream send writes every byte", h.no_leak(function()
    local a, b = unixsock.pair()
      local _a <close> = a
      local _b <close> = b
    a:send_buffer(4096)
    b:settimeout(0)
    a:settimeout(0)
    local big = string.rep("0123456789abcdef", 1 << 16)
    -- with timeout 0 it returns what fit; the rest follows once drained
    local sent = 0
    local got = {}
    while sent < #big do
      local n = a:send(big:sub(sent + 1))
      if n then sent = sent + n end
      local d = b:recv(65536)
      if d then got[#got + 1] = d end
    end
    while true do
      local d = b:recv(65536)
      if not d then break end
      got[#got + 1] = d
    end
    assert.are.equal(big, table.concat(got))
  end))

  it("send takes luasocket's i and j, and returns the index of the last byte sent", h.no_leak(function()
    -- i and j were ignored: a luasocket loop that sends the rest from i, as
    -- send(data, last + 1), sent all of data again
    local a, b = unixsock.pair()
      local _a <close> = a
      local _b <close> = b
    assert.are.equal(4, a:send("hello", 2, 4)) -- "ell"
    assert.are.equal(5, a:send("hello", -2)) -- "lo"
    assert.are.equal(5, a:send("hello", 1, 99))
    assert.are.equal(3, a:send("hello", 4, 3)) -- nothing: i - 1
    assert.are.equal("elllohello", b:recv(100))
    -- the loop itself, with timeout 0 taking part at a time
    a:send_buffer(4096)
    a:settimeout(0)
    b:settimeout(0)
    local big = string.rep("0123456789abcdef", 1 << 15)
    local last, got = 0, {}
    while last < #big do
      last = a:send(big, last + 1) or last
      got[#got + 1] = b:recv(65536)
    end
    for d in function() return b:recv(65536) end do got[#got + 1] = d end
    assert.are.equal(big, table.concat(got))
    -- on dgram an empty part is an empty datagram, as send("") is
    local d1, d2 = unixsock.pair("dgram")
      local _d1 <close> = d1
      local _d2 <close> = d2
    assert.are.equal(1, d1:send("x", 2)) -- i - 1, as luasocket says it
    assert.are.equal("", d2:recv(10))
    assert.are.equal(99, d1:send("x", 100)) -- i far past the end: nothing, and i - 1 still
    assert.are.equal("", d2:recv(10))
  end))

  it("lines reads a stream line by line, as io.lines reads a file", h.no_leak(function()
    -- a line protocol (the seeds' echo) needed its own buffering around recv
    local a, b = unixsock.pair()
      local _a <close> = a
      local _b <close> = b
    a:send("g1\nhé\n\n" .. string.rep("x", 200000) .. "\nlast")
    a:shutdown("w")
    local got = {}
    for line in b:lines() do got[#got + 1] = line end
    assert.are.same({ "g1", "hé", "", string.rep("x", 200000), "last" }, got)
    -- many short lines from each read, each taken where the last one ended
    local many = string.rep("line\n", 100000)
    a, b = unixsock.pair()
    a:send_buffer(1 << 20)
    b:recv_buffer(1 << 20)
    assert.are.equal(#many, a:send(many))
    a:close()
    local count, bytes = 0, 0
    for line in b:lines() do count, bytes = count + 1, bytes + #line end
    b:close()
    assert.are.same({ 100000, 400000 }, { count, bytes })
    -- an error raises, as io.lines' do (a for loop cannot return one)
    local c, d = unixsock.pair()
      local _c <close> = c
      local _d <close> = d
    d:settimeout(0.05)
    local ok, err = pcall(function() for _ in d:lines() do end end)
    assert.is_false(ok)
    assert.are.equal("lines: " .. unixsock.strerror(E.ETIMEDOUT), err)
    local p, q = unixsock.pair("seqpacket")
      local _p <close> = p
      local _q <close> = q
    ok, err = pcall(p.lines, p)
    assert.is_false(ok)
    assert.matches("lines reads a stream; on dgram and seqpacket each recv is one message", err, 1, true)
  end))

  it("sendto and recvfrom carry the sender's address", h.no_leak(function()
    local addr = h.abstract()
    local srv <close> = assert(unixsock.bind(addr))
    local cli <close> = assert(unixsock.bind(""))
    assert.are.equal(2, cli:sendto("g1", addr))
    local data, from = srv:recvfrom(100)
    assert.are.equal("g1", data)
    assert.are.equal(cli:local_address(), from)
    srv:sendto("Hi, " .. data, from)
    local reply, from2 = cli:recvfrom(100)
    assert.are.equal("Hi, g1", reply)
    assert.are.equal(addr, from2)
  end))

  it("accept waits up to the timeout", h.no_leak(function()
    local l <close> = assert(unixsock.listen(h.abstract(), "seqpacket"))
    l:settimeout(0.05)
    local c, msg, err = l:accept()
    assert.are.equal(E.ETIMEDOUT, err)
    l:settimeout(0)
    c, msg, err = l:accept()
    assert.are.equal(E.EAGAIN, err)
  end))

  it("accept on a listener shut down for reading is EINVAL, never EAGAIN", h.no_leak(function()
    -- a host's loop would see the fd readable for ever and spin on EAGAIN
    local name = h.abstract()
    local l <close> = assert(unixsock.listen(name))
    assert(l:shutdown("r"))
    for _, timeout in ipairs({ 10, 0 }) do
      l:settimeout(timeout) -- before: with 10 s it spun until then
      local c, msg, err = l:accept()
      assert.is_nil(c)
      assert.are.equal(E.EINVAL, err)
      assert.are.equal("accept " .. name .. ": Invalid argument", msg)
    end
  end))

  it("shutdown('w') gives the peer end of stream", h.no_leak(function()
    local a, b = unixsock.pair()
    a:send("last")
    assert(a:shutdown("w"))
    assert.are.equal("last", b:recv())
    assert.are.equal("", b:recv())
    a:close()
    b:close()
  end))

  it("luasocket's socket.select watches unixsock sockets too (getfd)", h.no_leak(function()
    -- select asks each object for getfd(); without it, a socket with a message
    -- waiting was left out without a word, and select said "timeout"
    local socket = require "socket"
    local a, b = unixsock.pair("seqpacket")
    assert.are.equal(b:fileno(), b:getfd())
    local readable, _, err = socket.select({ b }, nil, 0)
    assert.are.same({ "timeout", 0 }, { err, #readable }) -- nothing yet
    assert(a:send("x"))
    readable, _, err = socket.select({ b }, nil, 5)
    assert.are.same({ nil, 1, true }, { err, #readable, readable[1] == b })
    local _, writable = socket.select(nil, { a }, 5)
    assert.are.equal(a, writable[1])
    b:close()
    assert.are.equal(-1, b:getfd()) -- as luasocket's closed sockets: select leaves it out
    readable, _, err = socket.select({ b }, nil, 0)
    assert.are.same({ "timeout", 0 }, { err, #readable })
    a:close()
  end))

  it("shutdown takes luasocket's names as well: 'send', 'receive', 'both'", h.no_leak(function()
    -- they were "bad argument #2 to 'shutdown' (invalid option 'send')"
    for _, case in ipairs{{"send", true, false}, {"receive", false, true}, {"both", true, true},
                          {"w", true, false}, {"r", false, true}, {"rw", true, true}} do
      local how, peer_reads_end, reads_end = case[1], case[2], case[3]
      local a, b = unixsock.pair()
      a:settimeout(0)
      b:settimeout(0)
      assert(a:shutdown(how))
      assert.are.equal(peer_reads_end, b:recv() == "", how)
      assert.are.equal(reads_end, a:recv() == "", how)
      a:close()
      b:close()
    end
  end))

  it("shutdown says which names it takes", h.no_leak(function()
    local a, b = unixsock.pair()
    local ok, err = pcall(a.shutdown, a, "write")
    assert.is_false(ok)
    assert.matches("how must be 'r', 'w' or 'rw' (luasocket's 'receive', 'send', 'both' too), not 'write'", err, 1, true)
    assert(a:send("open")) -- nothing was shut
    assert.are.equal("open", b:recv())
    a:close()
    b:close()
  end))

  it("recv and recvfrom keep each message whole and apart, whatever the sizes", h.no_leak(function()
    -- one receive buffer is reused and grown; a size beyond it takes another path
    local a, b = unixsock.pair("seqpacket")
    local _a <close> = a
    local _b <close> = b
    local sizes = { 1, 64, 4096, 5000, 70000, 3, 100000 }
    for i, n in ipairs(sizes) do
      local msg = string.rep(string.char(64 + i), n)
      assert.are.equal(n, a:send(msg))
      local cap = ({ n, 65536, 1 << 21, n + 1 })[i % 4 + 1]
      if cap < n then cap = n end
      assert.are.equal(msg, b:recv(cap))
    end
    b:settimeout(0)
    local data, _, err = b:recv(1 << 21) -- a failure leaves nothing behind
    assert.is_nil(data)
    assert.are.equal(E.EAGAIN, err)
    a:send("after")
    assert.are.equal("after", b:recv(10))
    local addr = h.abstract()
    local srv <close> = assert(unixsock.bind(addr))
    local cli <close> = assert(unixsock.bind(""))
    for i, n in ipairs({ 10, 9000, 2 }) do
      cli:sendto(string.rep(tostring(i), n), addr)
      local got, from = srv:recvfrom(n < 100 and 100 or 1 << 21)
      assert.are.equal(string.rep(tostring(i), n), got)
      assert.are.equal(cli:local_address(), from)
    end
  end))

  it("socket methods refuse anything that is not a socket", h.no_leak(function()
    local a, b = unixsock.pair()
    local _a <close> = a
    local _b <close> = b
    -- io.stdout is a full userdata of a socket's size; upvalueid gives a light one
    local light = debug.upvalueid(function() return a end, 1)
    for _, other in ipairs({ io.stdout, light, {}, "s", 1 }) do
      local ok, err = pcall(a.recv, other, 10)
      assert.is_false(ok)
      assert.matches("unixsock.socket expected", err)
      ok, err = pcall(a.send, other, "x")
      assert.is_false(ok)
      assert.matches("unixsock.socket expected", err)
    end
  end))

  it("a received descriptor reads and writes", h.no_leak(function()
    local a, b = unixsock.pair("seqpacket")
    local c, d = unixsock.pair()
    local _a <close> = a
    local _b <close> = b
    local _d <close> = d
    assert(a:send_message("x", { c }))
    c:close()
    local m = assert(b:recv_message())
    local f <close> = m.fds[1]
    d:send(string.rep("r", 5000))
    assert.are.equal(string.rep("r", 5000), f:read(8192))
    assert.are.equal(4, f:write("back"))
    assert.are.equal("back", d:recv(10))
  end))
end)
