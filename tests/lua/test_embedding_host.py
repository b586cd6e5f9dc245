"""The embedding-host example: a C program owns the loop, polls the fds a Lua
server script exposes, and the script serves clients without ever blocking it."""
import os
import subprocess

import unixsock
from conftest import ROOT, build_dir, wait_until_serving


def test_host_runs_a_lua_server_from_its_own_loop(sockdir):
    path = str(sockdir / "host.sock")
    host = subprocess.Popen(
        [str(build_dir() / "examples" / "lua-host" / "lua_host"),
         str(ROOT / "examples" / "lua-host" / "echo_server.lua"), path, "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_serving(path, host)
        # two clients at once: the script interleaves them without blocking
        c1 = unixsock.connect(path, "seqpacket", timeout=5)
        c2 = unixsock.connect(path, "seqpacket", timeout=5)
        with c1, c2:
            c1.send(b"g1")
            c2.send(b"g2")
            assert c2.recv(100) == b"Hi, g2"
            assert c1.recv(100) == b"Hi, g1"
        out, err = host.communicate(timeout=10)
    finally:
        if host.poll() is None:
            host.kill()
            host.communicate()
    assert host.returncode == 0, err
    assert not os.path.exists(path)  # lua_close collected the listener


def test_a_reply_the_client_has_no_room_for_is_reported(sockdir, tmp_path):
    # the host watches readability only, so the script cannot keep such a reply
    # for later; it used to drop it without a word
    path = str(sockdir / "host.sock")
    with open(tmp_path / "stderr", "w+") as log:  # a file: a full pipe would stop the host
        host = subprocess.Popen(
            [str(build_dir() / "examples" / "lua-host" / "lua_host"),
             str(ROOT / "examples" / "lua-host" / "echo_server.lua"), path, "1"],
            stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            wait_until_serving(path, host)
            with unixsock.connect(path, "seqpacket", timeout=10) as c:
                for _ in range(2000):  # read nothing back: 2 MB of replies fill up
                    c.send(b"x" * 1000)
            host.communicate(timeout=20)
        finally:
            if host.poll() is None:
                host.kill()
                host.communicate()
        log.seek(0)
        err = log.read()
    assert host.returncode == 0, err
    assert "reply not sent: send: Resource temporarily unavailable" in err
