"""Lua scripts out of descriptors (a limit only a shell's ulimit sets for them):
each call that makes one says whose limit it met, and how high it is."""
import errno
import os
import subprocess

from conftest import build_dir

OUT_OF_FDS = """
local unixsock = require("unixsock")
local l = assert(unixsock.listen(arg[1]))
local c = assert(unixsock.connect(arg[1]))
local held = {}
while true do
  local f = io.open("/dev/null")
  if not f then break end
  held[#held + 1] = f
end
for _, call in ipairs({ function() return l:accept() end, function() return unixsock.connect(arg[1]) end,
                        unixsock.pair }) do
  local ok, msg, err = call()
  print(err, msg)
end
"""


def test_out_of_descriptors_says_the_limit(abstract):
    # pair said "pair: Too many open files" alone
    env = dict(os.environ, LUA_CPATH=f"{build_dir() / 'lua'}/?.so;;")
    r = subprocess.run(["sh", "-c", 'ulimit -n 64 && exec lua5.4 - "$0"', abstract()], input=OUT_OF_FDS,
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    said = "Too many open files; this process holds as many descriptors as its limit allows (RLIMIT_NOFILE, ulimit -n: 64)"
    lines = r.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(errno.EMFILE)] * 3
    assert [line.split(": ", 1)[1] for line in lines] == [said] * 3  # after the call and its address
    assert lines[2].split("\t")[1].startswith("pair: ")
