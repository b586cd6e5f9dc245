"""The examples' echo servers and clients, in every language, talk to each
other over every kind: the seeds' sessions ("Hi, g1" ...)."""
import contextlib
import os
import signal
import socket
import subprocess
import types

import pytest

from conftest import raw_socket, wait_until_serving
from examples import LANGUAGES, command, lua_env

KINDS = ["stream", "dgram", "seqpacket"]
# a line longer than any 4 KiB buffer goes whole: the C clients sent it in
# 4 KiB pieces, each answered on its own, and the C dgram server refused it
LINES = ["g1", "g2", "g3", "with spaces and ünïcode", "long " + "x" * 10000]


def expected_client_output(kind, client):
    out = []
    for line in LINES:
        if kind == "dgram" and client != "CLI":  # the seeds' dgram client says what it sends
            out.append(f"now sending {line}")
        out.append(f"Hi, {line}")
    return out


def stop(proc):
    """SIGTERM, as a person's Ctrl-C would be; a signal that lands between two
    calls of an example's loop is only seen at its next blocking call, so ask
    again (as that person would) rather than kill and leave the file behind."""
    for _ in range(20):
        proc.terminate()
        try:
            return proc.communicate(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue
    proc.kill()
    return proc.communicate()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("client", list(LANGUAGES))
@pytest.mark.parametrize("server", list(LANGUAGES))
def test_echo(server, client, kind, sockdir):
    path = str(sockdir / "echo.sock")
    srv = subprocess.Popen(command(server, kind, "server", path), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=lua_env())
    try:
        wait_until_serving(path, srv)
        r = subprocess.run(command(client, kind, "client", path), input="\n".join(LINES) + "\n",
                           capture_output=True, text=True, timeout=30, env=lua_env())
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines() == expected_client_output(kind, client)
    finally:
        out, err = stop(srv)
    if server != "CLI":  # the examples log what they receive, as the seeds do
        received = [l for l in out.splitlines() if l.startswith("Receive:")]
        assert received == [f"Receive: {l}" for l in LINES], out + err
    assert not os.path.exists(path), "the server left its socket file behind"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_client_to_missing_server_fails_with_enoent(lang, sockdir):
    path = str(sockdir / "missing.sock")
    r = subprocess.run(command(lang, "stream", "client", path), input="g1\n",
                       capture_output=True, text=True, timeout=30, env=lua_env())
    assert r.returncode != 0
    assert "No such file or directory" in r.stderr
    assert path in r.stderr


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_clients_and_servers_say_what_is_at_a_refused_address(lang, kind, sockdir):
    # "Connection refused" and "File exists" alone, for a regular file where
    # the socket was expected: which did not say that it was not a socket
    f = sockdir / "file"
    f.write_text("data")
    for role, said in [("client", f"{f} is a regular file, not a socket"),
                       ("server", f"{f} is a regular file, which "
                                  f"{'bind' if kind == 'dgram' else 'listen'} never replaces")]:
        r = subprocess.run(command(lang, kind, role, str(f)), input="g1\n",
                           capture_output=True, text=True, timeout=30, env=lua_env())
        assert r.returncode != 0
        assert said in r.stderr, (role, r.stderr)
    assert f.read_text() == "data"


@pytest.mark.parametrize("server", list(LANGUAGES))
def test_stream_servers_answer_a_long_line_whole(server, sockdir):
    # the C server dropped a line longer than its 4 KiB buffer without a word,
    # and the CLI answered it in 4 KiB pieces, each with its own "Hi, "
    path = str(sockdir / "echo.sock")
    srv = subprocess.Popen(command(server, "stream", "server", path), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=lua_env())
    try:
        wait_until_serving(path, srv)
        line = os.urandom(30000).hex().encode() + b"\n"  # 60,000 bytes
        with socket.socket(socket.AF_UNIX) as c:
            c.settimeout(30)
            c.connect(path)
            c.sendall(line + b"g1\n")
            want = b"Hi, " + line + b"Hi, g1\n"
            got = b""
            while len(got) < len(want):
                d = c.recv(65536)
                assert d, got[-100:]
                got += d
        assert got == want
    finally:
        stop(srv)


@pytest.mark.parametrize("server", list(LANGUAGES))
def test_stream_servers_answer_a_line_over_64_kib_in_the_same_pieces(server, sockdir):
    # The C server and the CLI answer each 64 KiB of a longer line as it fills
    # their buffer; the Python and Lua servers kept the whole line (no bound on
    # what a client makes them hold) and searched all of it again for each 4 KiB
    # that came, so a 1 MB line took the Lua one over a second, 10 MB minutes.
    path = str(sockdir / "echo.sock")
    piece = 65536
    line = b"x" * (3 * piece + 3392) + b"\n"
    want = 3 * (b"Hi, " + b"x" * piece) + b"Hi, " + b"x" * 3392 + b"\n" + b"Hi, g1\n"
    log = sockdir / "server.log"  # what it prints is more than a pipe holds
    with open(log, "w") as out:
        srv = subprocess.Popen(command(server, "stream", "server", path), stdout=out,
                               stderr=subprocess.STDOUT, env=lua_env())
    try:
        wait_until_serving(path, srv)
        with _client("stream", path, line + b"g1\n") as c:
            c.shutdown(socket.SHUT_WR)
            c.settimeout(30)
            got = b""
            while d := c.recv(1 << 20):
                got += d
        assert got == want, (len(got), got.count(b"Hi, "))
        _still_serving(srv, "stream", path)
    finally:
        stop(srv)
    assert srv.returncode == 0, log.read_text()[-2000:]


@pytest.mark.parametrize("server", list(LANGUAGES))
def test_stream_servers_answer_a_last_line_without_newline(server, sockdir):
    # `printf hello | socat - UNIX-CONNECT:...` got no answer: what came after the
    # last newline was dropped at end of stream (the seeds' server answers it)
    path = str(sockdir / "echo.sock")
    with _serving(server, "stream", path) as run:
        with _client("stream", path, b"g1\nno newline") as c:
            c.shutdown(socket.SHUT_WR)
            c.settimeout(30)
            got = b""
            while d := c.recv(100):
                got += d
        assert got == b"Hi, g1\nHi, no newline"
        _still_serving(run.srv, "stream", path)
    assert run.srv.returncode == 0, run.err


def _client(kind, path, data, sndbuf=None):
    """A raw socket of kind that has sent data to the server at path (on dgram
    from an autobound address, so the server can answer it)."""
    s = raw_socket(kind)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    if kind == "dgram":
        s.bind("")
        s.sendto(data, path)
    else:
        s.connect(path)
        s.sendall(data)
    return s


@contextlib.contextmanager
def _serving(server, kind, path):
    """server's echo server of kind running at path; afterwards (stopped) its
    output is in .out and .err."""
    run = types.SimpleNamespace(out=None, err=None)
    run.srv = subprocess.Popen(command(server, kind, "server", path), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=lua_env())
    try:
        wait_until_serving(path, run.srv)
        yield run
    finally:
        run.out, run.err = stop(run.srv)


def _still_serving(srv, kind, path):
    """The server at path answers a new client."""
    end = b"\n" if kind == "stream" else b""
    with _client(kind, path, b"g2" + end) as c:
        c.settimeout(30)
        assert c.recv(100) == b"Hi, g2" + end
    assert srv.poll() is None, srv.communicate()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("server", list(LANGUAGES))
def test_servers_go_on_when_a_client_left_before_its_reply(server, kind, sockdir):
    # a reply to a client that had gone (EPIPE, ECONNREFUSED) ended the Python
    # and Lua servers, and the CLI's dgram echo, instead of that client alone
    path = str(sockdir / "echo.sock")
    with _serving(server, kind, path) as run:
        run.srv.send_signal(signal.SIGSTOP)  # so the client is surely gone when it answers
        try:
            _client(kind, path, b"g1\n" if kind == "stream" else b"g1").close()
        finally:
            run.srv.send_signal(signal.SIGCONT)
        _still_serving(run.srv, kind, path)
    # and it said why that one reply went nowhere
    assert ("Connection refused" if kind == "dgram" else "Broken pipe") in run.err, run.err


@pytest.mark.parametrize("client", list(LANGUAGES))
@pytest.mark.parametrize("server", list(LANGUAGES))
def test_stream_clients_send_a_line_of_a_megabyte_and_print_its_answer(server, client, sockdir):
    # The servers answer a long line 64 KiB at a time while it is still coming.
    # The clients sent the whole line before reading: once the answers filled
    # their receive buffer and the server's send buffer, the server stopped
    # reading, the client's send stopped too, and after 10 s the client failed
    # with ETIMEDOUT (the Lua one with a stack trace). Only the CLI got through.
    path = str(sockdir / "echo.sock")
    n = 1_000_000
    log = sockdir / "server.log"
    with open(log, "w") as out:
        srv = subprocess.Popen(command(server, "stream", "server", path), stdout=out,
                               stderr=subprocess.STDOUT, env=lua_env())
    try:
        wait_until_serving(path, srv)
        r = subprocess.run(command(client, "stream", "client", path), input=b"x" * n + b"\ng1\n",
                           capture_output=True, timeout=60, env=lua_env())
        assert r.returncode == 0, r.stderr.decode(errors="replace")
        pieces, rest = divmod(n, 65536)
        assert r.stdout == pieces * (b"Hi, " + b"x" * 65536) + b"Hi, " + b"x" * rest + b"\nHi, g1\n"
    finally:
        stop(srv)


def test_clients_give_up_on_a_server_that_never_answers(sockdir):
    # the C stream client waited for ever (Python's, Lua's and the other C
    # clients give up after 10 s); every language's client of every kind runs
    # at once, so the test waits those 10 s only once
    servers, clients = [], {}
    try:
        for kind in KINDS:
            for lang in ("C", "Python", "Lua"):
                path = str(sockdir / f"{lang}-{kind}.sock")
                s = raw_socket(kind)
                servers.append(s)
                s.bind(path)
                if kind != "dgram":
                    s.listen()  # and never accept: the kernel completes the connect
                proc = clients[lang, kind] = subprocess.Popen(
                    command(lang, kind, "client", path), stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=lua_env())
                proc.stdin.write("g1\n")
                proc.stdin.flush()  # stdin stays open: only the reply is missing
        for who, proc in clients.items():
            out, err = proc.communicate(timeout=30)
            assert proc.returncode != 0, (who, out, err)
            assert "timed out" in err, (who, err)
    finally:
        for proc in clients.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        for s in servers:
            s.close()


@pytest.mark.parametrize("server", list(LANGUAGES))
def test_dgram_servers_say_when_a_sender_has_no_address_to_answer(server, sockdir):
    # `echo hello | socat - UNIX-SENDTO:PATH` sends from an unbound socket: only
    # the C server said why no answer came, the others dropped it without a word
    path = str(sockdir / "echo.sock")
    with _serving(server, "dgram", path) as run:
        with raw_socket("dgram") as unbound:
            unbound.sendto(b"g1", path)
        _still_serving(run.srv, "dgram", path)
    assert "sender has no address to answer" in run.err, run.err


@pytest.mark.parametrize("kind", ["dgram", "seqpacket"])
@pytest.mark.parametrize("server", list(LANGUAGES))
def test_servers_go_on_after_a_message_too_long_for_them(server, kind, sockdir):
    # the Python and Lua dgram servers quit on a datagram over their 64 KiB
    # buffer (EMSGSIZE), instead of refusing that one
    path = str(sockdir / "echo.sock")
    with _serving(server, kind, path) as run:
        _client(kind, path, b"x" * 100000, sndbuf=1 << 20).close()
        _still_serving(run.srv, kind, path)
    if server != "CLI":  # it sizes each message exactly, and so takes this one
        assert "Message too long" in run.err, run.err  # and it said why it refused that one


@pytest.mark.parametrize("role", ["server", "client"])
@pytest.mark.parametrize("lang", ["C", "Python", "Lua"])
def test_examples_answer_a_bad_command_line_with_their_usage_and_status_2(lang, role, sockdir):
    # the Python examples exited 1, and a kind they did not know was a traceback
    # in Python and Lua alike
    good = command(lang, "stream", role, str(sockdir / "x.sock"))
    bad = [good[:-1] + ["raw"]] if lang != "C" else []  # the C programs take no kind
    for argv in [good[:-2] if lang != "C" else good[:1], good + ["extra"], *bad]:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=30, env=lua_env())
        assert (r.returncode, r.stdout) == (2, ""), (argv, r.stderr)
        assert r.stderr.startswith("usage: "), (argv, r.stderr)
    assert not os.listdir(sockdir)
