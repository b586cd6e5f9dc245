"""The Python and Lua guides name every method a socket has (the C guide's
functions: tests/install/test_exports.py), so a user finds them from docs/ alone."""
import re
import subprocess

import unixsock
from conftest import ROOT
from examples import lua_env

# a socket, a received fd (Lua) and a poller, each with its methods on one line
LUA_METHODS = r"""
local unixsock = require "unixsock"
local function names(t)
  local out = {}
  for k in pairs(t) do if not k:match("^_") then out[#out + 1] = k end end
  table.sort(out)
  return table.concat(out, " ")
end
local a, b = unixsock.pair("stream")
a:send_message("x", { 0 })
local fd = b:recv_message().fds[1]
print(names(getmetatable(a).__index))
print(names(getmetatable(fd).__index))
print(names(getmetatable(unixsock.poller()).__index))
print(names(unixsock))
"""


def unnamed(names, guide):
    return sorted(n for n in names if not re.search(rf"(?<![\w.]){re.escape(n)}\b", guide))


def test_the_python_guide_names_every_socket_method_and_function():
    guide = (ROOT / "docs/python.md").read_text()
    methods = [n for n in dir(unixsock.Socket) if not n.startswith("_")]
    assert len(methods) > 20
    assert unnamed(methods, guide.replace(".", " ")) == []
    assert unnamed(unixsock.__all__, guide.replace(".", " ")) == []
    fields = [n for n in dir(unixsock.Message) if not n.startswith("_")]
    assert unnamed(fields, guide.replace(".", " ")) == []


def test_the_lua_guide_names_every_method_and_function():
    guide = (ROOT / "docs/lua.md").read_text().replace(":", " ").replace(".", " ")
    r = subprocess.run(["lua5.4", "-"], input=LUA_METHODS, capture_output=True, text=True,
                       env=lua_env(), timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4 and len(lines[0].split()) > 20
    for line in lines:
        assert unnamed(line.split(), guide) == []
