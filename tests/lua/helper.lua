-- Shared by the specs: temporary directories, unique abstract names, and a check
-- that no spec leaks a descriptor.
local unixsock = require "unixsock"

local helper = {}

-- Lua cannot list a directory, so a shell does; the pipe io.popen makes is
-- open while it looks (and its write end, for a moment, maybe too), so pipes are
-- left out of the count: the specs make none of their own.
local function count_fds()
  -- a descriptor closed while find lists them (the pipe's write end, as popen
  -- lets it go) reads as an empty link: it is not counted either
  local p = io.popen("find /proc/" .. helper.pid() .. "/fd -mindepth 1 -printf '%l\\n' 2>/dev/null | grep -v '^pipe:' | grep -c .")
  local n = tonumber(p:read("*l"))
  p:close()
  return n
end

function helper.pid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("*l"):match("^(%d+)")
  f:close()
  return pid
end

local counter = 0
function helper.abstract(tag)
  counter = counter + 1
  return string.format("@unixsock-lua-%s-%s%d", helper.pid(), tag or "", counter)
end

function helper.tmpdir()
  local p = io.popen("mktemp -d /tmp/us-lua-XXXXXX")
  local d = p:read("*l")
  p:close()
  os.execute("chmod 755 " .. d)
  return d
end

function helper.rmdir(d)
  os.execute("rm -rf '" .. d .. "'")
end

function helper.exists(path)
  return os.execute("test -e '" .. path .. "' -o -L '" .. path .. "'") == true
end

-- Each case is { call, errno, message }: call() must fail with that errno and
-- message exactly (nil, message, errno).
function helper.fails_as(cases)
  local assert = require "luassert"
  for _, case in ipairs(cases) do
    local s, msg, err = case[1]()
    assert.is_nil(s)
    assert.are.equal(case[3], msg)
    assert.are.equal(case[2], err)
  end
end

-- Wrap a spec body: fails if it leaves a descriptor open.
function helper.no_leak(fn)
  return function()
    collectgarbage()
    collectgarbage()
    local before = count_fds()
    fn()
    collectgarbage()
    collectgarbage()
    local after = count_fds()
    if before ~= after then
      error(string.format("the spec leaked %d file descriptor(s)", after - before), 2)
    end
  end
end

helper.errno = unixsock.errno
return helper
