"""Messages with a descriptor and credentials between every pair of languages
(C through the CLI, Python, Lua), on every kind: framed on a stream."""
import os
import subprocess
import sys

import pytest

from conftest import build_dir, read_line, wait_until_serving
from examples import lua_env
from test_echo_examples import stop

KINDS = ["stream", "dgram", "seqpacket"]
LANGS = ["C", "Python", "Lua"]


def receiver(lang, kind, path):
    if lang == "C":
        return [str(build_dir() / "cli" / "unixsock"), "listen", path, "-k", kind, "--recv-fds", "--cred"]
    if lang == "Python":
        code = f"""
import os, sys, unixsock
s = unixsock.bind({path!r}) if {kind!r} == "dgram" else unixsock.listen({path!r}, {kind!r})
c = s if {kind!r} == "dgram" else s.accept()
m = c.recv_message()
print(m.data.decode())
print("fd 1 of 1:", os.read(m.fds[0], 100).decode(), file=sys.stderr)
print(f"creds: pid={{m.creds.pid}} uid={{m.creds.uid}} gid={{m.creds.gid}}", file=sys.stderr)
"""
        return [sys.executable, "-c", code]
    code = f"""
local u = require "unixsock"
local s = {kind!r} == "dgram" and assert(u.bind({path!r})) or assert(u.listen({path!r}, {kind!r}))
local c = {kind!r} == "dgram" and s or assert(s:accept())
local m = assert(c:recv_message())
print(m.data)
io.stderr:write("fd 1 of 1: ", m.fds[1]:read(100), "\\n")
io.stderr:write(string.format("creds: pid=%d uid=%d gid=%d\\n", m.creds.pid, m.creds.uid, m.creds.gid))
"""
    return ["lua5.4", "-e", code]


def sender(lang, kind, path, secret):
    if lang == "C":
        return [str(build_dir() / "cli" / "unixsock"), "connect", path, "-k", kind, "--send-fd", secret, "--cred"]
    if lang == "Python":
        code = f"""
import unixsock
with unixsock.connect({path!r}, {kind!r}, timeout=5) as c, open({secret!r}, "rb") as f:
    c.send_message(b"hello", [f], creds=True)
"""
        return [sys.executable, "-c", code]
    # Lua's io library has no descriptors: it passes a socket whose peer wrote the content
    code = f"""
local u = require "unixsock"
local c = assert(u.connect({path!r}, {kind!r}, 5))
local a, b = u.pair()
b:send("secret")
b:close()
assert(c:send_message("hello", {{a}}, {{creds = true}}))
c:close()
"""
    return ["lua5.4", "-e", code]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("to", LANGS)
@pytest.mark.parametrize("frm", LANGS)
def test_message_with_fd_and_creds(frm, to, kind, sockdir):
    secret = sockdir / "secret.txt"
    secret.write_text("secret")
    path = str(sockdir / "m.sock")
    recv = subprocess.Popen(receiver(to, kind, path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=lua_env())
    try:
        wait_until_serving(path, recv)
        send = subprocess.run(sender(frm, kind, path, str(secret)), input="hello\n", capture_output=True,
                              text=True, timeout=30, env=lua_env())
        assert send.returncode == 0, send.stderr
        if to == "C":  # the tool goes on listening: stop it once it has printed the message
            first = read_line(recv.stdout)  # (its report on stderr is written before it reads a signal)
            out, err = stop(recv)
            out = first + out
        else:
            out, err = recv.communicate(timeout=30)
            assert recv.returncode == 0, err
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.communicate()
    assert out.splitlines()[0] == "hello"
    assert "fd 1 of 1: secret" in err
    creds = [l for l in err.splitlines() if l.startswith("creds: ")]
    assert creds and creds[0].startswith("creds: pid=") and f"uid={os.geteuid()}" in creds[0]
