local unixsock = require "unixsock"
local h = require "helper"
local E = unixsock.errno

local function inode(p)
  local f = io.popen("stat -c %i '" .. p .. "'")
  local i = f:read("*l")
  f:close()
  return i
end

describe("socket files", function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(function() h.rmdir(dir) end)

  it("a live server makes listen EADDRINUSE", h.no_leak(function()
    local p = dir .. "/live.sock"
    local l <close> = assert(unixsock.listen(p))
    local i = inode(p)
    local s, msg, err = unixsock.listen(p)
    assert.is_nil(s)
    assert.are.equal(E.EADDRINUSE, err)
    assert.truthy(msg:find("listen " .. p, 1, true))
    assert.are.equal(i, inode(p))
  end))

  it("a stale socket file is replaced", h.no_leak(function()
    local p = dir .. "/stale.sock"
    -- a server that died without cleanup: closing through an adopted handle
    -- never unlinks, so the file stays behind with nobody listening
    local dead = assert(unixsock.listen(p))
    assert(unixsock.adopt(dead:detach())):close()
    assert.is_true(h.exists(p))
    local c, msg, err = unixsock.connect(p)
    assert.are.equal(E.ECONNREFUSED, err)
    local l <close> = assert(unixsock.listen(p))
    local c2 <close> = assert(unixsock.connect(p))
  end))

  for _, make in ipairs({
    { "regular file", "echo precious > %s" },
    { "directory", "mkdir %s" },
    { "fifo", "mkfifo %s" },
    { "symlink", "ln -s /etc/hostname %s" },
  }) do
    it("never deletes a " .. make[1], h.no_leak(function()
      local p = dir .. "/thing"
      os.execute(string.format(make[2], p))
      local i = inode(p)
      local s, msg, err = unixsock.listen(p)
      assert.are.equal(E.EEXIST, err)
      s, msg, err = unixsock.bind(p)
      assert.are.equal(E.EEXIST, err)
      assert.are.equal(i, inode(p))
    end))
  end

  it("close unlinks only its own inode", h.no_leak(function()
    local p = dir .. "/s.sock"
    local old = assert(unixsock.listen(p))
    os.remove(p)
    local newer <close> = assert(unixsock.listen(p))
    local i = inode(p)
    old:close()
    assert.are.equal(i, inode(p))
  end))

  it("an owner, mode or backlog out of range is EINVAL, with no file left", h.no_leak(function()
    -- uid 2^40 was cut to 0 (root), and mode 2^32 + 0600 to 0600
    local p = dir .. "/range.sock"
    for _, opts in ipairs({ { uid = 1 << 40 }, { gid = (1 << 32) - 1 }, { uid = (1 << 32) + 65534 },
                            { mode = (1 << 32) + tonumber("600", 8) }, { backlog = (1 << 32) + 5 } }) do
      local s, err, errno = unixsock.listen(p, "stream", opts)
      assert.is_nil(s)
      assert.are.equal(unixsock.errno.EINVAL, errno)
      assert.matches("listen " .. p, err, 1, true)
      assert.is_nil(io.open(p))
    end
  end))

  it("an option out of range is named in the message", h.no_leak(function()
    -- each said only "Invalid argument"; a given mode -1 silently meant the umask's
    local p = dir .. "/named.sock"
    for _, case in ipairs({ { { mode = -1 }, "mode must be 0 to 4095 (octal 7777)" },
                            { { mode = 4096 }, "mode must be 0 to 4095 (octal 7777)" },
                            { { backlog = -5 }, "backlog must be 0 to 2147483647" },
                            { { backlog = 1 << 40 }, "backlog must be 0 to 2147483647" },
                            { { uid = -2 }, "uid must be 0 to 4294967294" },
                            { { gid = 1 << 32 }, "gid must be 0 to 4294967294" } }) do
      local s, err, errno = unixsock.listen(p, "stream", case[1])
      assert.is_nil(s)
      assert.are.equal("listen " .. p .. ": " .. case[2], err)
      assert.are.equal(unixsock.errno.EINVAL, errno)
      assert.is_nil(io.open(p))
    end
    local s, err = unixsock.bind(p, { mode = -1 })
    assert.are.equal("bind " .. p .. ": mode must be 0 to 4095 (octal 7777)", err)
  end))

  it("a mode or owner for an address without a file is refused, naming it", h.no_leak(function()
    -- each was ignored: the caller believed the socket closed to other users
    local guard = " (allow_uids and allow_gids limit who connects)"
    local s, err, errno = unixsock.listen("@file-options", "stream", { mode = 384 })
    assert.is_nil(s)
    assert.are.equal("listen @file-options: mode sets a socket file's permissions, and an abstract "
                     .. "name has no file" .. guard, err)
    assert.are.equal(unixsock.errno.EINVAL, errno)
    s, err = unixsock.bind("@file-options", { gid = 0 })
    assert.are.equal("bind @file-options: uid and gid set a socket file's owner, and an abstract "
                     .. "name has no file" .. guard, err)
    s, err = unixsock.bind(nil, { mode = 384 })
    assert.are.equal("bind \"\": mode sets a socket file's permissions, and an empty address has no file", err)
  end))

  it("a misspelt or mistyped option is an argument error naming it", h.no_leak(function()
    -- a misspelt option was ignored without a word, and a mistyped one was
    -- "bad argument #-1 (number expected, got string)"
    local p = dir .. "/typo.sock"
    local cases = {
      { function() return unixsock.listen(p, "stream", { bakclog = 5 }) end, "unknown option bakclog" },
      { function() return unixsock.listen(p, "stream", { 5 }) end, "unknown option 1" },
      { function() return unixsock.bind(p, { backlog = 5 }) end, "unknown option backlog" },
      { function() return unixsock.listen(p, "stream", { mode = "600" }) end, -- Lua has no octal literal
        'opts.mode must be an integer (octal 660: tonumber("660", 8)), not string' },
      { function() return unixsock.listen(p, "stream", { uid = 1.5 }) end,
        "opts.uid must be an integer, not 1.5" },
      { function() return unixsock.listen(p, "stream", { allow_uids = 0 }) end,
        "opts.allow_uids must be a list of ids, not 0" },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(case[1])
      assert.is_false(ok)
      assert.matches("bad argument #%d to '[%w.]+' %(" .. case[2]:gsub("%p", "%%%0") .. "%)", err)
      assert.is_nil(io.open(p))
    end
  end))

  it("an allow list entry out of range raises, naming it", h.no_leak(function()
    -- 4294967295, (uid_t)-1, was taken though it admits no one
    local p = dir .. "/allow.sock"
    for _, case in ipairs({ { { allow_uids = { 0, -1 } }, "allow_uids[2]" },
                            { { allow_gids = { 4294967295 } }, "allow_gids[1]" },
                            { { allow_uids = { 1 << 32 } }, "allow_uids[1]" } }) do
      local ok, err = pcall(unixsock.listen, p, "stream", case[1])
      assert.is_false(ok)
      assert.matches(case[2]:gsub("%p", "%%%0") .. " must be a uid/gid %(0 to 4294967294%)$", err)
      assert.is_nil(io.open(p))
    end
    local l <close> = assert(unixsock.listen(p, "stream", { allow_uids = { 4294967294 } }))
  end))

  it("listen needs an address; bind without one autobinds", h.no_leak(function()
    -- listen(nil) was listen "": Invalid argument
    local ok, err = pcall(unixsock.listen, nil)
    assert.is_false(ok)
    assert.matches("bad argument #1 to '[%w.]+' %(string expected, got nil%)", err)
    local d <close> = assert(unixsock.bind(nil))
    assert.matches("^@", d:local_address())
  end))

  it("sets the exact mode", h.no_leak(function()
    local p = dir .. "/m.sock"
    local l <close> = assert(unixsock.listen(p, "stream", { mode = tonumber("600", 8) }))
    local f = io.popen("stat -c %a '" .. p .. "'")
    assert.are.equal("600", f:read("*l"))
    f:close()
  end))
end)
