"""The embedding-host example: a C program owns the loop, polls the fds a Lua
server script exposes, and the script serves clients without ever blocking it."""
import contextlib
import os
import subprocess

import pytest

import unixsock
from conftest import ROOT, build_dir, wait_until_serving


HOST = build_dir() / "examples" / "lua-host" / "lua_host"
ECHO_SERVER = ROOT / "examples" / "lua-host" / "echo_server.lua"


@contextlib.contextmanager
def echo_host(path, clients, stderr=subprocess.PIPE):
    """The host running the echo script at path until it served clients; killed
    if it has not ended when the block does (what it said is in .result)."""
    host = subprocess.Popen([str(HOST), str(ECHO_SERVER), path, str(clients)],
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        wait_until_serving(path, host)
        yield host
    finally:
        try:
            host.result = host.communicate(timeout=20)
        finally:
            if host.poll() is None:
                host.kill()
                host.communicate()


def test_host_runs_a_lua_server_from_its_own_loop(sockdir):
    path = str(sockdir / "host.sock")
    with echo_host(path, 2) as host:
        # two clients at once: the script interleaves them without blocking
        c1 = unixsock.connect(path, "seqpacket", timeout=5)
        c2 = unixsock.connect(path, "seqpacket", timeout=5)
        with c1, c2:
            c1.send(b"g1")
            c2.send(b"g2")
            assert c2.recv(100) == b"Hi, g2"
            assert c1.recv(100) == b"Hi, g1"
    assert host.returncode == 0, host.result[1]
    assert not os.path.exists(path)  # lua_close collected the listener


def test_a_reply_the_client_has_no_room_for_is_reported(sockdir, tmp_path):
    # the host watches readability only, so the script cannot keep such a reply
    # for later; it used to drop it without a word
    path = str(sockdir / "host.sock")
    with open(tmp_path / "stderr", "w+") as log:  # a file: a full pipe would stop the host
        with echo_host(path, 1, stderr=log) as host:
            with unixsock.connect(path, "seqpacket", timeout=10) as c:
                for _ in range(2000):  # read nothing back: 2 MB of replies fill up
                    c.send(b"x" * 1000)
        log.seek(0)
        err = log.read()
    assert host.returncode == 0, err
    assert "reply not sent: send: Resource temporarily unavailable" in err


def test_more_clients_than_the_host_once_watched_are_all_served(sockdir):
    # the host watched the first 256 fds the script listed, and the rest of the
    # clients waited for a reply that never came
    path = str(sockdir / "host.sock")
    clients = 300
    conns = []
    with echo_host(path, clients) as host:
        try:
            for i in range(clients):
                conns.append(unixsock.connect(path, "seqpacket", timeout=10))
                conns[-1].send(b"c%d" % i)
            for i, c in enumerate(conns):
                assert c.recv(100) == b"Hi, c%d" % i
        finally:
            for c in conns:
                c.close()
    assert host.returncode == 0, host.result[1]


DONE = "done = function() return false end, on_ready = function() end"


@pytest.mark.parametrize("script, said", [
    # a script that returned no table aborted the host: an unprotected Lua error
    ("return 5", "{path} returned number, not a table of handlers (done, fds, on_ready)"),
    ("return {}", "{path}: the table it returned has no function done"),
    ("return {fds = function() return 7 end, %s}" % DONE,
     "fds: list of descriptors expected, got number"),
    # an entry that is not an fd was read as 0: stdin was watched instead
    ("return {fds = function() return {'x'} end, %s}" % DONE,
     "fds: descriptor expected at [1], got string"),
    ("return {fds = function() return {1.5} end, %s}" % DONE,
     "fds: descriptor expected at [1], got 1.5"),
    ("return {fds = function() return setmetatable({}, {__len = function() error('no length') end}) end, %s}"
     % DONE, "fds: {path}:1: no length"),
    # a closed fd in the list made poll say POLLNVAL on every turn
    ("return {fds = function() return {999} end, %s}" % DONE, "fds: 999 is not an open descriptor"),
    ("return {fds = function() return {} end, done = function() error('broken') end, on_ready = print}",
     "done: {path}:1: broken"),
])
def test_a_script_that_breaks_the_host_contract_is_said_and_ends_it(tmp_path, script, said):
    (tmp_path / "script.lua").write_text(script)
    # run where the script is: Lua shortens a long path in its messages
    r = subprocess.run([str(HOST), "script.lua"],
                       capture_output=True, text=True, timeout=10, cwd=tmp_path)
    assert (r.returncode, r.stderr) == (1, "lua_host: " + said.format(path="script.lua") + "\n")
