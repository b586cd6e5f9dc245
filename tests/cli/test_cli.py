"""The unixsock command-line tool: relay, echo, probe, peer, fds, creds, errors."""
import grp
import os
import pwd
import re
import resource
import select
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

import unixsock
from conftest import build_dir, raw_socket, read_line, wait_until_serving

TOOL = str(build_dir() / "cli" / "unixsock")


def run(*args, input=None, timeout=20, **kw):
    if input is None:  # never pytest's own stdin, whatever that is (a terminal, or closed)
        kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([TOOL, *args], input=input, capture_output=True, text=True,
                          timeout=timeout, **kw)


def start(*args, **kw):
    return subprocess.Popen([TOOL, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=10)


def test_help_and_version():
    r = run("--help")
    assert r.returncode == 0 and "usage: unixsock listen" in r.stdout
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("unixsock 0.")


@pytest.mark.parametrize("args", [[], ["listen"], ["frobnicate", "x"], ["connect", "x", "-k", "raw"], ["listen", "x", "--mode", "999"],
                                  ["probe", ""]])
def test_usage_errors_exit_2(args):
    r = run(*args)
    assert r.returncode == 2
    assert r.stderr


@pytest.mark.parametrize("args, reason", [
    ([], "unixsock: missing command (listen, connect or probe)"),
    (["bogus"], "unixsock: unknown command 'bogus'"),
    (["frobnicate", "x"], "unixsock: unknown command 'frobnicate'"),
    (["listen"], "unixsock: listen needs an ADDRESS"),
    (["connect", "@a", "@b"], "unixsock: unexpected argument '@b'"),
    (["listen", "x", "--mode", ""], "unixsock: bad mode '' (octal, like 0660)"),
    (["connect", "@x", "-t", "nan"], "unixsock: bad timeout 'nan' (seconds, like 2.5)"),
    (["connect", "@x", "-t", ""], "unixsock: bad timeout '' (seconds, like 2.5)"),
    # getopt said these itself, naming the binary by the path it was run as
    (["--frob", "x"], "unixsock: unknown option '--frob'"),
    (["connect", "@x", "-z"], "unixsock: unknown option '-z'"),
    (["connect", "@x", "--kind"], "unixsock: option '--kind' needs a value"),
    (["connect", "@x", "-t"], "unixsock: option '-t' needs a value"),
    (["connect", "@x", "-pt"], "unixsock: option '-t' needs a value"),
    (["connect", "@x", "-pz"], "unixsock: unknown option '-z'"),
    (["connect", "@x", "--echo=1", "--show-peer=yes"], "unixsock: option '--show-peer' takes no value"),
    # what was typed is quoted as addresses are shown: an escape sequence echoed
    # raw acted on the terminal instead of being seen
    (["bo\x1b[2Jgus", "x"], "unixsock: unknown command 'bo\\x1b[2Jgus'"),
    (["connect", "@a", "b\tc"], "unixsock: unexpected argument 'b\\x09c'"),
    (["connect", "@x", "-k", "str\x1beam"], "unixsock: unknown kind 'str\\x1beam' (stream, dgram, seqpacket)"),
    (["listen", "x", "-m", "06\r60"], "unixsock: bad mode '06\\x0d60' (octal, like 0660)"),
    (["connect", "@x", "-w", "1\x07"], "unixsock: bad wait '1\\x07' (seconds, like 2.5)"),
    (["connect", "@x", "--fr\x1bob"], "unixsock: unknown option '--fr\\x1bob'"),
    (["connect", "@x", "-\x1b"], "unixsock: unknown option '-\\x1b'"),
    # an option the command does nothing with was ignored without a word:
    # `connect --echo` relayed, and `probe -k dgram` tried every kind
    (["connect", "@x", "-e"], "unixsock: option '--echo' is for listen, not connect"),
    (["connect", "@x", "--mode", "600"], "unixsock: option '--mode' is for listen, not connect"),
    (["listen", "@x", "-t", "3"], "unixsock: option '--timeout' is for connect, not listen"),
    (["probe", "@x", "-k", "dgram"], "unixsock: option '--kind' is for listen and connect, not probe"),
    (["probe", "@x", "--cred"], "unixsock: option '--cred' is for listen and connect, not probe"),
    (["listen", "@x", "--echo", "-w", "1"], "unixsock: option '--wait' does nothing with --echo"),
    (["listen", "@x", "-e", "--send-fd", "/etc/hostname"],
     "unixsock: option '--send-fd' does nothing with --echo"),
    # a mode for an abstract name was ignored: the socket stayed open to everyone
    (["listen", "@x", "-m", "600"],
     "unixsock: option '--mode' sets a socket file's permissions, and @x is abstract: it has no file"),
    (["listen", "@a\x1bb", "-k", "dgram", "-m", "600"],
     "unixsock: option '--mode' sets a socket file's permissions, and @a\\x1bb is abstract: it has no file"),
])
def test_usage_errors_say_what_is_wrong(args, reason):
    r = run(*args, input="")
    assert r.returncode == 2
    assert r.stderr.splitlines() == [reason, "Try 'unixsock --help' for more information."]


@pytest.mark.parametrize("seconds", ["inf", "1e10", "3000000"])
def test_a_long_timeout_waits_long_instead_of_failing(seconds):
    # it overflowed the milliseconds and connect said EINVAL
    name = f"@unixsock-cli-nobody-{os.getpid()}"
    r = run("connect", name, "-t", seconds, input="")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"unixsock: connect {name}: Connection refused (ECONNREFUSED)",
                                     f"unixsock: no socket holds {name}"]


def test_a_tiny_timeout_still_waits_for_a_full_backlog(sockdir):
    # 0.0001 s became 0 ms, which means "do not wait": EAGAIN instead of a timeout
    p = str(sockdir / "full.sock")
    with socket.socket(socket.AF_UNIX) as srv:
        srv.bind(p)
        srv.listen(0)
        queued = []
        try:
            while True:  # fill the backlog
                c = socket.socket(socket.AF_UNIX)
                queued.append(c)
                c.setblocking(False)
                c.connect(p)
        except BlockingIOError:
            pass
        try:
            r = run("connect", p, "-t", "0.0001", input="")
        finally:
            for c in queued:
                c.close()
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"unixsock: connect {p}: Connection timed out (ETIMEDOUT)",
        f"unixsock: the stream socket at {p} listens, but did not take the connection in time: "
        "its backlog of connections waiting for accept is full (its server accepts too slowly, "
        "or not at all)"]


def test_connect_error_names_operation_address_and_errno(sockdir):
    p = str(sockdir / "nope.sock")
    r = run("connect", p, input="")
    assert r.returncode == 1
    assert r.stderr.strip() == f"unixsock: connect {p}: No such file or directory (ENOENT)"


def _bound(kind, name, listening=False):
    s = raw_socket(kind)
    s.bind("\0" + name[1:] if name.startswith("@") else name)
    if listening:
        s.listen()
    return s


def test_a_refused_connect_says_what_is_at_a_path(sockdir):
    # ECONNREFUSED was all it said, for a regular file as for a stale socket
    f = sockdir / "file"
    f.write_text("data")
    stale = str(sockdir / "stale.sock")
    _bound("stream", stale).close()
    idle = str(sockdir / "idle.sock")
    other = str(sockdir / "dgram.sock")
    with _bound("stream", idle), _bound("dgram", other):
        for address, args, hint in [
                (str(f), [], f"{f} is a regular file, not a socket"),
                (str(sockdir), [], f"{sockdir} is a directory, not a socket"),
                (stale, [], f"{stale} is a stale socket file: nobody answers there"),
                (idle, [], f"the stream socket bound to {idle} does not listen"),
                (other, ["-k", "seqpacket"], f"{other} is a dgram socket, not a seqpacket one: try -k dgram")]:
            r = run("connect", address, *args, input="")
            assert r.returncode == 1
            assert r.stderr.splitlines()[1:] == [f"unixsock: {hint}"], r.stderr
        # a relative path is looked up by the absolute name the socket was bound to
        r = run("connect", "dgram.sock", input="", cwd=sockdir)
        assert r.stderr.splitlines()[1:] == ["unixsock: dgram.sock is a dgram socket, not a stream one: try -k dgram"]


def test_a_refused_connect_says_which_kinds_hold_an_abstract_name(abstract):
    # the kernel looks an abstract name up by kind, so a server of another kind
    # is ECONNREFUSED, as if nobody were there
    both, one, idle = abstract(), abstract(), abstract()
    with _bound("dgram", both), _bound("seqpacket", both, listening=True), _bound("dgram", one), \
            _bound("stream", idle):
        for address, kind, hint in [
                (both, "stream", f"no stream socket holds {both}; a dgram and a seqpacket socket do"),
                (one, "seqpacket", f"no seqpacket socket holds {one}; a dgram socket does: try -k dgram"),
                (idle, "stream", f"the stream socket bound to {idle} does not listen")]:
            r = run("connect", address, "-k", kind, input="")
            assert r.returncode == 1
            assert r.stderr.splitlines() == [
                f"unixsock: connect {address}: Connection refused (ECONNREFUSED)", f"unixsock: {hint}"]


def test_a_refused_listen_says_what_holds_the_address(sockdir, abstract):
    # EADDRINUSE and EEXIST said neither what was there nor that it stays
    f = sockdir / "file"
    f.write_text("data")
    link = sockdir / "link.sock"
    link.symlink_to(f)
    live, name = str(sockdir / "live.sock"), abstract()
    with _bound("seqpacket", live, listening=True), _bound("dgram", name):
        for args, lines in [
                ([str(f)], [f"listen {f}: File exists (EEXIST)",
                            f"{f} is a regular file, which listen never replaces"]),
                ([str(link)], [f"listen {link}: File exists (EEXIST)",
                               f"{link} is a symbolic link, which listen never replaces"]),
                ([live], [f"listen {live}: Address already in use (EADDRINUSE)",
                          f"{live} is in use by a seqpacket socket"]),
                ([name, "-k", "dgram"], [f"bind {name}: Address already in use (EADDRINUSE)",
                                         f"{name} is in use by a dgram socket"])]:
            r = run("listen", *args, input="")
            assert r.returncode == 1
            assert r.stderr.splitlines() == [f"unixsock: {line}" for line in lines]
    assert f.read_text() == "data" and link.is_symlink()


def test_a_missing_directory_is_named(sockdir):
    # "No such file or directory" did not say that the directory was missing,
    # nor "Not a directory" which part of the path was a file
    f = sockdir / "file"
    f.write_text("data")
    for cmd, address, lines in [
            ("listen", f"{sockdir}/gone/app.sock", [
                f"listen {sockdir}/gone/app.sock: No such file or directory (ENOENT)",
                f"the directory {sockdir}/gone does not exist"]),
            ("connect", f"{f}/app.sock", [
                f"connect {f}/app.sock: Not a directory (ENOTDIR)",
                f"{f} is a regular file, not a directory"])]:
        r = run(cmd, address, input="")
        assert r.returncode == 1
        assert r.stderr.splitlines() == [f"unixsock: {line}" for line in lines]


@pytest.mark.parametrize("kind", ["stream", "dgram"])
def test_a_relay_waiting_on_a_peer_that_does_not_read_says_so(sockdir, abstract, kind):
    # it waited without a word for ever: a peer that never reads looked like a hang
    data = sockdir / "data"
    data.write_bytes(b"x\n" * 2_000_000)
    with raw_socket(kind) as peer, open(data, "rb") as stdin:
        peer.bind("\0" + abstract()[1:])
        name = "@" + peer.getsockname()[1:].decode()
        if kind == "stream":
            peer.listen()
        proc = subprocess.Popen([TOOL, "connect", name, "-k", kind, "-t", "0.2"], stdin=stdin,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            if kind == "stream":
                conn, _ = peer.accept()
            line = read_line(proc.stderr, timeout=20)
            assert proc.poll() is None  # it goes on waiting: the peer sets the pace
        finally:
            out, err = stop(proc)
            if kind == "stream":
                conn.close()
    why = ("the peer has not read what was sent before: its receive buffer, and this socket's "
           "send buffer, are full" if kind == "stream"
           else "the socket this one is connected to has not read the datagrams sent before")
    assert line == f"unixsock: still waiting to send: {why} (Ctrl-C to stop)\n"
    assert err == ""  # said once


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_a_peer_that_closes_with_data_unread_is_said(abstract, kind):
    # "Connection reset by peer", on a machine with no network, said nothing of
    # what happened
    with raw_socket(kind) as peer:
        peer.bind("\0" + abstract()[1:])
        name = "@" + peer.getsockname()[1:].decode()
        peer.listen()
        proc = subprocess.Popen([TOOL, "connect", name, "-k", kind], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        conn, _ = peer.accept()
        proc.stdin.write("never read\n")
        proc.stdin.flush()
        conn.recv(1, socket.MSG_PEEK)  # it came, and stays unread
        conn.close()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert err.splitlines() == [f"unixsock: recv {name}: Connection reset by peer (ECONNRESET)",
                                "unixsock: the peer closed before reading all that this socket sent it"]


@pytest.mark.parametrize("kind", ["stream", "dgram", "seqpacket"])
def test_echo_server_serves_many_clients(sockdir, kind):
    p = str(sockdir / "echo.sock")
    srv = start("listen", p, "-k", kind, "--echo=Re: ")
    try:
        wait_until_serving(p)
        for i in range(3):
            r = run("connect", p, "-k", kind, input=f"a{i}\nb{i}\n")
            assert r.returncode == 0, r.stderr
            assert r.stdout == f"Re: a{i}\nRe: b{i}\n"
    finally:
        out, err = stop(srv)
    assert srv.returncode == 0, err
    assert not os.path.exists(p)  # SIGTERM: closed and removed


def test_stream_echo_answers_a_last_line_without_newline(abstract):
    # the rest after the last newline was dropped at end of stream, unanswered
    addr = abstract()
    srv = start("listen", addr, "--echo")
    try:
        wait_until_serving(addr)
        with unixsock.connect(addr, timeout=10) as c:
            c.send(b"a\nb")
            c.shutdown("w")
            got = b""
            while chunk := c.recv(100):
                got += chunk
        assert got == b"Hi, a\nHi, b"
        r = run("connect", addr, input="no newline")
        assert (r.returncode, r.stdout, r.stderr) == (0, "Hi, no newline", "")
    finally:
        out, err = stop(srv)
    assert srv.returncode == 0, err


def test_stream_echo_serves_clients_at_the_same_time(abstract):
    addr = abstract()
    srv = start("listen", addr, "--echo")
    try:
        wait_until_serving(addr)
        a = unixsock.connect(addr, timeout=5)
        b = unixsock.connect(addr, timeout=5)
        with a, b:
            b.send(b"second\n")
            a.send(b"first\n")
            b.settimeout(5)
            a.settimeout(5)
            assert b.recv(100) == b"Hi, second\n"
            assert a.recv(100) == b"Hi, first\n"
    finally:
        stop(srv)


@pytest.mark.parametrize("kind", ["dgram", "seqpacket"])
def test_connect_sends_a_line_over_64_kib_in_64_kib_messages(abstract, kind):
    # what --help and the man page say: one line is one message, up to 64 KiB
    addr = abstract()
    with (unixsock.bind(addr) if kind == "dgram" else unixsock.listen(addr, kind)) as srv:
        srv.settimeout(10)
        line = "".join(chr(ord("a") + i % 26) for i in range(150_000))
        client = subprocess.Popen([TOOL, "connect", addr, "-k", kind, "-w", "0.2"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        try:
            conn = srv if kind == "dgram" else srv.accept()
            client.stdin.write(line.encode() + b"\n")
            client.stdin.close()
            conn.settimeout(10)
            got = [conn.recv_message().data for _ in range(3)]
        finally:
            client.stdin.close()
            client.wait(timeout=10)
            err = client.stderr.read()
            client.stdout.close()
            client.stderr.close()
        assert [len(g) for g in got] == [65536, 65536, 150_000 - 2 * 65536]
        assert b"".join(got) == line.encode()
        assert client.returncode == 0, err


def test_message_echo_of_a_long_stream_message_arrives_whole(abstract):
    # the reply is longer than the kernel takes at once and the client reads it
    # only after a while: the server must finish it, not cut or drop it
    addr = abstract()
    srv = start("listen", addr, "--echo=Re: ", "--messages")
    try:
        wait_until_serving(addr)
        big = os.urandom(2 << 20)
        with unixsock.connect(addr, timeout=5) as c:
            c.settimeout(10)
            c.send_message(big)
            time.sleep(0.3)
            with c.recv_message() as m:
                assert m.data == b"Re: " + big
            c.send_message(b"again")
            with c.recv_message() as m:
                assert m.data == b"Re: again"
    finally:
        stop(srv)


def test_message_echo_names_the_client_it_drops_by_pid(abstract):
    # it said "client lost: Bad message", and a server with many clients could
    # not tell which one sent it
    addr = abstract()
    srv = start("listen", addr, "--echo", "--messages")
    try:
        wait_until_serving(addr)
        with raw_socket("stream") as bad:
            bad.connect("\0" + addr[1:])
            bad.sendall(b"\xff" * 8 + b"zzzz")  # no magic: not a frame
            bad.settimeout(10)
            try:
                heard = bad.recv(100)
            except ConnectionResetError:  # closed with "zzzz" unread
                heard = b""
            assert heard == b""  # dropped, without a reply
        with unixsock.connect(addr, timeout=5) as good:  # the others go on
            good.settimeout(10)
            good.send_message(b"g1")
            with good.recv_message() as m:
                assert m.data == b"Hi, g1"
    finally:
        _, err = stop(srv)
    assert err.splitlines() == [
        f"unixsock: client pid {os.getpid()} lost: Bad message (EBADMSG)",
        'unixsock: not a unixsock frame header: "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff" '
        "(a peer that sends plain bytes, not frames?)"]


def test_connect_with_messages_to_a_plain_peer_says_what_came(sockdir):
    # "recv: Connection reset by peer" alone, where socat had sent "hey" and closed
    p = str(sockdir / "plain.sock")
    with raw_socket("stream") as server:
        server.bind(p)
        server.listen()
        proc = start("connect", p, "--messages")
        try:
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"hey")
            out, err = proc.communicate(timeout=10)
        finally:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, out) == (1, "")
    assert err.splitlines() == [
        f"unixsock: recv {p}: Connection reset by peer (ECONNRESET)",
        'unixsock: the stream ended 3 bytes into a frame header: "hey" '
        "(a peer that sends plain bytes, not frames?)"]

def test_listen_relays_one_connection_both_ways(sockdir):
    p = str(sockdir / "relay.sock")
    srv = subprocess.Popen([TOOL, "listen", p], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    try:
        wait_until_serving(p)
        with unixsock.connect(p, timeout=5) as c:
            c.send(b"to the tool\n")
            srv.stdin.write(b"from the tool\n")
            srv.stdin.close()
            c.settimeout(5)
            got = b""
            while True:
                d = c.recv(100)
                if not d:
                    break
                got += d
            assert got == b"from the tool\n"
        assert srv.wait(timeout=10) == 0
        assert srv.stdout.read() == b"to the tool\n"
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
        srv.stdout.close()
        srv.stderr.close()


def test_mode_option(sockdir):
    p = str(sockdir / "mode.sock")
    srv = start("listen", p, "--mode", "0600", "--echo")
    try:
        wait_until_serving(p)
        assert stat.S_IMODE(os.lstat(p).st_mode) == 0o600
    finally:
        stop(srv)


def test_show_peer_prints_credentials(abstract):
    addr = abstract()
    srv = start("listen", addr, "-k", "seqpacket", "--echo", "--show-peer")
    try:
        wait_until_serving(addr)
        r = run("connect", addr, "-k", "seqpacket", "--show-peer", input="x\n")
        assert r.returncode == 0
        assert f"peer: pid={srv.pid} uid={os.geteuid()} gid={os.getegid()}" in r.stderr
    finally:
        out, err = stop(srv)
    assert f"uid={os.geteuid()}" in err and "peer: pid=" in err


@pytest.mark.parametrize("kind", ["stream", "seqpacket", "dgram"])
def test_send_fd_and_recv_fds_show_the_content(tmp_path, abstract, kind):
    secret = tmp_path / "secret.txt"
    secret.write_text("passed by descriptor\n")
    addr = abstract()
    srv = start("listen", addr, "-k", kind, "--recv-fds", "--cred")
    try:
        wait_until_serving(addr)
        r = run("connect", addr, "-k", kind, "--send-fd", str(secret), "--cred", input="hello\n")
        assert r.returncode == 0, r.stderr
        first = read_line(srv.stdout)  # the listener goes on: stop it once it has printed
    finally:
        out, err = stop(srv)
    out = first + out
    assert "hello" in out.splitlines()
    assert "fd 1 of 1: passed by descriptor" in err
    assert "creds: pid=" in err


def test_recv_fds_never_waits_on_a_pipe_and_shows_every_byte(tmp_path, abstract):
    # a passed pipe nobody had written to yet stopped the tool in read() for as
    # long as the peer kept its other end: no later message was shown; and a NUL
    # in a file ended what was shown of it
    binary = tmp_path / "binary"
    binary.write_bytes(b"a\0b\n")
    addr = abstract()
    srv = subprocess.Popen([TOOL, "listen", addr, "-k", "seqpacket", "--recv-fds"], bufsize=0,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    r, w = os.pipe()
    try:
        wait_until_serving(addr)
        with unixsock.connect(addr, "seqpacket", timeout=5) as c, open(binary, "rb") as f:
            c.send_message(b"empty pipe", [r])
            c.send_message(b"file", [f])
            assert read_line(srv.stdout, timeout=10) == b"empty pipe\n"
            assert read_line(srv.stdout, timeout=10) == b"file\n"  # while the pipe stayed empty
    finally:
        srv.send_signal(signal.SIGTERM)
        out, err = srv.communicate(timeout=10)
        os.close(r)
        os.close(w)
    assert err == b"fd 1 of 1: (nothing to read yet)\nfd 1 of 1: a\0b\n"


def test_send_fd_missing_file_is_a_clear_error(abstract):
    addr = abstract()
    srv = start("listen", addr, "--echo")
    try:
        wait_until_serving(addr)
        r = run("connect", addr, "--send-fd", "/nonexistent/file", input="x\n")
        assert r.returncode == 1
        assert "open /nonexistent/file: No such file or directory (ENOENT)" in r.stderr
    finally:
        stop(srv)


def test_send_fd_missing_file_is_said_before_connecting(abstract):
    # the server never sees a connection that closes at once: nothing is accepted
    addr = abstract()
    with unixsock.listen(addr) as l:
        r = run("connect", addr, "--send-fd", "/nonexistent/file", input="x\n")
        assert r.returncode == 1
        assert r.stderr.strip() == "unixsock: open /nonexistent/file: No such file or directory (ENOENT)"
        l.settimeout(0)
        with pytest.raises(BlockingIOError):
            l.accept()


def test_send_fd_of_a_socket_file_says_it_cannot_be_opened(sockdir, abstract):
    # ENXIO alone ("No such device or address") did not say why
    path = str(sockdir / "other.sock")
    with unixsock.listen(path), unixsock.listen(abstract()) as l:
        r = run("connect", l.local_address, "--send-fd", path, input="x\n")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f"unixsock: open {path}: No such device or address (ENXIO)",
        f"unixsock: {path} is a socket, which open() cannot open: --send-fd passes files, "
        "fifos and devices"]


def test_listen_refuses_regular_file_and_keeps_it(sockdir):
    p = sockdir / "precious.txt"
    p.write_text("keep me")
    r = run("listen", str(p), input="")
    assert r.returncode == 1
    assert "(EEXIST)" in r.stderr
    assert p.read_text() == "keep me"


class TestProbe:
    @pytest.mark.parametrize("kind", ["stream", "seqpacket", "dgram"])
    def test_listening(self, sockdir, kind):
        p = str(sockdir / "probe.sock")
        s = unixsock.bind(p) if kind == "dgram" else unixsock.listen(p, kind, mode=0o640)
        with s:
            r = run("probe", p)
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"listening ({kind})" in r.stdout
        assert "owner " in r.stdout
        if kind != "dgram":
            assert f"server pid {os.getpid()}" in r.stdout
            assert "mode 0640" in r.stdout

    def test_abstract(self, abstract):
        addr = abstract()
        with unixsock.listen(addr, "seqpacket"):
            r = run("probe", addr)
        assert r.returncode == 0 and "listening (seqpacket)" in r.stdout
        r = run("probe", addr)
        assert r.returncode == 3

    def test_stale(self, sockdir):
        p = str(sockdir / "stale.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(p)
        s.close()
        r = run("probe", p)
        assert r.returncode == 5 and "stale" in r.stdout

    def test_missing(self, sockdir):
        r = run("probe", str(sockdir / "none.sock"))
        assert r.returncode == 3 and "nothing there" in r.stdout

    def test_a_missing_directory_is_named(self, sockdir):
        # "nothing there" did not say that the directory itself was missing
        r = run("probe", str(sockdir / "gone" / "app.sock"))
        assert (r.returncode, r.stdout) == (
            3, f"{sockdir}/gone/app.sock: nothing there (the directory {sockdir}/gone does not exist)\n")

    def test_a_file_on_the_way_is_nothing_there_naming_it(self, sockdir):
        # a file where a directory should be was a failure (status 1, "stat ...:
        # Not a directory"), where a missing directory is "nothing there" (3)
        (sockdir / "file").write_text("x")
        r = run("probe", str(sockdir / "file" / "app.sock"))
        assert (r.returncode, r.stdout, r.stderr) == (
            3, f"{sockdir}/file/app.sock: nothing there ({sockdir}/file is a regular file, "
               "not a directory)\n", "")

    def test_an_abstract_name_too_long_says_the_limit(self):
        name = "@" + "a" * 110
        r = run("probe", name)
        assert r.returncode == 1
        assert r.stderr.splitlines() == [
            f"unixsock: connect {name}: File name too long (ENAMETOOLONG)",
            "unixsock: an abstract name holds at most 107 bytes after the @; this one has 110"]

    def test_a_link_that_leads_nowhere_says_where_it_points(self, sockdir):
        # a server that moved its socket: it said only "nothing there"
        link = sockdir / "app.sock"
        link.symlink_to(sockdir / "gone" / "app.sock")
        r = run("probe", str(link))
        assert (r.returncode, r.stdout) == (
            3, f"{link}: nothing there (a symbolic link to {sockdir}/gone/app.sock, which does not exist)\n")
        r = run("connect", str(link))
        assert r.returncode == 1
        assert r.stderr.splitlines() == [
            f"unixsock: connect {link}: No such file or directory (ENOENT)",
            f"unixsock: {link} is a symbolic link to {sockdir}/gone/app.sock, which does not exist"]

    def test_not_a_socket(self, sockdir):
        (sockdir / "file").write_text("x")
        r = run("probe", str(sockdir / "file"))
        assert (r.returncode, r.stdout) == (4, f"{sockdir}/file is a regular file, not a socket\n")
        r = run("probe", str(sockdir))
        assert (r.returncode, r.stdout) == (4, f"{sockdir} is a directory, not a socket\n")

    @pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another uid")
    def test_permission_denied(self, sockdir):
        p = str(sockdir / "private.sock")
        with unixsock.listen(p, mode=0o600):
            r = run_as_nobody("probe", p)
        assert r.returncode == 6, r.stdout + r.stderr
        assert "permission denied" in r.stdout
        assert "may not write to" in r.stderr  # and why


def run_as_nobody(*args):
    """The tool run as uid and gid 65534, as run() runs it."""
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", TOOL, *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)


def owner_mode(path):
    st = os.stat(path)
    return (f"owner {pwd.getpwuid(st.st_uid).pw_name}:{grp.getgrgid(st.st_gid).gr_name} "
            f"mode {stat.S_IMODE(st.st_mode):04o}")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another uid")
class TestPermissionDenied:
    """EACCES alone does not say which file refused, nor why: a directory on the
    way that we may not search, the socket file that we may not write to, or
    the directory that we may not create a socket file in."""

    me = f"uid 65534 ({pwd.getpwuid(65534).pw_name})"

    def test_connect_to_a_socket_file_we_may_not_write_to(self, sockdir):
        p = str(sockdir / "private.sock")
        with unixsock.listen(p, mode=0o600):
            r = run_as_nobody("connect", p)
            assert r.returncode == 1
            assert r.stderr.splitlines() == [
                f"unixsock: connect {p}: Permission denied (EACCES)",
                f"unixsock: {self.me} may not write to {p} ({owner_mode(p)})"]

    @pytest.mark.parametrize("command", ["connect", "probe"])
    def test_a_directory_on_the_way_we_may_not_search(self, sockdir, command):
        d = sockdir / "private"
        d.mkdir(mode=0o700)
        p = str(d / "app.sock")
        with unixsock.listen(p):
            r = run_as_nobody(command, p)
        op = "connect" if command == "connect" else "stat"
        assert (r.returncode, r.stdout) == (1 if command == "connect" else 6, "")
        assert r.stderr.splitlines() == [
            f"unixsock: {op} {p}: Permission denied (EACCES)",
            f"unixsock: {self.me} may not search {d} ({owner_mode(d)})"]

    @pytest.mark.parametrize("kind", ["stream", "dgram"])
    def test_listen_in_a_directory_we_may_not_create_files_in(self, sockdir, kind):
        p = str(sockdir / "app.sock")
        r = run_as_nobody("listen", p, "-k", kind)
        assert r.returncode == 1
        op = "bind" if kind == "dgram" else "listen"
        assert r.stderr.splitlines() == [
            f"unixsock: {op} {p}: Permission denied (EACCES)",
            f"unixsock: {self.me} may not create files in {sockdir} ({owner_mode(sockdir)})"]


def test_dgram_listener_keeps_receiving_after_its_stdin_ends(tmp_path):
    # the 500 ms linger meant for a client's replies ended a receive-only listener
    # (stdin /dev/null, as in the background) before anything arrived
    p = str(tmp_path / "log.sock")
    proc = start("listen", p, "-k", "dgram")
    wait_until_serving(p)
    time.sleep(1.0)  # twice the linger
    assert proc.poll() is None, "the listener quit on its own"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"late line", p)
    first = read_line(proc.stdout)
    out, err = stop(proc)
    assert "late line" in first + out, err
    assert proc.returncode == 0
    assert not os.path.exists(p)  # its own socket file goes with it


@pytest.mark.parametrize("kind", ["dgram", "seqpacket"])
def test_a_message_that_ends_in_a_newline_is_printed_without_another(sockdir, kind):
    # socat sends a line with its newline; the tool printed a blank line after it
    p = str(sockdir / f"lines-{kind}.sock")
    proc = subprocess.Popen([TOOL, "listen", p, "-k", kind], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_until_serving(p)
    want = b"with newline\nwithout\n\ntwo\n\n"
    got = b""
    with raw_socket(kind) as s:
        s.connect(p)
        for message in (b"with newline\n", b"without", b"\n", b"two\n\n"):
            s.send(message)
        deadline = time.monotonic() + 30
        while len(got) < len(want) and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 1)[0]:
                got += os.read(proc.stdout.fileno(), 4096)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert got + out == want, err


class _RepliesButStaysOpen:
    """A server that answers every line and never closes: the tool's end of
    stdin (a shutdown for writing) is not an end for it."""

    def __init__(self, kind, address):
        self.server = raw_socket(kind)
        self.server.bind(address)
        if kind != "dgram":
            self.server.listen()
        self.kind = kind
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        if self.kind == "dgram":
            data, sender = self.server.recvfrom(100)
            self.server.sendto(b"pong " + data, sender)
        else:
            conn, _ = self.server.accept()
            conn.recv(100)
            conn.sendall(b"pong\n")
            self.done.wait(30)
            conn.close()

    def close(self):
        self.done.set()
        self.thread.join(10)
        self.server.close()


@pytest.mark.parametrize("kind", ["stream", "seqpacket", "dgram"])
def test_wait_bounds_how_long_connect_waits_for_replies_after_stdin_ends(sockdir, kind):
    # without -w a stream or seqpacket peer that never closes held the tool for ever
    address = str(sockdir / f"open-{kind}.sock")
    peer = _RepliesButStaysOpen(kind, address)
    try:
        began = time.monotonic()
        r = run("connect", address, "-k", kind, "-w", "0.3", input="ping\n", timeout=10)
        took = time.monotonic() - began
    finally:
        peer.close()
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout.startswith("pong")
    assert took < 8  # the run's own timeout is 10 s: this says it ended by -w


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_connect_ends_when_the_peer_closes_though_stdin_is_still_open(sockdir, kind):
    # it went on reading stdin (a terminal: until Ctrl-D), then failed the next
    # send with EPIPE and exit status 1
    address = str(sockdir / f"bye-{kind}.sock")
    with raw_socket(kind) as server:
        server.bind(address)
        server.listen()
        proc = subprocess.Popen([TOOL, "connect", address, "-k", kind], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            conn, _ = server.accept()
            conn.sendall(b"banner, bye\n" if kind == "stream" else b"banner, bye")
            conn.close()
            proc.wait(timeout=10)  # with its stdin still open
            out, err = proc.stdout.read(), proc.stderr.read()
        finally:
            proc.kill()
            for f in (proc.stdin, proc.stdout, proc.stderr):
                f.close()
    assert (proc.returncode, out, err) == (0, "banner, bye\n", "")


def test_connect_goes_on_sending_to_a_peer_that_only_shut_its_writing(sockdir):
    # a peer that is done sending but still reads gets the rest of stdin
    address = str(sockdir / "half.sock")
    got = []
    with raw_socket("stream") as server:
        server.bind(address)
        server.listen()
        proc = subprocess.Popen([TOOL, "connect", address], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"send me everything\n")
                conn.shutdown(socket.SHUT_WR)
                assert read_line(proc.stdout) == "send me everything\n"
                proc.stdin.write("one\n")
                proc.stdin.flush()
                time.sleep(0.3)  # the tool has seen the end of what the peer sends
                proc.stdin.write("two\n")
                proc.stdin.close()
                conn.settimeout(10)
                while chunk := conn.recv(100):
                    got.append(chunk)
            proc.wait(timeout=10)
            err = proc.stderr.read()
        finally:
            proc.kill()
            for f in (proc.stdin, proc.stdout, proc.stderr):
                f.close()
    assert b"".join(got) == b"one\ntwo\n"
    assert (proc.returncode, err) == (0, "")


def test_wait_ends_a_dgram_listener_that_stdin_left_after_a_quiet_spell(sockdir):
    address = str(sockdir / "quiet.sock")
    r = run("listen", address, "-k", "dgram", "-w", "0.2", input="", timeout=10)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert not os.path.exists(address)


@pytest.mark.parametrize("value", ["-1", "soon", "nan", ""])
def test_a_bad_wait_is_a_usage_error(value):
    r = run("connect", "@x", "-w", value, input="")
    assert r.returncode == 2
    assert r.stderr.splitlines()[0] == f"unixsock: bad wait '{value}' (seconds, like 2.5)"


def echo_peer(listener, kind, messages):
    """Accept one client and send back everything it sends, until it ends: the
    kind of peer (cat behind socat) that a relay deadlocks against when it blocks
    writing while the peer blocks writing back."""
    if messages:
        with listener.accept() as c:
            c.settimeout(30)
            while (m := c.recv_message()) is not None:
                with m:
                    c.send_message(m.data)
            return
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(30)
        # a small send buffer makes each reply wait for the tool to read it, so
        # the tool's unread input piles up on its side at once
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        while True:
            d = conn.recv(65536)
            if not d:  # the end (the input has no empty lines to send as empty packets)
                return
            conn.sendall(d)


@pytest.mark.parametrize("kind, messages", [("stream", False), ("seqpacket", False), ("stream", True)])
def test_connect_relays_more_than_the_socket_holds_to_an_echoing_peer(sockdir, kind, messages):
    # the tool wrote to the socket with no timeout while the peer, its buffer
    # full of replies nobody read, waited to write them: both stuck for ever
    p = str(sockdir / "cat.sock")
    if messages:
        listener = unixsock.listen(p)
        listener.settimeout(30)
        data = b"".join(b"line %d\n" % i for i in range(100000))
    else:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET if kind == "seqpacket" else socket.SOCK_STREAM)
        listener.bind(p)
        listener.listen()
        listener.settimeout(30)
        data = os.urandom(4 << 20) if kind == "stream" else b"".join(b"line %d\n" % i for i in range(100000))
    with listener:
        t = threading.Thread(target=echo_peer, args=(listener, kind, messages), daemon=True)
        t.start()
        r = subprocess.run([TOOL, "connect", p, "-k", kind] + (["--messages"] if messages else []),
                           input=data, capture_output=True, timeout=120)
        t.join(30)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_echo_server_keeps_serving_while_a_client_does_not_read(abstract, kind):
    # the server waited up to 5 s to write to a client that sent much and read
    # nothing, every other client waiting meanwhile, then dropped that client's
    # replies and closed it
    addr = abstract()
    prefix = b"Re: " + b"r" * 1000  # replies outgrow what the client sends
    srv = start("listen", addr, "-k", kind, "--echo=" + prefix.decode())
    try:
        wait_until_serving(addr)
        line = b"x" * 99 + b"\n"
        with unixsock.connect(addr, kind, timeout=5) as a, unixsock.connect(addr, kind, timeout=5) as b:
            a.settimeout(0)
            sent = 0
            while True:  # until the server stops taking what a sends
                try:
                    sent += a.send(line)
                except BlockingIOError:
                    break
            time.sleep(0.5)  # the server answers what it took of a's, until a's buffer is full
            b.settimeout(10)
            b.send(b"g1\n" if kind == "stream" else b"g1")
            assert b.recv(2000) == prefix + (b"g1\n" if kind == "stream" else b"g1")
            lines = sent // len(line)
            want = lines * (len(prefix) + len(line)) if kind == "stream" else lines
            a.settimeout(10)
            got = 0
            while got < want:
                d = a.recv(65536)
                assert d, f"closed after {got} of {want}"
                got += len(d) if kind == "stream" else 1
            assert got == want
    finally:
        out, err = stop(srv)
    assert srv.returncode == 0, err


def test_dgram_echo_goes_on_when_a_sender_left_before_its_reply(abstract):
    # the reply's ECONNREFUSED ended the whole server, said as a recv_message error
    addr = abstract()
    srv = start("listen", addr, "-k", "dgram", "--echo")
    try:
        wait_until_serving(addr)
        srv.send_signal(signal.SIGSTOP)  # so the sender is surely gone when it answers
        with unixsock.connect(addr, "dgram") as gone:
            gone.send(b"g1")
            gone_name = gone.local_address
        srv.send_signal(signal.SIGCONT)
        with unixsock.connect(addr, "dgram", timeout=10) as c:
            c.send(b"g2")
            assert c.recv(100) == b"Hi, g2"
        assert srv.poll() is None, "the server quit"
    finally:
        out, err = stop(srv)
    assert f"unixsock: reply to {gone_name}: Connection refused (ECONNREFUSED)" in err
    assert srv.returncode == 0, err


@pytest.mark.parametrize("name, shown", [("gone-café.sock", "gone-café.sock"),
                                         ("gone\tnow.sock", "gone\\x09now.sock")])
def test_a_sender_address_in_an_error_is_shown_as_it_is_but_control_bytes(sockdir, name, shown):
    # "café" was shown as "caf\xc3\xa9": every byte past ASCII was escaped
    addr = str(sockdir / "echo.sock")
    srv = start("listen", addr, "-k", "dgram", "--echo")
    try:
        wait_until_serving(addr)
        srv.send_signal(signal.SIGSTOP)
        with unixsock.bind(str(sockdir / name)) as gone:
            gone.sendto(b"g1", addr)
        srv.send_signal(signal.SIGCONT)
        with unixsock.connect(addr, "dgram", timeout=10) as c:  # its reply says the first one went
            c.send(b"g2")
            assert c.recv(100) == b"Hi, g2"
    finally:
        out, err = stop(srv)
    assert f"unixsock: reply to {sockdir}/{shown}: " in err


def test_hints_and_probe_show_an_address_as_the_error_line_does(sockdir):
    # the error line escaped control bytes, the hint below it and probe printed
    # them raw, so an address could move the cursor or recolour the terminal
    name = "f\x1b[1m"
    (sockdir / name).write_text("")
    path, shown = str(sockdir / name), f"{sockdir}/f\\x1b[1m"
    r = run("listen", path)
    assert r.stderr == (f"unixsock: listen {shown}: File exists (EEXIST)\n"
                        f"unixsock: {shown} is a regular file, which listen never replaces\n")
    r = run("connect", path)
    assert r.stderr.splitlines()[1] == f"unixsock: {shown} is a regular file, not a socket"
    r = run("probe", path)
    assert r.stdout == f"{shown} is a regular file, not a socket\n"
    r = run("connect", "@\x1b[31mred")
    assert r.stderr.splitlines()[1] == "unixsock: no socket holds @\\x1b[31mred"
    r = run("probe", "@\x1b[31mred")
    assert r.stdout == "@\\x1b[31mred: nothing there\n"


def start_dgram_listener(addr):
    """`unixsock listen ADDR -k dgram`, its stdin ours to write lines to."""
    proc = subprocess.Popen([TOOL, "listen", addr, "-k", "dgram"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            bufsize=1)
    wait_until_serving(addr)
    return proc


def heard_sender(proc, addr):
    """A dgram socket the listener has heard from, so the one its lines go to;
    bound and not connected, so the kernel's queue limit applies to them."""
    c = unixsock.bind("")
    c.settimeout(10)
    c.sendto(b"hello", addr)
    assert read_line(proc.stdout) == "hello\n"
    return c


def test_dgram_listener_goes_on_when_the_last_sender_left(abstract):
    # a line for a sender that has gone is reported and dropped; the next sender
    # gets the next line (the send error used to end the listener)
    addr = abstract()
    proc = start_dgram_listener(addr)
    try:
        with unixsock.connect(addr, "dgram") as gone:
            gone.send(b"first")
            gone_name = gone.local_address
            assert read_line(proc.stdout) == "first\n"  # heard: the one answered
        proc.stdin.write("for the one gone\n")
        proc.stdin.flush()
        assert read_line(proc.stderr) == (
            f"unixsock: send to {gone_name}: Connection refused (ECONNREFUSED)\n")
        with unixsock.connect(addr, "dgram", timeout=10) as c:
            c.send(b"second")
            assert read_line(proc.stdout) == "second\n"
            proc.stdin.write("for you\n")
            proc.stdin.flush()
            assert c.recv(100) == b"for you"
        assert proc.poll() is None, "the listener quit"
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err


def test_dgram_listener_says_when_the_last_sender_has_no_address(abstract):
    # `echo hi | socat - UNIX-SENDTO:...` sends from an unbound socket: a line
    # then went to the sender before it, or was "nobody to send to yet (no
    # datagram received)" when there was none, though one had come
    addr = abstract()
    proc = start_dgram_listener(addr)
    try:
        def unbound_says(data):
            with raw_socket("dgram") as unbound:
                unbound.sendto(data, "\0" + addr[1:])
            assert read_line(proc.stdout) == data.decode() + "\n"
            proc.stdin.write("a line for it\n")
            proc.stdin.flush()
            assert read_line(proc.stderr) == (
                "unixsock: the last sender has no address to answer (it did not bind one): "
                "line dropped\n")

        unbound_says(b"first")
        with heard_sender(proc, addr) as c:  # named: answered
            proc.stdin.write("for you\n")
            proc.stdin.flush()
            assert c.recv(100) == b"for you"
            unbound_says(b"then this one")  # the last sender: not c
        assert proc.poll() is None, "the listener quit"
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err


def test_dgram_listener_holds_lines_for_a_full_sender_and_loses_none(abstract):
    # the kernel queues only max_dgram_qlen datagrams from the listener for a
    # sender not connected to it; the lines past that wait for it to read, in order
    addr = abstract()
    lines = [f"line {i}" for i in range(100)]
    proc = start_dgram_listener(addr)
    try:
        with heard_sender(proc, addr) as c:  # heard: the one answered
            proc.stdin.write("".join(line + "\n" for line in lines))
            proc.stdin.flush()
            time.sleep(0.5)  # let its queue fill while nobody reads it
            got = [c.recv(100).decode() for _ in lines]
        assert got == lines
        assert proc.poll() is None
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err
    assert err == ""


def _wakeups(pid):
    """How many times the process has gone to sleep and been woken so far."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("voluntary_ctxt_switches"))


def test_dgram_listener_sleeps_while_its_last_sender_is_full(abstract):
    # it waits on a socket connected to that sender, which polls writable once
    # there is room; it used to wake every 10 ms to try again
    addr = abstract()
    proc = start_dgram_listener(addr)
    try:
        with heard_sender(proc, addr) as c:
            proc.stdin.write("".join(f"line {i}\n" for i in range(50)))
            proc.stdin.flush()
            time.sleep(0.3)  # it has filled the queue and waits
            before = _wakeups(proc.pid)
            time.sleep(1.0)
            assert _wakeups(proc.pid) - before < 20  # by timer: about 100
            assert [c.recv(100) for _ in range(50)] == [f"line {i}".encode() for i in range(50)]
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err


def _cpu_ticks(pid):
    """User and system CPU the process has used so far, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_dgram_listener_waits_for_its_own_send_buffer_without_spinning(abstract):
    # big lines fill the listener's own send buffer before the sender's queue
    # limit: the socket connected to the sender then polls ready at once, so it
    # must wait on its own socket first (waiting on the other one, it spun)
    addr = abstract()
    proc = start_dgram_listener(addr)
    try:
        with heard_sender(proc, addr) as c:
            line = "y" * 60000
            feed = threading.Thread(target=lambda: (proc.stdin.write((line + "\n") * 10),
                                                    proc.stdin.flush()), daemon=True)
            feed.start()  # more than a pipe holds: it waits for the listener to read
            time.sleep(0.3)  # it has filled its buffer and waits
            before = _cpu_ticks(proc.pid)
            time.sleep(1.0)
            assert _cpu_ticks(proc.pid) - before < 20  # spinning: about 100
            assert [c.recv(70000) for _ in range(10)] == [line.encode()] * 10
            feed.join(10)
    finally:
        out, err = stop(proc)
    assert proc.returncode == 0, err


@pytest.mark.parametrize("args, op", [(["listen", ""], "listen"), (["listen", "-k", "seqpacket", ""], "listen"),
                                      (["listen", "-k", "dgram", ""], "bind"), (["connect", ""], "connect"),
                                      (["connect", "-k", "dgram", ""], "connect")])
def test_an_empty_address_fails_saying_what_to_give(args, op):
    # EINVAL alone said nothing of why, and a dgram listen autobound to a name
    # nobody was told, waiting for ever
    r = run(*args, input="", timeout=5)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        f'unixsock: {op} "": Invalid argument (EINVAL)',
        "unixsock: an empty address names no socket: give a path, or @name for an abstract one"]


def send_and_close(listener, data, may_leave=False):
    """Accept one client, send it data, then close; may_leave: the client may
    close before it has all."""
    conn, _ = listener.accept()
    with conn:
        try:
            conn.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            if not may_leave:
                raise


F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, which Python 3.11 has on Linux but not before 3.10


@pytest.mark.parametrize("out", ["pipe", "slow pipe", "file"])
def test_a_stream_reaches_stdout_whole_and_in_order(sockdir, tmp_path, out):
    # into a pipe the relay splices (the kernel moves the data; when the pipe is
    # full it waits for the reader, as a write would), into anything else it
    # reads and writes: either way every byte, in order
    import fcntl

    p = str(sockdir / "source.sock")
    data = os.urandom(8 << 20)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(p)
    listener.listen()
    listener.settimeout(30)
    with listener:
        t = threading.Thread(target=send_and_close, args=(listener, data), daemon=True)
        t.start()
        if out == "file":
            with open(tmp_path / "out", "wb") as f:
                r = subprocess.run([TOOL, "connect", p], stdin=subprocess.DEVNULL, stdout=f,
                                   stderr=subprocess.PIPE, timeout=60)
            got = (tmp_path / "out").read_bytes()
        else:
            rd, wr = os.pipe()
            if out == "slow pipe":
                fcntl.fcntl(wr, F_SETPIPE_SZ, 4096)  # full at once, while the reader sleeps
            proc = subprocess.Popen([TOOL, "connect", p], stdin=subprocess.DEVNULL, stdout=wr,
                                    stderr=subprocess.PIPE)
            os.close(wr)
            chunks = []
            with os.fdopen(rd, "rb", buffering=0) as reader:
                while chunk := reader.read(65536):
                    chunks.append(chunk)
                    if out == "slow pipe" and len(chunks) < 20:
                        time.sleep(0.01)
            r = subprocess.CompletedProcess(proc.args, proc.wait(timeout=60), None, proc.stderr.read())
            proc.stderr.close()
            got = b"".join(chunks)
        t.join(30)
    assert (r.returncode, r.stderr) == (0, b"")
    assert len(got) == len(data) and got == data


def test_a_reader_that_stops_reading_ends_the_relay_quietly(sockdir):
    # like `unixsock connect ... | head -c 1000`: the pipe's reader leaves, the
    # relay's next write finds nobody there and it ends, with no error to report
    p = str(sockdir / "source.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(p)
    listener.listen()
    listener.settimeout(30)
    with listener:
        t = threading.Thread(target=send_and_close, args=(listener, os.urandom(16 << 20), True), daemon=True)
        t.start()
        rd, wr = os.pipe()
        proc = subprocess.Popen([TOOL, "connect", p], stdin=subprocess.DEVNULL, stdout=wr,
                                stderr=subprocess.PIPE)
        os.close(wr)
        with os.fdopen(rd, "rb", buffering=0) as reader:
            assert len(reader.read(1000)) > 0
        assert proc.wait(timeout=30) == 0
        assert proc.stderr.read() == b""
        proc.stderr.close()
        t.join(30)


def receive_all(listener, got, slow=False):
    """Accept one client and keep all it sends until it ends; slow: read little
    at first, so that the client finds the socket full."""
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(30)
        reads = 0
        while d := conn.recv(4096 if slow and reads < 50 else 1 << 20):
            got.append(d)
            reads += 1
            if slow and reads < 50:
                time.sleep(0.005)


@pytest.mark.parametrize("source", ["pipe", "pipe to a slow reader", "file", "file to a slow reader", "socket"])
def test_stdin_reaches_a_stream_whole_and_in_order(sockdir, tmp_path, source):
    # from a pipe the relay splices (the kernel moves the pipe's pages into the
    # socket; when the socket is full, stdin waits), from a file it sendfiles,
    # from anything else (a socket) it reads and sends: every byte, in order
    p = str(sockdir / "sink.sock")
    data = os.urandom(8 << 20)
    got = []
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(p)
    listener.listen()
    listener.settimeout(30)
    with listener:
        t = threading.Thread(target=receive_all, args=(listener, got, source.endswith("slow reader")),
                             daemon=True)
        t.start()
        if source.startswith("file"):
            (tmp_path / "in").write_bytes(data)
            with open(tmp_path / "in", "rb") as f:
                r = subprocess.run([TOOL, "connect", p], stdin=f, capture_output=True, timeout=60)
        elif source == "socket":
            ours, theirs = socket.socketpair()
            with ours, theirs:
                proc = subprocess.Popen([TOOL, "connect", p], stdin=theirs, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
                ours.sendall(data)
                ours.shutdown(socket.SHUT_WR)
                out, err = proc.communicate(timeout=60)
            r = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        else:
            r = subprocess.run([TOOL, "connect", p], input=data, capture_output=True, timeout=60)
        t.join(30)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    received = b"".join(got)
    assert len(received) == len(data) and received == data


def test_a_peer_that_leaves_while_stdin_still_has_data_is_a_send_error(sockdir):
    # stdin is a pipe still full when the peer closes without reading it all:
    # what is left can never go, and the tool says so
    p = str(sockdir / "gone.sock")

    def feed(pipe):
        try:
            for _ in range(64):  # far more than the socket and the pipe hold
                pipe.write(os.urandom(1 << 20))
        except BrokenPipeError:
            pass  # the tool ended: the rest could never go
        finally:
            try:
                pipe.close()
            except BrokenPipeError:
                pass

    with raw_socket("stream") as server:
        server.bind(p)
        server.listen()
        proc = subprocess.Popen([TOOL, "connect", p], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        feeder = threading.Thread(target=feed, args=(proc.stdin,), daemon=True)
        feeder.start()
        try:
            conn, _ = server.accept()
            conn.recv(1000)
            conn.close()  # unread data left behind: a reset, not an end of stream
            proc.wait(timeout=10)
            feeder.join(10)
            out, err = proc.stdout.read(), proc.stderr.read()
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
    assert proc.returncode == 1 and out == b""
    # whichever the tool meets first: its next send, or the reset its recv
    # reports, which says what it means
    assert re.fullmatch(rf"unixsock: (send|recv) {p}: (Broken pipe \(EPIPE\)\nunixsock: the peer closed its "
                        r"end, or shut down its reading: nothing more reaches it|Connection reset by peer "
                        r"\(ECONNRESET\)\nunixsock: the peer closed before reading all that this "
                        r"socket sent it)\n", err.decode()), err


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_a_stdout_that_cannot_take_what_arrives_is_an_error(sockdir, kind):
    # a full disk (here /dev/full) lost what arrived without a word, exit
    # status 0, as if the reader had left
    p = str(sockdir / "src.sock")
    with raw_socket(kind) as server:
        server.bind(p)
        server.listen()
        with open("/dev/full", "wb") as full:
            proc = subprocess.Popen([TOOL, "connect", p, "-k", kind], stdin=subprocess.DEVNULL, stdout=full,
                                    stderr=subprocess.PIPE, text=True)
        try:
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"lost?\n" if kind == "stream" else b"lost?")
                proc.wait(timeout=10)
            err = proc.stderr.read()
        finally:
            proc.kill()
            proc.wait()
            proc.stderr.close()
    assert proc.returncode == 1
    assert err == "unixsock: write to stdout: No space left on device (ENOSPC)\n"


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_sigterm_ends_a_listener_whose_stdout_nobody_reads(sockdir, kind):
    # it waited for room in stdout for ever, deaf to SIGTERM, its socket file
    # left behind (a stream's bytes are spliced into the pipe, a seqpacket's
    # messages written: both waits)
    p = str(sockdir / "deaf.sock")
    rd, wr = os.pipe()
    proc = subprocess.Popen([TOOL, "listen", p, "-k", kind], stdin=subprocess.DEVNULL, stdout=wr,
                            stderr=subprocess.PIPE, text=True)
    os.close(wr)
    try:
        wait_until_serving(p, proc)
        with unixsock.connect(p, kind, timeout=5) as c:
            c.settimeout(0)
            sent = 0
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # until the pipe and both buffers are full
                try:
                    sent += c.send(b"x" * 60000)
                except BlockingIOError:
                    time.sleep(0.2)
                    try:
                        c.send(b"x" * 60000)
                    except BlockingIOError:
                        break
            assert sent > 65536  # more than the pipe holds
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
        assert proc.stderr.read() == ""
        assert not os.path.exists(p)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
        os.close(rd)


def test_send_fd_passes_a_fifo_nobody_writes_to_yet(tmp_path):
    # opening it waited for a writer, holding the tool (and its peer) meanwhile
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with raw_socket("seqpacket") as server:
        server.bind(str(tmp_path / "s.sock"))
        server.listen()
        server.settimeout(10)
        r = run("connect", str(tmp_path / "s.sock"), "-k", "seqpacket", "--send-fd", str(fifo), "-w", "0",
                input="here\n", timeout=10)
        assert (r.returncode, r.stderr) == (0, "")
        conn, _ = server.accept()
        with conn:
            msg, fds, _, _ = socket.recv_fds(conn, 100, 1)
        assert msg == b"here" and len(fds) == 1
        with open(fifo, "wb") as w:  # a writer now: the passed end reads what it writes
            w.write(b"through the fifo")
        try:
            assert os.get_blocking(fds[0])  # blocking, as a plain open would have made it
            assert os.read(fds[0], 100) == b"through the fifo"
        finally:
            os.close(fds[0])


@pytest.mark.parametrize("opened, error", [
    (("/", os.O_RDONLY), "Is a directory (EISDIR)"),
    # a file, moved by the kernel (sendfile): its EBADF was said as the socket's
    ((None, os.O_WRONLY | os.O_CREAT), "Bad file descriptor (EBADF)"),
])
def test_a_stdin_that_cannot_be_read_is_an_error(sockdir, tmp_path, opened, error):
    # a directory on stdin was taken for an empty input: nothing sent, and the
    # tool waited for the peer to close, then exit status 0
    p = str(sockdir / "dst.sock")
    path, flags = opened
    with raw_socket("stream") as server:
        server.bind(p)
        server.listen()
        stdin = os.open(path or tmp_path / "out", flags)
        try:
            r = run("connect", p, stdin=stdin)
        finally:
            os.close(stdin)
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == f"unixsock: read from stdin: {error}\n"


def close_fds(*fds):
    return lambda: [os.close(fd) for fd in fds]


def test_an_echo_server_with_stdout_and_stderr_closed_does_not_spin(sockdir):
    # the signal pipe took descriptors 1 and 2: --show-peer's line went into it,
    # and the server, woken for a signal that was not one, polled at full speed
    p = str(sockdir / "echo.sock")
    proc = subprocess.Popen([TOOL, "listen", p, "--echo", "--show-peer"],
                            stdin=subprocess.DEVNULL, preexec_fn=close_fds(1, 2))
    try:
        wait_until_serving(p, proc)
        with raw_socket("stream") as c:
            c.connect(p)
            c.settimeout(10)
            c.sendall(b"g1\n")
            assert c.recv(100) == b"Hi, g1\n"
        before = _cpu_ticks(proc.pid)
        time.sleep(1)
        spent = _cpu_ticks(proc.pid) - before
        assert proc.poll() is None
        assert spent < os.sysconf("SC_CLK_TCK") // 4  # idle, not a core's worth
    finally:
        proc.terminate()
        proc.wait(timeout=10)

def test_an_echo_server_out_of_descriptors_waits_for_a_client_to_leave_without_spinning(sockdir):
    # accept failing with EMFILE leaves the connection queued and the listener
    # readable: the server watched it at full CPU, without a word
    p = str(sockdir / "echo.sock")
    proc = subprocess.Popen([TOOL, "listen", p, "--echo"], stdin=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16)))
    clients = []
    try:
        wait_until_serving(p, proc)
        for _ in range(20):  # more than it has descriptors for: the last ones queue
            clients.append(raw_socket("stream"))
            clients[-1].settimeout(10)
            clients[-1].connect(p)
        time.sleep(0.3)
        before = _cpu_ticks(proc.pid)
        time.sleep(1)
        assert _cpu_ticks(proc.pid) - before < os.sysconf("SC_CLK_TCK") // 4  # spinning: all of it
        for c in clients[:-1]:  # they leave: the last one is taken and answered
            c.close()
        clients[-1].sendall(b"g1\n")
        assert clients[-1].recv(100) == b"Hi, g1\n"
    finally:
        for c in clients:
            c.close()
        out, err = stop(proc)
    assert err.count(f"unixsock: accept {p}: Too many open files (EMFILE)\n"
                     "unixsock: this process holds as many descriptors as its limit allows (RLIMIT_NOFILE, "
                     "ulimit -n: 16)\n"
                     "unixsock: the next clients wait until one leaves\n") == 1, err


@pytest.mark.parametrize("stdio, error", [
    # the signal pipe or the socket itself took the number: the relay read its
    # own socket as stdin and waited for ever
    ("closed stdin", "read from stdin"),
    # never readable to poll: the relay waited until the peer closed
    ("write-only pipe as stdin", "read from stdin"),
    ("closed stdout", "write to stdout"),
    # what arrived was taken from the peer, then could not be written
    ("read-only stdout", "write to stdout"),
])
def test_a_stdin_or_stdout_a_relay_cannot_use_is_said_before_connecting(sockdir, stdio, error):
    p = str(sockdir / "dst.sock")
    rfd, wfd = os.pipe()
    ro = os.open("/etc/hostname", os.O_RDONLY)
    kw = {"closed stdin": dict(stdin=subprocess.DEVNULL, preexec_fn=close_fds(0)),
          "write-only pipe as stdin": dict(stdin=wfd),
          "closed stdout": dict(stdin=rfd, preexec_fn=close_fds(1)),
          "read-only stdout": dict(stdin=rfd, stdout=ro)}[stdio]
    with raw_socket("stream") as server:
        server.bind(p)
        server.listen()
        try:
            proc = subprocess.Popen([TOOL, "connect", p], stderr=subprocess.PIPE, text=True,
                                    **{"stdout": subprocess.PIPE, **kw})
            try:
                out, err = proc.communicate(timeout=10)
            finally:
                proc.kill()
                proc.communicate()
        finally:
            for fd in (rfd, wfd, ro):
                os.close(fd)
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected
    assert proc.returncode == 1 and out in ("", None)
    assert err == f"unixsock: {error}: Bad file descriptor (EBADF)\n"

