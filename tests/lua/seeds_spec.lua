local unixsock = require "unixsock"
local h = require "helper"
local E = unixsock.errno

describe("the seeds' errors", function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(function() h.rmdir(dir) end)

  it("connect to a missing path is ENOENT, naming the path", h.no_leak(function()
    local p = dir .. "/unixstream.sock"
    local c, msg, err = unixsock.connect(p)
    assert.is_nil(c)
    assert.are.equal(E.ENOENT, err)
    assert.truthy(msg:find("connect " .. p, 1, true))
  end))

  it("a stream client to a dgram server is EPROTOTYPE", h.no_leak(function()
    local p = dir .. "/unixdata.sock"
    local d <close> = assert(unixsock.bind(p))
    local c, msg, err = unixsock.connect(p, "stream")
    assert.are.equal(E.EPROTOTYPE, err)
  end))

  it("bind in a directory the user may not write is EACCES", h.no_leak(function()
    local id = io.popen("id -u"):read("*l")
    if id ~= "0" then return end -- needs root to drop privileges; CI runs as root
    os.execute("mkdir -m 755 " .. dir .. "/var-lib " .. dir .. "/lib")
    local p = dir .. "/var-lib/unixstream.sock"
    -- the module, where the other user can read it (the tree may be under /root)
    local so = assert(package.searchpath("unixsock", package.cpath))
    assert.is_true(os.execute(string.format("cp %q %q", so, dir .. "/lib/unixsock.so")))
    local script = string.format([[
      local u = require "unixsock"
      local s, msg, err = u.listen(%q)
      os.exit(err == u.errno.EACCES and 0 or 1)]], p)
    local cmd = string.format("setpriv --reuid=65534 --regid=65534 --clear-groups lua5.4 -e %q",
      "package.cpath=" .. string.format("%q", dir .. "/lib/?.so") .. " " .. script)
    assert.is_true(os.execute(cmd))
    assert.is_false(h.exists(p))
  end))
end)
