"""systemd's own socket activation (systemd-socket-activate, which passes sockets
the way a .socket unit does) starting Python and Lua services: every kind, and
both ways a unit can pass a stream (Accept=no: the listener; Accept=yes: each
connection), which a service tells apart by `listening`."""
import subprocess
import sys
import textwrap

import pytest

from conftest import raw_socket, wait_until_serving
from examples import lua_env

# Each service answers every socket it was passed and says what it was given.
PYTHON_SERVICE = textwrap.dedent("""
    import unixsock
    for fd, name, sock, err in unixsock.listen_fds():
        assert sock is not None and err == 0, (fd, name, err)
        with sock:
            sock.settimeout(10)
            if sock.listening:
                with sock.accept() as c:
                    c.send(f"{name}: accepted on a {sock.kind} listener".encode())
            elif sock.kind == "dgram":
                data, sender = sock.recvfrom(100)
                sock.sendto(f"{name}: {data.decode()} on dgram".encode(), sender)
            else:
                sock.send(f"{name}: passed a {sock.kind} connection".encode())
""")

LUA_SERVICE = """
    local unixsock = require "unixsock"
    for _, f in ipairs(assert(unixsock.listen_fds())) do
      local sock <close> = assert(f.socket, f.errno)
      sock:settimeout(10)
      if sock:listening() then
        local c <close> = assert(sock:accept())
        assert(c:send(f.name .. ": accepted on a " .. sock:kind() .. " listener"))
      elseif sock:kind() == "dgram" then
        local data, sender = assert(sock:recvfrom(100))
        assert(sock:sendto(f.name .. ": " .. data .. " on dgram", sender))
      else
        assert(sock:send(f.name .. ": passed a " .. sock:kind() .. " connection"))
      end
    end
"""

SERVICES = {
    "Python": [sys.executable, "-c", PYTHON_SERVICE],
    "Lua": ["lua5.4", "-e", LUA_SERVICE],
}

# how systemd-socket-activate is told the kind, and Accept=yes
KIND_FLAGS = {"stream": [], "dgram": ["--datagram"], "seqpacket": ["--seqpacket"]}


def activate(path, kind, service, accept=False):
    # the service gets a clean environment, as from systemd: -E passes LUA_CPATH on
    cmd = ["systemd-socket-activate", "-l", str(path), *KIND_FLAGS[kind], "--fdname=api",
           "-E", "LUA_CPATH"]
    if accept:
        cmd.append("--accept")
    p = subprocess.Popen(cmd + SERVICES[service], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=lua_env())
    wait_until_serving(str(path), p)
    return p


def answer(path, kind, me):
    with raw_socket(kind) as c:
        c.settimeout(10)
        if kind == "dgram":
            c.bind(str(me))  # where the service's answer comes back
            c.sendto(b"g1", str(path))
        else:
            c.connect(str(path))
        return c.recv(100).decode()


@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("kind", list(KIND_FLAGS))
def test_a_passed_listener_serves(sockdir, kind, service):
    path = sockdir / "activated.sock"
    p = activate(path, kind, service)
    try:
        got = answer(path, kind, sockdir / "client.sock")
        out, err = p.communicate(timeout=20)
    finally:
        p.kill()
        p.communicate()
    want = "api: g1 on dgram" if kind == "dgram" else f"api: accepted on a {kind} listener"
    assert got == want, err
    assert p.returncode == 0, err
    assert path.exists()  # an adopted socket never unlinks its file: the manager owns it


@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_a_passed_connection_is_not_listening(sockdir, kind, service):
    # Accept=yes: the manager accepts and starts the service per connection
    path = sockdir / "per-connection.sock"
    p = activate(path, kind, service, accept=True)
    try:
        for _ in range(2):  # each connection, a service of its own
            assert answer(path, kind, None) == f"api: passed a {kind} connection"
    finally:
        p.kill()
        p.communicate()
