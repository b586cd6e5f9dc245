local unixsock = require "unixsock"
local h = require "helper"
local E = unixsock.errno

local function echo_once(addr, kind)
  local l <close> = assert(unixsock.listen(addr, kind))
  local c <close> = assert(unixsock.connect(addr, kind, 5))
  l:settimeout(5)
  local s <close> = assert(l:accept())
  c:send("abc")
  assert.are.equal("abc", s:recv(10))
  assert.are.equal(addr, l:local_address())
  assert.are.equal(addr, c:peer_address())
  assert.are.equal(addr, s:local_address()) -- an accepted connection: its listener's
end

describe("addresses", function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(function() h.rmdir(dir) end)

  it("absolute paths", h.no_leak(function()
    echo_once(dir .. "/abs.sock", "stream")
    assert.is_false(h.exists(dir .. "/abs.sock"))
  end))

  it("abstract names keep NUL bytes and exact length", h.no_leak(function()
    echo_once(h.abstract() .. "\0with\0nuls", "stream")
  end))

  it("bind takes a kind as Python's does, dgram alone", h.no_leak(function()
    -- bind(address, "dgram") was "table expected, got string"
    local name = h.abstract()
    local d <close> = assert(unixsock.bind(name, "dgram", { allow_uids = { 0 } }))
    assert.are.equal("dgram", d:kind())
    assert.are.equal(name, d:local_address())
    for _, kind in ipairs({ "stream", "seqpacket" }) do
      local ok, err = pcall(unixsock.bind, h.abstract(), kind)
      assert.is_false(ok)
      assert.matches("bind() makes dgram endpoints; use listen() for " .. kind, err, 1, true)
    end
    local ok, err = pcall(unixsock.bind, h.abstract(), "dgram", { backlog = 1 })
    assert.is_false(ok)
    assert.matches("bad argument #3 to 'unixsock.bind' (unknown option backlog)", err, 1, true)
  end))

  it("autobind gives a unique reachable name", h.no_leak(function()
    local a <close> = assert(unixsock.bind(""))
    local b <close> = assert(unixsock.bind())
    local an = a:local_address()
    assert.are.equal("@", an:sub(1, 1))
    assert.are.equal(6, #an)
    assert.are_not.equal(an, b:local_address())
    b:sendto("x", an)
    local data, from = a:recvfrom(10)
    assert.are.equal("x", data)
    assert.are.equal(b:local_address(), from)
  end))

  it("long paths work through the directory", h.no_leak(function()
    local d = dir
    while #d < 150 do
      d = d .. "/a-rather-long-directory-name"
      os.execute("mkdir " .. d)
    end
    local p = d .. "/long.sock"
    echo_once(p, "seqpacket")
    assert.is_false(h.exists(p))
  end))

  it("a path too long is ENAMETOOLONG, never truncated", h.no_leak(function()
    local p = dir .. "/" .. string.rep("y", 150)
    local s, msg, err = unixsock.listen(p)
    assert.is_nil(s)
    assert.are.equal(E.ENAMETOOLONG, err)
    assert.truthy(msg:find(p, 1, true))
    s, msg, err = unixsock.connect(p)
    assert.are.equal(E.ENAMETOOLONG, err)
  end))

  it("'@' alone is the empty abstract name", h.no_leak(function()
    echo_once("@", "seqpacket")
  end))

  it("an empty address is EINVAL and shown as \"\"", h.no_leak(function()
    local s, msg, err = unixsock.connect("")
    assert.is_nil(s)
    assert.are.equal(E.EINVAL, err)
    assert.are.equal('connect "": Invalid argument; an empty address names no socket: give a path, '
      .. "or @name for an abstract one", msg)
  end))

  it("an error shows control bytes of an address as \\xNN, other bytes as they are", h.no_leak(function()
    -- the NUL went into the message as it is, and a terminal showed "/tmp/a b"
    local s, msg, err = unixsock.connect("/tmp/a\0b\n")
    assert.is_nil(s)
    assert.are.equal(E.EINVAL, err)
    -- and a bare "Invalid argument" said nothing of why
    assert.are.equal("connect /tmp/a\\x00b\\x0a: Invalid argument; a path cannot hold a NUL byte "
      .. "(an abstract @name can)", msg)
    s, msg = unixsock.connect("\0name") -- sun_path's spelling of an abstract name
    assert.are.equal("connect \\x00name: Invalid argument; an abstract name is written @name here, "
      .. "not with a leading NUL byte", msg)
    s, msg = unixsock.connect("/nonexistent-dir/caf\u{e9}.sock")
    assert.are.equal("connect /nonexistent-dir/caf\u{e9}.sock: No such file or directory; "
      .. "the directory /nonexistent-dir does not exist", msg)
  end))

  it("a refused address says what is there instead", h.no_leak(function()
    -- ECONNREFUSED, EPROTOTYPE, EEXIST and ENOENT said nothing of what was at
    -- the address: core's explanation follows the errno's text
    local file = dir .. "/file"
    local f = assert(io.open(file, "w"))
    f:write("data")
    f:close()
    local path, name = dir .. "/dgram.sock", h.abstract()
    local other <close> = assert(unixsock.bind(path))
    local held <close> = assert(unixsock.bind(name))
    local me <close> = assert(unixsock.bind(""))
    local cases = {
      { function() return unixsock.connect(file) end, E.ECONNREFUSED,
        "connect " .. file .. ": Connection refused; " .. file .. " is a regular file, not a socket" },
      { function() return unixsock.connect(path, "seqpacket", 5) end, E.EPROTOTYPE,
        "connect " .. path .. ": Protocol wrong type for socket; " .. path
          .. " is a dgram socket, not a seqpacket one" },
      { function() return unixsock.connect(name, "stream", 5) end, E.ECONNREFUSED,
        "connect " .. name .. ": Connection refused; no stream socket holds " .. name
          .. "; a dgram socket does" },
      { function() return unixsock.listen(file) end, E.EEXIST,
        "listen " .. file .. ": File exists; " .. file .. " is a regular file, which listen never replaces" },
      { function() return unixsock.bind(name) end, E.EADDRINUSE,
        "bind " .. name .. ": Address already in use; " .. name .. " is in use by a dgram socket" },
      { function() return me:sendto("x", file) end, E.ECONNREFUSED,
        "sendto " .. file .. ": Connection refused; " .. file .. " is a regular file, not a socket" },
      { function() return me:send_message("x", nil, { address = file }) end, E.ECONNREFUSED,
        "send_message " .. file .. ": Connection refused; " .. file .. " is a regular file, not a socket" },
      { function() return me:send_batch({ { data = "x", address = file } }) end, E.ECONNREFUSED,
        "send_batch " .. file .. ": Connection refused; " .. file .. " is a regular file, not a socket" },
    }
    h.fails_as(cases)
    -- nothing at a path whose directory is there: the errno says it all
    local s, msg = unixsock.connect(dir .. "/none.sock")
    assert.is_nil(s)
    assert.are.equal("connect " .. dir .. "/none.sock: No such file or directory", msg)
  end))

  it("a name too long says which limit it broke", h.no_leak(function()
    local long = "@" .. string.rep("a", 108)
    local s, msg, err = unixsock.listen(long)
    assert.is_nil(s)
    assert.are.equal(E.ENAMETOOLONG, err)
    assert.are.equal("listen " .. long .. ": File name too long; an abstract name holds at most "
      .. "107 bytes after the @; this one has 108", msg)
    local me <close> = assert(unixsock.bind(""))
    local path = dir .. "/" .. string.rep("d", 150) .. "/a.sock"
    s, msg, err = me:send_message("x", nil, { address = path })
    assert.is_nil(s)
    assert.are.equal(E.ENAMETOOLONG, err)
    assert.are.equal("send_message " .. path .. ": File name too long; a message's address holds "
      .. "at most 112 bytes; this one has " .. #path .. " (sendto takes a longer path)", msg)
  end))
end)
