"""Programs nobody in this project wrote, talking to unixsock's servers and
clients in every language: socat, luasocket, Node.js's and Go's net packages,
Python's socket."""
import array
import os
import pathlib
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

import pytest

import unixsock
from conftest import SOCKET_TYPES, build_dir, raw_socket, wait_until_serving
from examples import LANGUAGES, command, lua_env
from test_echo_examples import stop

HERE = pathlib.Path(__file__).parent
LINES = ["g1", "g2", "g3"]
KINDS = ["stream", "dgram", "seqpacket"]


@pytest.fixture(scope="session")
def go_peer():
    out = pathlib.Path(tempfile.mkdtemp(prefix="unixsock-go-")) / "peer"
    env = dict(os.environ, GOFLAGS="-mod=mod", CGO_ENABLED="0")
    r = subprocess.run(["go", "build", "-o", str(out), "."], cwd=HERE / "peers" / "go",
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    yield str(out)
    shutil.rmtree(out.parent, ignore_errors=True)


def serve(cmd, path):
    srv = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=lua_env())
    wait_until_serving(path, srv)
    return srv


def client_lines(cmd, lines=LINES):
    r = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True,
                       timeout=30, env=lua_env())
    assert r.returncode == 0, r.stderr
    return [l for l in r.stdout.splitlines() if not l.startswith("now sending")]


# ---- socat ----------------------------------------------------------------

SOCAT_CLIENT = {
    "stream": lambda p, me: ["socat", "-", f"UNIX-CONNECT:{p}"],
    "seqpacket": lambda p, me: ["socat", "-", f"UNIX-CONNECT:{p},type=5"],
    "dgram": lambda p, me: ["socat", "-", f"UNIX-SENDTO:{p},bind={me}"],
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("server", list(LANGUAGES))
def test_socat_client_to_our_server(server, kind, sockdir):
    path = str(sockdir / "s.sock")
    srv = serve(command(server, kind, "server", path), path)
    try:
        # socat reads stdin in blocks: on message kinds one line per session
        sessions = [LINES] if kind == "stream" else [[l] for l in LINES]
        got = []
        for lines in sessions:
            got += client_lines(SOCAT_CLIENT[kind](path, str(sockdir / "socat-client.sock")), lines)
        assert got == [f"Hi, {l}" for l in LINES]
    finally:
        stop(srv)


SOCAT_SERVER = {  # stream answers "Hi, <line>"; packets are echoed as they are
    "stream": lambda p, d: ["socat", f"UNIX-LISTEN:{p},fork", f"EXEC:{d}/hi.sh"],
    "seqpacket": lambda p, d: ["socat", f"UNIX-LISTEN:{p},type=5,fork", "PIPE"],
    "dgram": lambda p, d: ["socat", f"UNIX-RECVFROM:{p},fork", "PIPE"],
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("client", list(LANGUAGES))
def test_our_client_to_socat_server(client, kind, sockdir):
    (sockdir / "hi.sh").write_text('#!/bin/sh\nexec sed -u "s/^/Hi, /"\n')
    os.chmod(sockdir / "hi.sh", 0o755)
    path = str(sockdir / "socat.sock")
    srv = serve(SOCAT_SERVER[kind](path, sockdir), path)
    try:
        if client == "CLI" and kind != "stream":
            # the CLI relays without waiting for answers, and socat's PIPE is a
            # byte pipe that merges packets queued in it: one line per session
            got = [g for l in LINES for g in client_lines(command(client, kind, "client", path), [l])]
        else:
            got = client_lines(command(client, kind, "client", path))
        prefix = "Hi, " if kind == "stream" else ""
        assert got == [prefix + l for l in LINES]
    finally:
        stop(srv)


# ---- luasocket --------------------------------------------------------------

LUASOCKET = ["lua5.4", str(HERE / "peers" / "luasocket_peer.lua")]


@pytest.mark.parametrize("client", list(LANGUAGES))
def test_our_client_to_luasocket_stream_server(client, sockdir):
    path = str(sockdir / "luasocket.sock")
    srv = serve([*LUASOCKET, "server", "stream", path], path)
    try:
        assert client_lines(command(client, "stream", "client", path)) == [f"Hi, {l}" for l in LINES]
    finally:
        srv.kill()
        srv.communicate()


@pytest.mark.parametrize("lang", ["Python", "Lua"])
def test_our_dgram_to_luasocket_server(lang, sockdir):
    """luasocket reports an abstract (autobound) sender as "" and cannot answer
    it, so here our side binds a path of its own for the replies."""
    path = str(sockdir / "luasocket.sock")
    me = str(sockdir / "me.sock")
    srv = serve([*LUASOCKET, "server", "dgram", path], path)
    try:
        if lang == "Python":
            with unixsock.bind(me) as s:
                s.settimeout(10)
                got = []
                for line in LINES:
                    s.sendto(line.encode(), path)
                    got.append(s.recvfrom(100))
            assert got == [(f"Hi, {l}".encode(), path) for l in LINES]
        else:
            code = (f'local u = require "unixsock"; local s = assert(u.bind("{me}")); s:settimeout(10); '
                    f'for _, l in ipairs({{"g1", "g2", "g3"}}) do assert(s:sendto(l, "{path}")); '
                    'local d, from = assert(s:recvfrom()); print(d, from) end; s:close()')
            r = subprocess.run(["lua5.4", "-e", code], capture_output=True, text=True, timeout=20, env=lua_env())
            assert r.returncode == 0, r.stderr
            assert r.stdout.splitlines() == [f"Hi, {l}\t{path}" for l in LINES]
    finally:
        srv.kill()
        srv.communicate()


@pytest.mark.parametrize("kind", ["stream", "dgram"])
@pytest.mark.parametrize("server", list(LANGUAGES))
def test_luasocket_client_to_our_server(server, kind, sockdir):
    path = str(sockdir / "ours.sock")
    srv = serve(command(server, kind, "server", path), path)
    try:
        assert client_lines([*LUASOCKET, "client", kind, path]) == [f"Hi, {l}" for l in LINES]
    finally:
        stop(srv)


# ---- Node.js's net module ---------------------------------------------------

NODE = ["node", str(HERE / "peers" / "node_peer.js")]
NODE_LINES = [*LINES, "x" * 10000]  # and a line longer than one read, whole


@pytest.mark.parametrize("client", list(LANGUAGES))
def test_our_client_to_node_server(client, sockdir):
    path = str(sockdir / "node.sock")
    srv = serve([*NODE, "server", path], path)
    try:
        got = client_lines(command(client, "stream", "client", path), NODE_LINES)
        assert got == [f"Hi, {l}" for l in NODE_LINES]
    finally:
        srv.kill()
        srv.communicate()


@pytest.mark.parametrize("server", list(LANGUAGES))
def test_node_client_to_our_server(server, sockdir):
    path = str(sockdir / "ours.sock")
    srv = serve(command(server, "stream", "server", path), path)
    try:
        assert client_lines([*NODE, "client", path], NODE_LINES) == [f"Hi, {l}" for l in NODE_LINES]
    finally:
        stop(srv)


# ---- Go's net package -------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("client", list(LANGUAGES))
def test_our_client_to_go_server(go_peer, client, kind, sockdir):
    path = str(sockdir / "go.sock")
    srv = serve([go_peer, "server", kind, path], path)
    try:
        assert client_lines(command(client, kind, "client", path)) == [f"Hi, {l}" for l in LINES]
    finally:
        stop(srv)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("server", list(LANGUAGES))
def test_go_client_to_our_server(go_peer, server, kind, sockdir):
    path = str(sockdir / "ours.sock")
    srv = serve(command(server, kind, "server", path), path)
    try:
        assert client_lines([go_peer, "client", kind, path]) == [f"Hi, {l}" for l in LINES]
    finally:
        stop(srv)


def test_go_passes_an_fd_to_our_recv_message(go_peer, sockdir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("read through the fd Go sent")
    path = str(sockdir / "fd.sock")
    with unixsock.listen(path, "seqpacket") as l:
        client = subprocess.Popen([go_peer, "fdclient", path, str(secret)], stdout=subprocess.PIPE, text=True)
        l.settimeout(10)
        with l.accept() as conn:
            conn.settimeout(10)
            with conn.recv_message() as m:
                assert m.data == b"from go"
                assert len(m.fds) == 1
                with os.fdopen(m.take_fd(), "rb") as f:
                    content = f.read()
            conn.send(b"got: " + content)
        out, _ = client.communicate(timeout=10)
    assert out == "got: read through the fd Go sent"


@pytest.mark.parametrize("lang", ["Python", "Lua", "CLI"])
def test_our_send_message_passes_an_fd_to_go(go_peer, lang, sockdir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("read by Go")
    path = str(sockdir / "gofd.sock")
    srv = serve([go_peer, "fdserver", path], path)
    try:
        if lang == "Python":
            with unixsock.connect(path, "seqpacket", timeout=5) as c, open(secret, "rb") as f:
                c.settimeout(10)
                c.send_message(b"from python", [f])
                assert c.recv(1000) == b"from python: read by Go"
        elif lang == "Lua":
            # Lua's io library exposes no descriptors: pass one end of a pair whose
            # other end wrote the content, and Go reads it to the end
            code = (f'local u = require "unixsock"; local c = assert(u.connect("{path}", "seqpacket", 5)); '
                    'local a, b = u.pair(); b:send("via a socket"); b:close(); '
                    'assert(c:send_message("from lua", {a})); io.write(c:recv())')
            r = subprocess.run(["lua5.4", "-e", code], capture_output=True, text=True, timeout=20, env=lua_env())
            assert r.returncode == 0, r.stderr
            assert r.stdout == "from lua: via a socket"
        else:
            r = subprocess.run([str(build_dir() / "cli" / "unixsock"), "connect", path, "-k", "seqpacket",
                                "--send-fd", str(secret)],
                               input="from cli\n", capture_output=True, text=True, timeout=20)
            assert r.returncode == 0, r.stderr
            assert r.stdout == "from cli: read by Go\n"
    finally:
        stop(srv)


# ---- Python's standard socket module ----------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("server", list(LANGUAGES))
def test_python_socket_client_to_our_server(server, kind, sockdir):
    path = str(sockdir / "ours.sock")
    srv = serve(command(server, kind, "server", path), path)
    try:
        s = raw_socket(kind)
        s.settimeout(10)
        if kind == "dgram":
            s.bind("")  # Linux autobind, so the reply finds us
        s.connect(path)
        with s:
            for line in LINES:
                s.send((line + "\n").encode() if kind == "stream" else line.encode())
                assert s.recv(100).decode() == f"Hi, {line}" + ("\n" if kind == "stream" else "")
    finally:
        stop(srv)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("client", list(LANGUAGES))
def test_our_client_to_python_socket_server(client, kind, sockdir):
    path = str(sockdir / "std.sock")
    code = f"""
import socket, sys
s = socket.socket(socket.AF_UNIX, {int(SOCKET_TYPES[kind])})
s.bind({path!r})
if {kind!r} != "dgram":
    s.listen()
    c, _ = s.accept()
    buf = b""
    while True:
        d = c.recv(65536)
        if not d:
            break
        if {kind!r} == "stream":
            buf += d
            while b"\\n" in buf:
                line, buf = buf.split(b"\\n", 1)
                c.sendall(b"Hi, " + line + b"\\n")
        else:
            c.send(b"Hi, " + d)
else:
    for _ in range({len(LINES)}):
        d, addr = s.recvfrom(65536)
        s.sendto(b"Hi, " + d, addr)
"""
    srv = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until_serving(path, srv)
        assert client_lines(command(client, kind, "client", path)) == [f"Hi, {l}" for l in LINES]
    finally:
        srv.kill()
        srv.communicate()


@pytest.mark.parametrize("kind", ["dgram", "seqpacket"])
def test_fds_and_credentials_both_ways_with_socket_sendmsg_recvmsg(kind):
    """SCM_RIGHTS and SCM_CREDENTIALS as socket.sendmsg/recvmsg write and read them."""
    ours, theirs_end = unixsock.pair(kind)
    theirs = socket.socket(fileno=os.dup(theirs_end.fileno()))
    theirs_end.close()
    with ours, theirs:
        theirs.settimeout(10)
        ours.settimeout(10)
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        me = (os.getpid(), os.getuid(), os.getgid())
        r, w = os.pipe()
        os.write(w, b"from us")
        ours.send_message(b"to socket", [r], creds=True)
        os.close(r)
        data, anc, flags, _ = theirs.recvmsg(100, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(16))
        rights = [d for lvl, t, d in anc if (lvl, t) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)]
        creds = [d for lvl, t, d in anc if (lvl, t) == (socket.SOL_SOCKET, socket.SCM_CREDENTIALS)]
        assert (data, flags & socket.MSG_CTRUNC) == (b"to socket", 0)
        (fd,) = array.array("i", rights[0])
        assert os.read(fd, 10) == b"from us"
        os.close(fd)
        assert struct.unpack("iII", creds[0]) == me
        os.close(w)
        r2 = os.open("/dev/null", os.O_RDONLY)
        theirs.sendmsg([b"to us"], [
            (socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r2])),
            (socket.SOL_SOCKET, socket.SCM_CREDENTIALS, struct.pack("iII", *me))])
        os.close(r2)
        with ours.recv_message() as m:
            assert (m.data, tuple(m.creds), len(m.fds)) == (b"to us", me, 1)
            assert os.path.samestat(os.fstat(m.fds[0]), os.stat("/dev/null"))


@pytest.mark.parametrize("client", list(LANGUAGES))
def test_our_stream_client_prints_a_reply_line_longer_than_its_buffer(client, sockdir):
    # the C example's reply buffer is 4,200 bytes: a longer line filled it, and the
    # next read asked for 0 bytes (which waited, then read as the end of the stream)
    path = str(sockdir / "long.sock")
    long_line = "y" * 10000
    code = f"""
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind({path!r})
s.listen()
c, _ = s.accept()
buf = b""
while b"\\n" not in buf:
    buf += c.recv(65536)
c.sendall(b"{long_line}\\n")
while c.recv(65536):
    pass
"""
    srv = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until_serving(path, srv)
        assert client_lines(command(client, "stream", "client", path), ["g1"]) == [long_line]
    finally:
        srv.kill()
        srv.communicate()
