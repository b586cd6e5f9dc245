"""Addresses: paths, abstract names (exact length, NUL bytes), autobind, long
paths, too-long paths."""
import errno
import os
import socket

import pytest

import unixsock


def echo_once(addr, kind="stream"):
    with unixsock.listen(addr, kind) as l, unixsock.connect(addr, kind, timeout=5) as c:
        l.settimeout(5)
        with l.accept() as s:
            c.send(b"abc")
            assert s.recv(10) == b"abc"
            assert l.local_address == addr
            assert c.peer_address == addr
            assert s.local_address == addr  # an accepted connection: its listener's


def test_absolute_path(sockdir):
    echo_once(str(sockdir / "abs.sock"))
    assert not (sockdir / "abs.sock").exists()


def test_relative_path(sockdir, monkeypatch):
    monkeypatch.chdir(sockdir)
    echo_once("rel.sock", "seqpacket")
    assert not (sockdir / "rel.sock").exists()


def test_bytes_address(sockdir):
    p = os.fsencode(sockdir / "bytes.sock")
    with unixsock.listen(p) as l:
        assert l.local_address == os.fsdecode(p)


def test_non_utf8_path(sockdir):
    p = os.fsencode(sockdir) + b"/caf\xe9.sock"
    with unixsock.listen(p) as l, unixsock.connect(p):
        assert os.fsencode(l.local_address) == p
    assert not os.path.exists(p)


def test_abstract_name_has_exact_length(abstract):
    addr = abstract()
    with unixsock.listen(addr) as l:
        padded = b"\0" + addr[1:].encode() + b"\0" * 10
        with socket.socket(socket.AF_UNIX) as s:
            with pytest.raises(ConnectionRefusedError):
                s.connect(padded)
            s2 = socket.socket(socket.AF_UNIX)
            s2.connect(b"\0" + addr[1:].encode())  # Python's exact-length form
            s2.close()
        assert l.local_address == addr


def test_abstract_name_with_nul_bytes(abstract):
    addr = abstract() + "\0with\0nuls"
    echo_once(addr)


def test_at_alone_is_the_empty_abstract_name(abstract):
    """A `socket` bound to b"\\0" (Linux's abstract name of no bytes) sends; its
    address comes back as "@" and the reply to "@" reaches it."""
    addr = abstract()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as peer, unixsock.bind(addr) as srv:
        peer.bind(b"\0")
        peer.settimeout(5)
        peer.sendto(b"hi", b"\0" + addr[1:].encode())
        data, sender = srv.recvfrom(10)
        assert (data, sender) == (b"hi", "@")
        srv.sendto(b"back", sender)
        assert peer.recv(10) == b"back"
    echo_once("@", "seqpacket")


def test_an_abstract_name_is_held_per_kind(abstract, sockdir):
    # docs/c-api.md: of another kind, an abstract name is nobody (ECONNREFUSED),
    # a path a socket of the wrong kind (EPROTOTYPE)
    addr = abstract()
    path = str(sockdir / "k.sock")
    with unixsock.listen(addr, "stream"), unixsock.bind(addr, "dgram"), unixsock.bind(path, "dgram"):
        with unixsock.connect(addr, "stream", timeout=5), unixsock.connect(addr, "dgram"):
            pass
        with pytest.raises(ConnectionRefusedError) as e:
            unixsock.connect(addr, "seqpacket", timeout=5)
        assert e.value.filename == addr
        with pytest.raises(OSError) as e:
            unixsock.connect(path, "seqpacket", timeout=5)
        assert e.value.errno == errno.EPROTOTYPE


def test_autobind_gets_unique_reachable_name():
    with unixsock.bind("") as a, unixsock.bind() as b:
        assert a.local_address.startswith("@") and len(a.local_address) == 6
        assert a.local_address != b.local_address
        b.sendto(b"x", a.local_address)
        data, sender = a.recvfrom(10)
        assert (data, sender) == (b"x", b.local_address)


def test_recvfrom_reports_unnamed_sender_as_empty(abstract):
    addr = abstract()
    with unixsock.bind(addr) as srv, socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.sendto(b"y", b"\0" + addr[1:].encode())
        assert srv.recvfrom(10) == (b"y", "")


def _long_dir(base):
    d = str(base)
    while len(d) < 150:
        d += "/a-rather-long-directory-name"
        os.mkdir(d)
    return d


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_long_path_works_through_the_directory(sockdir, kind):
    p = _long_dir(sockdir) + "/long.sock"
    assert len(p) > 108
    echo_once(p, kind)
    assert not os.path.exists(p)


def test_a_long_path_listener_s_connection_still_names_its_client(sockdir):
    # the connection took its listener's name so that local_address is not the
    # /proc/self/fd alias, and then named that where its client's name belongs:
    # as its peer_address (for a client bound through such an alias of its own),
    # and in errors (for a client bound at any name)
    d = _long_dir(sockdir)
    p = d + "/long.sock"
    long_dir, short_dir = (os.open(x, os.O_RDONLY | os.O_DIRECTORY) for x in (d, sockdir))
    named, aliased = str(sockdir / "client.sock"), f"/proc/self/fd/{short_dir}/aliased.sock"
    try:
        with unixsock.listen(p) as listener:
            listener.settimeout(5)
            for bound in (named, aliased):
                with socket.socket(socket.AF_UNIX) as c:
                    c.bind(bound)
                    c.connect(f"/proc/self/fd/{long_dir}/long.sock")
                    with listener.accept() as conn:
                        assert conn.local_address == p
                        assert conn.peer_address == bound
                        c.close()
                        with pytest.raises(BrokenPipeError) as e:
                            conn.send(b"x" * 100000)
                        assert e.value.filename == bound
    finally:
        os.close(long_dir)
        os.close(short_dir)


def test_long_path_dgram(sockdir):
    p = _long_dir(sockdir) + "/long-dgram.sock"
    with unixsock.bind(p) as srv, unixsock.connect(p, "dgram") as c:
        c.send(b"hey")
        data, sender = srv.recvfrom(10)
        assert data == b"hey"
        srv.sendto(b"back", sender)
        assert c.recv(10) == b"back"
        assert srv.local_address == p


def test_path_too_long_is_enametoolong_never_truncated(sockdir):
    p = str(sockdir) + "/" + "y" * 150
    for call in (lambda: unixsock.listen(p), lambda: unixsock.connect(p), lambda: unixsock.bind(p)):
        with pytest.raises(OSError) as e:
            call()
        assert e.value.errno == errno.ENAMETOOLONG
        assert e.value.filename == p
    assert os.listdir(sockdir) == []
    with pytest.raises(OSError) as e:
        unixsock.listen("@" + "z" * 120)
    assert e.value.errno == errno.ENAMETOOLONG


def test_nul_in_path_is_einval(sockdir):
    with pytest.raises(OSError) as e:
        unixsock.listen(str(sockdir) + "/a\0b")
    assert e.value.errno == errno.EINVAL


def test_address_type_is_checked():
    with pytest.raises(TypeError):
        unixsock.connect(42)


def _notes(call):
    """The notes of the OSError that call raised."""
    with pytest.raises(OSError) as e:
        call()
    return e.value.errno, getattr(e.value, "__notes__", [])


def test_a_refused_address_says_what_is_there(sockdir, abstract):
    # ECONNREFUSED, EPROTOTYPE, EEXIST and ENOENT said nothing of what was at the
    # address (a regular file, a socket of another kind, a missing directory):
    # core's explanation is a second note, as the CLI prints it
    f = sockdir / "file"
    f.write_text("data")
    path, name = str(sockdir / "dgram.sock"), abstract()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as other, \
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as held, \
            unixsock.bind("", "dgram") as me:
        other.bind(path)
        held.bind("\0" + name[1:])
        for call, err, op, note in [
                (lambda: unixsock.connect(str(f)), errno.ECONNREFUSED, "connect",
                 f"{f} is a regular file, not a socket"),
                (lambda: unixsock.connect(path, "seqpacket", timeout=5), errno.EPROTOTYPE, "connect",
                 f"{path} is a dgram socket, not a seqpacket one"),
                (lambda: unixsock.connect(name, timeout=5), errno.ECONNREFUSED, "connect",
                 f"no stream socket holds {name}; a dgram socket does"),
                (lambda: unixsock.listen(str(f)), errno.EEXIST, "listen",
                 f"{f} is a regular file, which listen never replaces"),
                (lambda: unixsock.bind(name, "dgram"), errno.EADDRINUSE, "bind",
                 f"{name} is in use by a dgram socket"),
                (lambda: unixsock.listen(str(sockdir / "gone" / "a.sock")), errno.ENOENT, "listen",
                 f"the directory {sockdir / 'gone'} does not exist"),
                (lambda: me.sendto(b"x", str(f)), errno.ECONNREFUSED, "sendto",
                 f"{f} is a regular file, not a socket"),
                (lambda: me.send_message(b"x", address=str(f)), errno.ECONNREFUSED, "send_message",
                 f"{f} is a regular file, not a socket"),
                (lambda: me.send_batch([(b"x", [], False, str(f))]), errno.ECONNREFUSED, "send_batch",
                 f"{f} is a regular file, not a socket"),
                (lambda: unixsock.connect(""), errno.EINVAL, "connect",
                 "an empty address names no socket: give a path, or @name for an abstract one"),
                (lambda: unixsock.connect("/tmp/a\0b"), errno.EINVAL, "connect",
                 "a path cannot hold a NUL byte (an abstract @name can)"),
                (lambda: unixsock.listen(b"\0name"), errno.EINVAL, "listen",  # socket's spelling
                 "an abstract name is written @name here, not with a leading NUL byte")]:
            assert _notes(call) == (err, [f"in unixsock.{op}", note])
    assert f.read_text() == "data"


def test_an_error_the_errno_says_all_of_has_one_note(sockdir):
    # nothing at a path whose directory is there: "No such file or directory"
    assert _notes(lambda: unixsock.connect(str(sockdir / "none.sock"))) == (
        errno.ENOENT, ["in unixsock.connect"])


def test_a_name_too_long_says_which_limit(sockdir):
    # "File name too long" did not say which limit the name broke
    long_path = f"{sockdir}/" + "d" * 150 + "/a.sock"
    with unixsock.bind("", "dgram") as me:
        for call, note in [
                (lambda: unixsock.listen("@" + "a" * 108),
                 "an abstract name holds at most 107 bytes after the @; this one has 108"),
                (lambda: unixsock.listen(f"{sockdir}/" + "o" * 100),
                 "a socket file's own name (after the last /) holds at most about 90 bytes; "
                 "this one has 100 (the directories before it may be as long as you like)"),
                (lambda: me.send_message(b"x", address=long_path),
                 f"a message's address holds at most 112 bytes; this one has {len(long_path)} "
                 "(sendto takes a longer path)")]:
            with pytest.raises(OSError) as e:
                call()
            assert e.value.errno == errno.ENAMETOOLONG
            assert e.value.__notes__[1:] == [note]


def test_a_connect_that_timed_out_says_the_backlog_is_full(abstract):
    # "Connection timed out" alone: the kernel makes a connect wait only while
    # the listener's backlog is full
    a = abstract()
    with socket.socket(socket.AF_UNIX) as srv:
        srv.bind("\0" + a[1:])
        srv.listen(0)
        with unixsock.connect(a, timeout=5):  # fills the backlog of one
            with pytest.raises(TimeoutError) as e:
                unixsock.connect(a, timeout=0.05)
    assert e.value.__notes__ == [
        "in unixsock.connect",
        f"the stream socket at {a} listens, but did not take the connection in time: its backlog "
        "of connections waiting for accept is full (its server accepts too slowly, or not at all)"]


def test_a_dgram_send_that_timed_out_says_the_receiver_does_not_read(abstract):
    a = abstract()
    with unixsock.bind(a, "dgram"), unixsock.bind("", "dgram") as me:
        me.settimeout(0.02)
        with pytest.raises(TimeoutError) as e:
            while True:
                me.sendto(b"x", a)
    with open("/proc/sys/net/unix/max_dgram_qlen") as f:
        qlen = int(f.read())
    assert e.value.__notes__ == [
        "in unixsock.sendto",
        f"the dgram socket at {a} did not take the datagram in time: it has not read those "
        f"before it (the kernel queues {qlen} per receiver: net.unix.max_dgram_qlen)"]
