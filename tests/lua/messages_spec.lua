local unixsock = require "unixsock"
local h = require "helper"
local E = unixsock.errno

local function pipe_with(text)
  -- a pipe made through the shell would not be ours; use a socketpair instead:
  -- one end is passed, the other written to, and the content read back
  local a, b = unixsock.pair("stream")
  b:send(text)
  return a, b
end

describe("messages", function()
  for _, kind in ipairs({ "stream", "dgram", "seqpacket" }) do
    it("round trip on " .. kind, h.no_leak(function()
      local a, b = unixsock.pair(kind)
      local _a <close> = a
      local _b <close> = b
      assert.are.equal(5, a:send_message("hello"))
      assert.are.equal(0, a:send_message(""))
      local m = assert(b:recv_message())
      assert.are.equal("hello", m.data)
      assert.are.same({}, m.fds)
      m = assert(b:recv_message())
      assert.are.equal("", m.data)
    end))

    it("a passed fd is proved by content on " .. kind, h.no_leak(function()
      local a, b = unixsock.pair(kind)
      local _a <close> = a
      local _b <close> = b
      local inner, writer = pipe_with("before ")
      assert(a:send_message("take this", { inner }))
      inner:close()
      writer:send("after")
      local m = assert(b:recv_message())
      assert.are.equal("take this", m.data)
      assert.are.equal(1, #m.fds)
      local s <close> = assert(m.fds[1]:socket())
      assert.are.equal("stream", s:kind())
      local got = ""
      while #got < 12 do got = got .. s:recv(100) end
      assert.are.equal("before after", got)
      writer:close()
    end))

    it("socket() of a passed fd that is no socket names socket() on " .. kind, h.no_leak(function()
      -- it said "adopt: ...", a call the script never made
      local a, b = unixsock.pair(kind)
      local _a <close> = a
      local _b <close> = b
      local f <close> = assert(io.open("/dev/null"))
      assert(a:send_message("x", { f }))
      local m = assert(b:recv_message())
      local s, msg, err = m.fds[1]:socket()
      assert.is_nil(s)
      assert.are.equal(E.ENOTSOCK, err)
      assert.are.equal("socket: " .. unixsock.strerror(E.ENOTSOCK) .. "; descriptor "
        .. m.fds[1]:fileno() .. " is a device, not a socket", msg)
      m.fds[1]:close() -- still the message's: socket() took nothing
    end))

    it("credentials on " .. kind, h.no_leak(function()
      local a, b = unixsock.pair(kind)
      local _a <close> = a
      local _b <close> = b
      a:send_message("who", nil, { creds = true })
      local m = assert(b:recv_message())
      assert.are.equal(tonumber(h.pid()), m.creds.pid)
      assert.is_number(m.creds.uid)
    end))

    if kind ~= "dgram" then -- a datagram queue holds 10
      it("recv_batch returns every waiting message up to count on " .. kind, h.no_leak(function()
        -- 64 seqpacket messages came back 32 at a time
        local a, b = unixsock.pair(kind)
        local _a <close> = a
        local _b <close> = b
        local out = {}
        for i = 1, 64 do out[i] = "m" .. i end
        assert.are.equal(64, a:send_batch(out))
        local batch = assert(b:recv_batch(64, 100))
        assert.are.equal(64, #batch)
        for i = 1, 64 do assert.are.equal("m" .. i, batch[i].data) end
      end))
    end

    it("batches on " .. kind, h.no_leak(function()
      local a, b = unixsock.pair(kind)
      local _a <close> = a
      local _b <close> = b
      local out = {}
      for i = 1, 30 do out[i] = "message " .. i end
      out[31] = { data = "with creds", creds = true }
      assert.are.equal(31, a:send_batch(out))
      local got = {}
      while #got < 31 do
        local batch = assert(b:recv_batch(64, 100))
        assert.truthy(#batch > 0)
        for _, m in ipairs(batch) do got[#got + 1] = m end
      end
      for i = 1, 30 do assert.are.equal("message " .. i, got[i].data) end
      assert.are.equal("with creds", got[31].data)
      assert.are.equal(tonumber(h.pid()), got[31].creds.pid)
    end))
  end

  it("a server gets the kernel's credentials on messages sent before it asked", h.no_leak(function()
    -- they came without: SO_PASSCRED was turned on at the first recv_message.
    -- The peers attach nothing and have no SO_PASSCRED: luasocket, and a
    -- unixsock seqpacket client
    local dir = h.tmpdir()
    local d = dir .. "/srv"
    local srv <close> = assert(unixsock.bind(d))
    local peer = assert(require("socket.unix").dgram())
    assert(peer:sendto("early", d))
    peer:close()
    local m = assert(srv:recv_message())
    assert.are.equal("early", m.data)
    assert.are.equal(tonumber(h.pid()), m.creds and m.creds.pid)
    srv:close()
    local q = h.abstract("early-seqpacket")
    local l <close> = assert(unixsock.listen(q, "seqpacket"))
    local c <close> = assert(unixsock.connect(q, "seqpacket", 5))
    assert(c:send("before accept"))
    local conn <close> = assert(l:accept())
    assert(c:send("after accept"))
    for _, want in ipairs({ "before accept", "after accept" }) do
      m = assert(conn:recv_message())
      assert.are.equal(want, m.data)
      assert.are.equal(tonumber(h.pid()), m.creds and m.creds.pid)
    end
    assert.are.equal("", c:local_address())
    h.rmdir(dir)
  end))

  it("send_batch recovers from a bad item and keeps batches of every size apart", h.no_leak(function()
    -- its buffer is reused from call to call: a call that raised must free it
    local a, b = unixsock.pair("seqpacket")
    local _a <close> = a
    local _b <close> = b
    local x, y = unixsock.pair()
    local _y <close> = y
    assert.has_error(function() a:send_batch({ "ok", 42 }) end)
    assert.has_error(function() a:send_batch({ { data = "x", fds = { "not an fd" } } }) end)
    b:settimeout(0)
    local _, _, err = b:recv_batch(64, 100)
    assert.are.equal(unixsock.errno.EAGAIN, err) -- nothing went
    b:settimeout(5)
    a:settimeout(5)
    for _, size in ipairs({ 1, 64, 5, 100 }) do -- growing past the first buffer
      local out = {}
      for i = 1, size do out[i] = { data = size .. ":" .. i, fds = i == size and { x } or nil } end
      assert.are.equal(size, a:send_batch(out))
      local got = {}
      while #got < size do
        for _, m in ipairs(assert(b:recv_batch(64, 100))) do got[#got + 1] = m end
      end
      for i = 1, size do assert.are.equal(size .. ":" .. i, got[i].data) end
      assert.are.equal(1, #got[size].fds)
      for _, m in ipairs(got) do for _, f in ipairs(m.fds) do f:close() end end
    end
    x:close()
    -- default arguments: 64 slots of 64 KiB, more than the reused buffer holds
    b:settimeout(0)
    local _, _, err = b:recv_batch()
    assert.are.equal(unixsock.errno.EAGAIN, err)
    assert.are.equal(2, a:send_batch({ "first", string.rep("z", 60000) }))
    local got = assert(b:recv_batch())
    assert.are.equal(2, #got)
    assert.are.equal("first", got[1].data)
    assert.are.equal(string.rep("z", 60000), got[2].data)
  end))

  it("fd objects close when collected unless taken", h.no_leak(function()
    local a, b = unixsock.pair("seqpacket")
    local x, y = unixsock.pair()
    a:send_message("x", { x, y })
    x:close()
    y:close()
    local m = assert(b:recv_message())
    local n = m.fds[2]:take()
    m = nil
    collectgarbage()
    collectgarbage()
    -- the taken one is still open: adopt it to close it
    local s = assert(unixsock.adopt(n))
    s:close()
    a:close()
    b:close()
  end))

  it("a received fd object is passed on; closed ones and non-descriptors are refused", h.no_leak(function()
    local a, b = unixsock.pair("seqpacket")
    local x, y = unixsock.pair()
    assert(a:send_message("x", { x }))
    x:close()
    local first = assert(b:recv_message())
    local fwd = first.fds[1]
    -- the unixsock.fd object itself goes into the next message
    assert(b:send_message("again", { fwd }))
    local second = assert(a:recv_message())
    assert.are.equal(1, #second.fds)
    assert.are.equal(1, second.fds[1]:write("z"))
    assert.are.equal("z", y:recv(1))
    fwd:close()
    local n, _, err = b:send_message("x", { fwd })
    assert.is_nil(n)
    assert.are.equal(E.EBADF, err)
    local closed, other = unixsock.pair()
    closed:close()
    other:close()
    -- a closed socket is one, and says so, as its own methods do (it was called
    -- no descriptor at all)
    assert.has_error(function() a:send_message("x", { closed }) end, "attempt to use a closed socket")
    local p <close> = unixsock.poller()
    assert.has_error(function() p:add(closed, "r") end, "attempt to use a closed socket")
    local ok, _, perr = p:add(fwd, "r") -- a closed fd object: EBADF there too (was EINVAL)
    assert.is_nil(ok)
    assert.are.equal(E.EBADF, perr)
    -- the error named neither the list nor the item
    assert.has_error(function() a:send_message("x", { "3" }) end,
      "send_message: fds[1] is a string, not a descriptor (integer, unixsock.fd, socket, file or object with getfd)")
    assert.has_error(function() a:send_batch({ "ok", { data = "x", fds = { a, {} } } }) end,
      "send_batch: message 2's fds[2] is a table, not a descriptor (integer, unixsock.fd, socket, file or object with getfd)")
    assert.has_error(function() p:add("3", "r") end,
      "bad argument #1 to 'add' (descriptor (integer, unixsock.fd, socket, file or object with getfd) expected, got string)")
    second.fds[1]:close()
    y:close()
    a:close()
    b:close()
  end))

  it("luasocket's socket.select watches a received descriptor too (getfd)", h.no_leak(function()
    local socket = require "socket"
    local a, b = unixsock.pair("seqpacket")
    local x, y = unixsock.pair()
    assert(a:send_message("here", { x }))
    local m = assert(b:recv_message())
    local got = m.fds[1]
    assert.are.equal(got:fileno(), got:getfd())
    assert(y:send("ready"))
    local readable, _, err = socket.select({ got }, nil, 5)
    assert.are.same({ nil, 1, true }, { err, #readable, readable[1] == got })
    got:close()
    assert.are.equal(-1, got:getfd()) -- closed: select leaves it out, as luasocket's own
    for _, s in ipairs { a, b, x, y } do s:close() end
  end))

  it("a luasocket socket is passed as its descriptor (getfd), and stays the sender's", h.no_leak(function()
    -- it was "fds[1] is a userdata, not a descriptor", where Python takes any
    -- object with fileno()
    local dir = h.tmpdir()
    local path = dir .. "/srv"
    local l = assert(unixsock.listen(path))
    local theirs = assert(require("socket.unix").stream())
    assert(theirs:connect(path))
    local conn = assert(l:accept())
    local a, b = unixsock.pair("seqpacket")
    assert(a:send_message("a luasocket client", { theirs }))
    local m = assert(b:recv_message())
    assert.are.equal(16, m.fds[1]:write("through the copy"))
    assert.are.equal("through the copy", conn:recv())
    assert(theirs:send("and the original\n")) -- still open: lent for the call
    assert.are.equal("and the original\n", conn:recv())
    local p = unixsock.poller()
    assert(p:add(theirs, "w", "it")) -- the poller takes it too
    assert.are.equal("it", p:wait(5)[1].value)
    assert(p:remove(theirs))
    p:close()
    theirs:close() -- getfd() is then -1: a descriptor no one has
    local n, msg, err = a:send_message("x", { theirs })
    assert.are.same({ nil, E.EBADF }, { n, err })
    assert.matches("fds[1] (-1) is not an open descriptor", msg, 1, true)
    m.fds[1]:close()
    for _, s in ipairs { a, b, conn, l } do s:close() end
    h.rmdir(dir)
  end))

  it("a file of the io library is passed as its descriptor, and stays the sender's", h.no_leak(function()
    -- it was "not a descriptor", where Python takes any object with fileno()
    local a, b = unixsock.pair("seqpacket")
    local _a <close> = a
    local _b <close> = b
    local path = os.tmpname()
    local w = assert(io.open(path, "w"))
    w:write("in the file")
    w:close()
    local f = assert(io.open(path))
    assert(a:send_message("file", { f }))
    local m = assert(b:recv_message())
    assert.are.equal("in the file", m.fds[1]:read(100))
    m.fds[1]:close()
    -- the file keeps its own descriptor, open, on the same open file: the
    -- receiver's read moved the offset both share
    assert.are.equal(11, f:seek("cur"))
    f:seek("set", 0)
    assert.are.equal("in the file", f:read("a"))
    f:close()
    assert.has_error(function() a:send_message("x", { f }) end, "attempt to use a closed file")
    os.remove(path)
    -- to the poller too (a pipe: epoll watches no regular file)
    local p <close> = unixsock.poller()
    local pipe = assert(io.popen("echo ready"))
    assert(p:add(pipe, "r"))
    local ev = p:wait(5)
    assert.are.equal(1, #ev)
    assert.is_true(ev[1].readable)
    assert(p:remove(pipe))
    pipe:close()
    assert.has_error(function() p:add(pipe, "r") end, "attempt to use a closed file")
  end))

  it("an fds table that is not a list is an error, not a message sent without them", h.no_leak(function()
    -- send_message("x", {creds = true}) sent "x" with neither creds nor fds
    local a, b = unixsock.pair("seqpacket")
    assert.has_error(function() a:send_message("x", { creds = true }) end,
      "send_message: fds must be a list of descriptors, not a table with key 'creds' (options go after fds)")
    assert.has_error(function() a:send_message("x", { b, extra = 1 }) end,
      "send_message: fds must be a list of descriptors, not a table with key 'extra' (options go after fds)")
    assert.has_error(function() a:send_batch({ { data = "x", fds = { fd = b } } }) end,
      "send_batch: fds must be a list of descriptors, not a table with key 'fd' (options go after fds)")
    assert.has_error(function() a:send_message("x", { [true] = b }) end,
      "send_message: fds must be a list of descriptors, not a table with a boolean key (options go after fds)")
    b:settimeout(0)
    local _, _, err = b:recv(10)
    assert.are.equal(E.EAGAIN, err) -- nothing went
    assert.are.equal(1, a:send_message("x", {}))
    assert.are.equal(1, a:send_message("x", { [1] = b }))
    a:close()
    b:close()
  end))

  it("datagrams received in a batch are sent back to their senders as they are", h.no_leak(function()
    local name = h.abstract()
    local srv <close> = assert(unixsock.bind(name))
    local one <close> = assert(unixsock.connect(name, "dgram", 5))
    local two <close> = assert(unixsock.connect(name, "dgram", 5))
    assert(one:send("from one"))
    assert(two:send("from two"))
    srv:settimeout(5)
    local got = assert(srv:recv_batch())
    if #got < 2 then got[2] = assert(srv:recv_message()) end
    assert.are.equal(2, assert(srv:send_batch(got)))
    assert.are.equal("from one", one:recv(100))
    assert.are.equal("from two", two:recv(100))
  end))

  it("messages received from a named seqpacket peer can be sent on as they are", h.no_leak(function()
    local name = "@unixsock-spec-relay-" .. tostring({}):sub(8)
    local l <close> = assert(unixsock.listen(name, "seqpacket"))
    local c <close> = assert(unixsock.connect(name, "seqpacket", 5))
    local conn <close> = assert(l:accept())
    local x, y = unixsock.pair("seqpacket")
    local _x <close> = x
    local _y <close> = y
    assert(conn:send_message("one"))
    assert(conn:send_message("two"))
    local m = assert(c:recv_message())
    assert.are.equal("", m.address) -- the sender is the peer: see peer_address()
    assert(x:send_message(m.data, m.fds, m))
    local batch = assert(c:recv_batch(1))
    assert.are.equal(1, assert(x:send_batch(batch)))
    assert.are.equal("one", y:recv(10))
    assert.are.equal("two", y:recv(10))
  end))

  it("254 fds is E2BIG before anything is sent", h.no_leak(function()
    assert.are.equal(253, unixsock.MAX_FDS) -- the core's UNIXSOCK_MAX_FDS
    local a, b = unixsock.pair("dgram")
    local fds = {}
    for i = 1, unixsock.MAX_FDS + 1 do fds[i] = a end
    local n, msg, err = a:send_message("x", fds)
    assert.are.equal(E.E2BIG, err)
    assert.are.equal("send_message: More than 253 descriptors in one message", msg)
    b:settimeout(0)
    local _, _, err2 = b:recv(10)
    assert.are.equal(E.EAGAIN, err2)
    a:close()
    b:close()
  end))

  it("no room for fds closes them all", h.no_leak(function()
    local a, b = unixsock.pair("seqpacket")
    a:send_message("x", { a, a, a })
    local m, msg, err = b:recv_message(2)
    assert.is_nil(m)
    assert.are.equal(E.ENOBUFS, err)
    assert.are.equal("recv_message: No buffer space available; 3 descriptors came with a message, more than "
      .. "max_fds (2) allows: they were closed, and the message was dropped", msg)
    a:close()
    b:close()
  end))

  it("end of stream is a single nil", h.no_leak(function()
    local a, b = unixsock.pair("stream")
    a:close()
    local m, msg = b:recv_message()
    assert.is_nil(m)
    assert.is_nil(msg)
    b:close()
  end))

  it("a dgram socket ends once its reading is shut down", h.no_leak(function()
    -- the kernel then reports 0 bytes for ever: they were empty messages, and a
    -- `while sock:recv_message() do` loop spun on them
    local a, b = unixsock.pair("dgram")
    local _a <close> = a
    local _b <close> = b
    assert(b:shutdown("r"))
    for _ = 1, 2 do
      local m, msg = b:recv_message()
      assert.is_nil(m)
      assert.is_nil(msg)
    end
  end))

  it("an oversize frame is EMSGSIZE", h.no_leak(function()
    local a, b = unixsock.pair("stream")
    assert.are.equal(16 << 20, b:max_message())
    assert.is_true(b:max_message(4))
    assert.are.equal(4, b:max_message())
    for _, bad in ipairs({ 0, -1, 1 << 31, 1 << 40 }) do -- each was a bare "Invalid argument"
      local ok, msg, errno = b:max_message(bad)
      assert.is_nil(ok)
      assert.are.equal("max_message: the size must be 1 to 2147483647", msg)
      assert.are.equal(E.EINVAL, errno)
    end
    assert.are.equal(4, b:max_message())
    a:send_message("too long")
    local m, msg, err = b:recv_message()
    assert.are.equal(E.EMSGSIZE, err)
    a:close()
    b:close()
  end))

  it("a finalizer that receives while recv_message builds its message gets its own", h.no_leak(function()
    -- recv_message reuses one record per function; a finalizer that the
    -- collector runs while a call is under way (here, about a thousand times:
    -- mostly as the call ends) calls the same function, which then takes a
    -- record of its own, and every message on both sides arrives whole
    local a, b = unixsock.pair("seqpacket")
    local c, d = unixsock.pair("seqpacket")
    local nested, outer = 0, 0
    local function garbage()
      setmetatable({}, { __gc = function()
        assert(c:send("inner"))
        local m = assert(d:recv_message())
        assert(m.data == "inner")
        nested = nested + 1
      end })
    end
    local pause = collectgarbage("setpause", 0)
    local stepmul = collectgarbage("setstepmul", 1000)
    for i = 1, 2000 do
      for _ = 1, 20 do garbage() end -- finalizers always waiting for the next step
      assert(a:send_message("outer " .. i, { c }))
      local m = assert(b:recv_message())
      assert.are.equal("outer " .. i, m.data)
      assert.are.equal(1, #m.fds)
      m.fds[1]:close()
      outer = outer + 1
    end
    collectgarbage("setpause", pause)
    collectgarbage("setstepmul", stepmul)
    collectgarbage()
    assert.are.equal(2000, outer)
    assert.is_true(nested > 0)
    a:close(); b:close(); c:close(); d:close()
  end))

  it("an oversize packet is EMSGSIZE, dropped, and the next arrives", h.no_leak(function()
    for _, kind in ipairs({ "seqpacket", "dgram" }) do
      local a, b = unixsock.pair(kind)
      assert.is_true(b:max_message(4))
      assert(a:send_message("too long"))
      assert(a:send_message("fits"))
      local m, msg, err = b:recv_message()
      assert.is_nil(m)
      assert.are.equal(E.EMSGSIZE, err)
      local noun = kind == "dgram" and "datagram" or "seqpacket message"
      assert.are.equal("recv_message: Message too long; a " .. noun .. " of 8 bytes, over this socket's "
        .. "max_message (4): it was dropped", msg)
      m = assert(b:recv_message())
      assert.are.equal("fits", m.data)
      a:close()
      b:close()
    end
  end))

  local function frame_header(len) -- docs/wire-format.md
    return string.pack(">I4", len) .. "\0\0US"
  end

  it("a message cut in recv_batch is not finished in another batch's buffer", h.no_leak(function()
    -- the slots are one buffer of the function's: a frame cut by the timeout was
    -- left pointing into it, so another socket's batch wrote over its start
    local a, b = unixsock.pair("stream")
    local c, d = unixsock.pair("stream")
    a:settimeout(0)
    b:send(frame_header(6) .. "abc")
    local none, _, err = a:recv_batch(1, 16)
    assert.is_nil(none)
    assert.are.equal(E.EAGAIN, err)
    d:send_message("ZZZZZZZZ")
    assert.are.equal("ZZZZZZZZ", assert(c:recv_batch(1, 16))[1].data)
    b:send("def")
    assert.are.equal("abcdef", assert(a:recv_message()).data)
    for _, s in ipairs({ a, b, c, d }) do s:close() end
  end))

  it("a closed fd in a message is named", h.no_leak(function()
    -- the kernel's EBADF read as if the socket were closed
    local a, b = unixsock.pair("seqpacket")
    local f <close> = assert(io.open("/dev/null"))
    local none, msg, err = a:send_message("x", { f, 4000 })
    assert.is_nil(none)
    assert.are.equal(E.EBADF, err)
    assert.are.equal("send_message: Bad file descriptor; fds[2] (4000) is not an open descriptor", msg)
    none, msg, err = a:send_batch({ { data = "x", fds = { 4000 } } })
    assert.is_nil(none)
    assert.are.equal(E.EBADF, err)
    assert.are.equal("send_batch: Bad file descriptor; message 1's fds[1] (4000) is not an open descriptor",
                     msg)
    a:close()
    b:close()
  end))

  it("plain bytes on a stream of messages say what came", h.no_leak(function()
    -- socat's "hey" was "Connection reset by peer" alone, its text "Bad message"
    local plain = "(a peer that sends plain bytes, not frames?)"
    for _, case in ipairs({
      {"hello there\n", E.EBADMSG, 'Bad message; not a unixsock frame header: "hello th" ' .. plain},
      {"hey", E.ECONNRESET,
       'Connection reset by peer; the stream ended 3 bytes into a frame header: "hey" ' .. plain},
    }) do
      for _, call in ipairs({"recv_message", "recv_batch"}) do
        local a, b = unixsock.pair("stream")
        a:settimeout(5)
        b:send(case[1])
        b:close()
        local none, msg, err = a[call](a)
        assert.is_nil(none)
        assert.are.equal(case[2], err)
        assert.are.equal(call .. ": " .. case[3], msg)
        a:close()
      end
    end
  end))

  it("a plain recv never reads inside a message or past a broken one", h.no_leak(function()
    local a, b = unixsock.pair("stream")
    a:settimeout(0)
    b:send(frame_header(4) .. "wx")
    local _, _, err = a:recv_message()
    assert.are.equal(E.EAGAIN, err)
    _, _, err = a:recv(16)
    assert.are.equal(E.EBUSY, err)
    _, _, err = a:detach()
    assert.are.equal(E.EBUSY, err)
    b:send("yz" .. frame_header(1):sub(1, 6) .. "XXqueued") -- a bad magic next
    assert.are.equal("wxyz", assert(a:recv_message()).data)
    _, _, err = a:recv_message()
    assert.are.equal(E.EBADMSG, err)
    _, _, err = a:recv(16) -- was "queued": bytes that are the start of nothing
    assert.are.equal(E.EBADMSG, err)
    a:close()
    b:close()
  end))

  it("dgram messages to an address carry the sender's address", h.no_leak(function()
    local addr = h.abstract()
    local srv <close> = assert(unixsock.bind(addr))
    local cli <close> = assert(unixsock.bind())
    assert(cli:send_message("to you", nil, { address = addr }))
    local m = assert(srv:recv_message())
    assert.are.equal(cli:local_address(), m.address)
  end))

  it("send_batch names the message that is neither a string nor a table", h.no_leak(function()
    local a, b = unixsock.pair("seqpacket")
    local _a <close> = a
    local _b <close> = b
    local ok, err = pcall(a.send_batch, a, { "fine", 42 })
    assert.is_false(ok)
    assert.matches("send_batch: message 2 must be a string or a table, not number", err)
    assert.are.equal(1, a:send_batch({ "after" })) -- nothing was sent, nothing stuck
    assert.are.equal("after", b:recv(100))
  end))

  it("send_batch names the message and the field that is wrong", h.no_leak(function()
    -- these said "bad argument #6" (or #7, or #-1): stack slots, no argument of
    -- the call; and a list for a table ({"x", {fd}}) sent "" without its fds
    local a, b = unixsock.pair("dgram")
    local _a <close> = a
    local _b <close> = b
    local cases = {
      { { "ok", { fds = {} } }, "send_batch: message 2's data must be a string, not nil" },
      { { { data = "x", fds = "0" } }, "send_batch: message 1's fds must be a list of descriptors, not string" },
      { { { data = "x", address = {} } }, "send_batch: message 1's address must be a string, not table" },
      { { "ok", { "x", { 0 } } }, "send_batch: message 2's fields go by name: {data = ..., fds = {...}}" },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(a.send_batch, a, case[1])
      assert.is_false(ok)
      assert.are.equal(case[2], err)
    end
    local ok, err = pcall(a.send_message, a, "x", {}, { address = {} })
    assert.is_false(ok)
    assert.matches("bad argument #4 to '[%w_.?]+' %(address must be a string, not table%)", err)
    assert.are.equal(1, a:send_batch({ "after" })) -- nothing was sent, nothing stuck
    assert.are.equal("after", b:recv(100))
  end))

  it("send_batch sends up to a message it cannot send, and the next call says why", h.no_leak(function()
    -- the bad address took its whole batch down, the good first message unsent
    local addr = h.abstract()
    local d <close> = assert(unixsock.bind(addr))
    local c <close> = assert(unixsock.bind())
    local bad = { data = "m1", address = "@" .. string.rep("z", 111) }
    local batch = { { data = "m0", address = addr }, bad, { data = "m2", address = addr } }
    assert.are.equal(1, c:send_batch(batch))
    local n, _, err = c:send_batch({ bad, batch[3] })
    assert.is_nil(n)
    assert.are.equal(E.ENAMETOOLONG, err)
    assert.are.equal(1, c:send_batch({ batch[3] }))
    assert.are.equal("m0", d:recv(10))
    assert.are.equal("m2", d:recv(10))
  end))

  it("send_batch keeps payloads made on the way alive until they are sent", h.no_leak(function()
    -- a payload from an __index metamethod, or a number turned into a string, was
    -- held only by the stack and collected before the send (use after free)
    local a, b = unixsock.pair("seqpacket")
    local _a <close> = a
    local _b <close> = b
    local made = { __index = function(t, k)
      if k == "data" then
        collectgarbage() -- what the earlier items' payloads went to
        return string.rep("d", 3000) .. t.n
      end
    end }
    local batch = {}
    for i = 1, 30 do
      batch[i] = i % 2 == 0 and setmetatable({ n = i }, made) or { data = 1000000000 + i }
    end
    assert.are.equal(30, a:send_batch(batch))
    for i = 1, 30 do
      local want = i % 2 == 0 and string.rep("d", 3000) .. i or tostring(1000000000 + i)
      assert.are.equal(want, b:recv(4000))
    end
  end))

  it("an address too long for a message is ENAMETOOLONG, named, as sendto says it", h.no_leak(function()
    -- send_message and send_batch raised "address too long", naming nothing
    local c <close> = assert(unixsock.bind())
    local long = "@" .. string.rep("z", 200)
    local n, msg, err = c:sendto("x", long)
    assert.is_nil(n)
    assert.are.equal(E.ENAMETOOLONG, err)
    n, msg, err = c:send_message("x", nil, { address = long })
    assert.is_nil(n)
    assert.are.equal(E.ENAMETOOLONG, err)
    assert.truthy(msg:find("send_message " .. long, 1, true))
    n, msg, err = c:send_batch({ "first", { data = "x", address = long } })
    assert.is_nil(n)
    assert.are.equal(E.ENAMETOOLONG, err)
    assert.truthy(msg:find("send_batch " .. long, 1, true))
  end))

  it("send_batch takes more than 1024 messages, as in C and Python", h.no_leak(function()
    -- it refused them: the only binding that did
    local a, b = unixsock.pair("stream")
    local _a <close> = a
    local _b <close> = b
    a:settimeout(5)
    b:settimeout(5)
    local out = {}
    for i = 1, 1500 do out[i] = tostring(i) end
    assert.are.equal(1500, assert(a:send_batch(out)))
    for i = 1, 1500 do
      assert.are.equal(tostring(i), assert(b:recv_message()).data)
    end
  end))

  it("recv_batch slots are at most 64 MiB each", h.no_leak(function()
    local a, b = unixsock.pair("dgram")
    local _a <close> = a
    local _b <close> = b
    local ok, err = pcall(b.recv_batch, b, 4, (64 << 20) + 1)
    assert.is_false(ok)
    assert.matches("size must be 0..67108864", err)
    ok, err = pcall(b.recv_batch, b, 1, -1)
    assert.is_false(ok)
    assert.matches("size must be 0..67108864", err)
  end))

  it("send_message refuses an option it does not know, sending nothing", h.no_leak(function()
    -- { cred = true } (for creds) sent the message without credentials, silently
    local a, b = unixsock.pair("seqpacket")
    local _a <close> = a
    local _b <close> = b
    local ok, err = pcall(a.send_message, a, "x", {}, { cred = true })
    assert.is_false(ok)
    assert.matches("bad argument #%d to '[%w_.?]+' %(unknown option cred%)", err)
    b:settimeout(0)
    local m, _, errno = b:recv_message()
    assert.is_nil(m)
    assert.are.equal(E.EAGAIN, errno)
    assert.are.equal(1, a:send_message("y", {}, { creds = true, address = nil }))
    assert.are.equal("y", assert(b:recv_message()).data)
  end))

  it("a received fd's read and write take a timeout", h.no_leak(function()
    -- read() of a passed pipe nobody wrote to waited for ever, and with it the
    -- script's embedding host
    local a, b = unixsock.pair("seqpacket")
    local _a <close> = a
    local _b <close> = b
    local inner, writer = unixsock.pair("stream")
    local _w <close> = writer
    assert(a:send_message("x", { inner }))
    inner:close()
    local m = assert(b:recv_message())
    local fd <close> = m.fds[1]
    local data, msg, err = fd:read(10, 0)
    assert.is_nil(data)
    assert.are.equal(E.EAGAIN, err)
    assert.are.equal("read: " .. unixsock.strerror(E.EAGAIN), msg)
    data, msg, err = fd:read(10, 0.05)
    assert.are.equal(E.ETIMEDOUT, err)
    assert(writer:send("late"))
    assert.are.equal("late", fd:read(10, 5))
    local chunk, n = string.rep("w", 65536)
    repeat n, msg, err = fd:write(chunk, 0.05) until not n -- writer never reads
    assert.are.equal(E.ETIMEDOUT, err)
    assert.has_error(function() fd:read(10, -1) end)
  end))

  it("recv_message(0) accepts no descriptors", h.no_leak(function()
    local a, b = unixsock.pair("seqpacket")
    local _a <close> = a
    local _b <close> = b
    assert(a:send_message("plain"))
    local m = assert(b:recv_message(0))
    assert.are.equal("plain", m.data)
    assert(a:send_message("x", { a }))
    local ok, msg, err = b:recv_message(0)
    assert.is_nil(ok)
    assert.are.equal(E.ENOBUFS, err)
    assert.matches("recv_message", msg)
  end))

  it("recv_batch takes max_fds as recv_message does", h.no_leak(function()
    -- it had none: a batch took every descriptor the sender passed
    local a, b = unixsock.pair("seqpacket")
    local _a <close> = a
    local _b <close> = b
    assert(a:send_message("one", { a }))
    assert(a:send_message("two"))
    local batch = assert(b:recv_batch(8, 100, 0))
    assert.are.equal(2, #batch)
    assert.are.same({ "one", true, 0 }, { batch[1].data, batch[1].truncated, #batch[1].fds })
    assert.are.equal("two", batch[2].data)
    assert.is_falsy(batch[2].truncated)
    assert.has_error(function() b:recv_batch(8, 100, -1) end)
  end))

  it("with timeout 0 a long stream message keeps its end for flush", h.no_leak(function()
    local a, b = unixsock.pair("stream")
    local _a <close> = a
    local _b <close> = b
    a:settimeout(0)
    b:settimeout(0)
    assert.is_true(a:flush()) -- nothing kept: nothing to do
    local big = string.rep("0123456789abcdef", 65536) -- 1 MiB
    assert.are.equal(#big, a:send_message(big)) -- at once: the rest is kept
    local ok, _, err = a:flush()
    assert.is_nil(ok)
    assert.are.equal(E.EAGAIN, err)
    ok, _, err = a:send("zz") -- would land inside the message
    assert.are.equal(E.EAGAIN, err)
    local fd, msg
    fd, msg, err = a:detach()
    assert.is_nil(fd)
    assert.are.equal(E.EBUSY, err)
    assert.matches("detach", msg)
    assert.is_false(a:closed())
    local m
    for _ = 1, 100000 do
      a:flush()
      m = b:recv_message()
      if m then break end
    end
    assert.are.equal(big, m.data)
    assert.is_true(a:flush())
    assert(a:send_message("next"))
    b:settimeout(1)
    assert.are.equal("next", assert(b:recv_message()).data)
  end))
end)

describe("identity", function()
  it("peer of a pair is this process", h.no_leak(function()
    local a, b = unixsock.pair()
    local p = assert(a:peer())
    assert.are.equal(tonumber(h.pid()), p.pid)
    assert.is_nil(p.pidfd)
    p = assert(a:peer(true))
    if p.pidfd then p.pidfd:close() end
    a:close()
    b:close()
  end))

  it("peer of a dgram socket is ENOTCONN", h.no_leak(function()
    local d <close> = assert(unixsock.bind())
    local p, msg, err = d:peer()
    assert.are.equal(E.ENOTCONN, err)
  end))

  it("peer of a listener is ENOTCONN, not its own identity", h.no_leak(function()
    local l <close> = assert(unixsock.listen("@unixsock-spec-peer-listener-" .. tostring({}):sub(8)))
    local p, msg, err = l:peer()
    assert.is_nil(p)
    assert.are.equal(E.ENOTCONN, err)
  end))

  it("listen_fds is empty without a service manager", h.no_leak(function()
    assert.are.same({}, unixsock.listen_fds())
  end))
end)

describe("poller", function()
  it("says what a descriptor it cannot watch, or does not watch, is", h.no_leak(function()
    -- epoll's "Operation not permitted" and "No such file or directory" said nothing
    local p <close> = unixsock.poller()
    local f <close> = assert(io.open("/dev/null"))
    local ok, msg, err = p:add(f, "r")
    assert.is_nil(ok)
    assert.are.equal(E.EPERM, err)
    assert.matches("^poller:add: [^;]+; descriptor %d+ is a device, which epoll cannot watch: "
      .. "it is always ready$", msg)
    local a, b = unixsock.pair()
    local _a <close> = a
    local _b <close> = b
    ok, msg, err = p:remove(a)
    assert.are.equal(E.ENOENT, err)
    assert.are.equal("poller:remove: " .. unixsock.strerror(E.ENOENT) .. "; descriptor " .. a:fileno()
      .. " is not watched by this poller", msg)
  end))

  it("reports readiness with the value given", h.no_leak(function()
    local p <close> = unixsock.poller()
    local a, b = unixsock.pair()
    assert(p:add(b, "r", "the b side"))
    assert.are.same({}, p:wait(0))
    a:send("x")
    local ev = p:wait(1)
    assert.are.equal(1, #ev)
    assert.are.equal(b:fileno(), ev[1].fd)
    assert.are.equal("the b side", ev[1].value)
    assert.is_true(ev[1].readable)
    a:close()
    ev = p:wait(1)
    assert.is_true(ev[1].hangup)
    assert(p:remove(b))
    b:close()
  end))

  it("reports the object added as the value when none is given", h.no_leak(function()
    -- it was the poller's own table of values
    local p <close> = unixsock.poller()
    local a, b = unixsock.pair()
    local _a <close> = a
    local _b <close> = b
    assert(p:add(a, "w"))
    assert(p:add(b:fileno(), "w"))
    local seen = {}
    for _, ev in ipairs(p:wait(1)) do seen[ev.fd] = ev.value end
    assert.are.equal(a, seen[a:fileno()])
    assert.are.equal(b:fileno(), seen[b:fileno()])
    assert(p:add(a, "w", "changed"))
    assert(p:add(a, "w")) -- adding again without a value: the object again
    seen = {}
    for _, ev in ipairs(p:wait(1)) do seen[ev.fd] = ev.value end
    assert.are.equal(a, seen[a:fileno()])
  end))

  it("__tostring shows its fd or closed", function()
    -- it was the default "unixsock.poller: 0x...", closed or not
    local p = unixsock.poller()
    assert.are.equal("unixsock.poller (fd " .. p:fileno() .. ")", tostring(p))
    p:close()
    assert.are.equal("unixsock.poller (closed)", tostring(p))
    assert.has_error(function() p:wait(0) end, "attempt to use a closed poller")
  end)
end)
