"""The socket-file rules through the binding."""
import errno
import fcntl
import os
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

import unixsock


def make_stale(path):
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()


def test_live_server_is_eaddrinuse(sockdir):
    p = str(sockdir / "live.sock")
    with unixsock.listen(p):
        ino = os.lstat(p).st_ino
        for kind in ("stream", "seqpacket"):
            with pytest.raises(OSError) as e:
                unixsock.listen(p, kind)
            assert e.value.errno == errno.EADDRINUSE
            assert e.value.filename == p
        with pytest.raises(OSError) as e:
            unixsock.bind(p)
        assert e.value.errno == errno.EADDRINUSE
        assert os.lstat(p).st_ino == ino


def test_live_server_in_another_process_is_eaddrinuse(sockdir):
    p = str(sockdir / "other.sock")
    child = subprocess.Popen(
        [sys.executable, "-c", f"import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind({p!r}); s.listen(); print('up', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout.readline() == b"up\n"
        with pytest.raises(OSError) as e:
            unixsock.listen(p)
        assert e.value.errno == errno.EADDRINUSE
    finally:
        child.stdin.close()
        child.wait()
        child.stdout.close()


@pytest.mark.parametrize("kind", ["stream", "seqpacket", "dgram"])
def test_stale_socket_file_is_replaced(sockdir, kind):
    p = sockdir / "stale.sock"
    make_stale(p)
    s = unixsock.bind(str(p)) if kind == "dgram" else unixsock.listen(str(p), kind)
    with s, unixsock.connect(str(p), kind):
        pass


def _untouched(p, make):
    make(p)
    before = os.lstat(p)
    for call in (lambda: unixsock.listen(str(p)), lambda: unixsock.bind(str(p))):
        with pytest.raises(FileExistsError) as e:
            call()
        assert e.value.filename == str(p)
    after = os.lstat(p)
    assert (after.st_ino, after.st_mode, after.st_size) == (before.st_ino, before.st_mode, before.st_size)


def test_regular_file_is_never_deleted(sockdir):
    _untouched(sockdir / "f.txt", lambda p: p.write_bytes(b"precious"))
    assert (sockdir / "f.txt").read_bytes() == b"precious"


def test_directory_is_never_deleted(sockdir):
    _untouched(sockdir / "d", os.mkdir)


def test_fifo_is_never_deleted(sockdir):
    _untouched(sockdir / "fifo", os.mkfifo)


def test_symlink_to_file_is_never_deleted(sockdir):
    (sockdir / "target").write_bytes(b"t")
    _untouched(sockdir / "link", lambda p: os.symlink(sockdir / "target", p))
    assert (sockdir / "target").read_bytes() == b"t"


def test_close_unlinks_only_its_own_inode(sockdir):
    p = str(sockdir / "s.sock")
    old = unixsock.listen(p)
    os.unlink(p)
    with unixsock.listen(p) as newer:
        ino = os.lstat(p).st_ino
        old.close()
        assert os.lstat(p).st_ino == ino
    assert not os.path.exists(p)


def test_adopted_listener_is_never_unlinked(sockdir):
    p = str(sockdir / "a.sock")
    with unixsock.listen(p) as l:
        a = unixsock.adopt(os.dup(l.fileno()))
        a.close()
        assert os.path.exists(p)
    assert not os.path.exists(p)


@pytest.mark.parametrize("mode", [0o600, 0o660, 0o666, 0o700])
def test_mode_is_exact(sockdir, mode):
    p = str(sockdir / "m.sock")
    old = os.umask(0o077)
    try:
        with unixsock.listen(p, mode=mode):
            assert stat.S_IMODE(os.lstat(p).st_mode) == mode
    finally:
        os.umask(old)


@pytest.mark.parametrize("field", ["uid", "gid"])
@pytest.mark.parametrize("value", [2**40, 2**32 - 1, 2**32 + 65534])
def test_owner_beyond_uid_t_is_einval(sockdir, field, value):
    # 2**40 was cut to uid 0 (root owned the file); 2**32 - 1 silently meant "leave"
    p = str(sockdir / "o.sock")
    with pytest.raises(OSError) as e:
        unixsock.listen(p, **{field: value})
    assert e.value.errno == errno.EINVAL and e.value.filename == p
    assert not os.path.exists(p)


@pytest.mark.parametrize("make", [unixsock.listen, unixsock.bind])
@pytest.mark.parametrize("option, value, why", [
    # mode=-1 silently meant "the umask decides" (C's value for "not given"); the
    # others were a bare "Invalid argument" that named no option
    ("mode", -1, "mode must be 0 to 4095 (octal 7777)"),
    ("mode", 0o10000, "mode must be 0 to 4095 (octal 7777)"),
    ("mode", 2**40, "mode must be 0 to 4095 (octal 7777)"),
    ("uid", -2, "uid must be 0 to 4294967294"),
    ("gid", 2**32 - 1, "gid must be 0 to 4294967294"),
])
def test_bad_option_is_einval_naming_it(sockdir, make, option, value, why):
    p = str(sockdir / "bad.sock")
    with pytest.raises(OSError) as e:
        make(p, **{option: value})
    assert (e.value.errno, e.value.strerror, e.value.filename) == (errno.EINVAL, why, p)
    assert e.value.__notes__ == [f"in unixsock.{make.__name__}"]
    assert not os.path.exists(p)


ABSTRACT_GUARD = "(allow_uids and allow_gids limit who connects)"


@pytest.mark.parametrize("make, address, options, why", [
    # each was ignored: the caller believed the socket closed to other users
    (unixsock.listen, "@file-options", {"mode": 0o600},
     "mode sets a socket file's permissions, and an abstract name has no file " + ABSTRACT_GUARD),
    (unixsock.bind, "@file-options", {"uid": 0},
     "uid and gid set a socket file's owner, and an abstract name has no file " + ABSTRACT_GUARD),
    (unixsock.bind, "", {"mode": 0o600},
     "mode sets a socket file's permissions, and an empty address has no file"),
])
def test_file_options_on_an_address_without_a_file_are_einval(make, address, options, why):
    with pytest.raises(OSError) as e:
        make(address, **options)
    assert (e.value.errno, e.value.strerror, e.value.filename) == (errno.EINVAL, why, address)


def test_negative_backlog_is_einval_naming_it(sockdir):
    p = str(sockdir / "bad.sock")
    with pytest.raises(OSError) as e:
        unixsock.listen(p, backlog=-5)
    assert (e.value.errno, e.value.strerror) == (errno.EINVAL, "backlog must be 0 to 2147483647")
    assert not os.path.exists(p)


def test_bind_error_says_bind(sockdir):
    # it said "in unixsock.listen": bind and listen share one entry in the binding
    with pytest.raises(FileNotFoundError) as e:
        unixsock.bind(str(sockdir / "missing" / "d.sock"))
    assert e.value.__notes__ == ["in unixsock.bind",
                                 f"the directory {sockdir / 'missing'} does not exist"]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root (CI runs as root)")
def test_owner_and_group(sockdir):
    p = str(sockdir / "o.sock")
    with unixsock.listen(p, uid=65534, gid=65534, mode=0o660):
        st = os.lstat(p)
        assert (st.st_uid, st.st_gid) == (65534, 65534)


def test_a_listener_waits_for_another_to_finish_starting(sockdir):
    # Listeners started at once on one stale path: one found another's new socket
    # in the instant between its bind and its listen (connect refused, "stale"),
    # deleted it and bound its own, and the other server lived on unreachable
    # (3 rounds in 100 with six processes).  A listener holds the directory's
    # flock from bind to listen; this test plays such a listener, caught in that
    # instant.
    p = str(sockdir / "turns.sock")
    other = socket.socket(socket.AF_UNIX)
    other.bind(p)  # bound, not listening yet: to a connect, it looks stale
    turn = os.open(sockdir, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(turn, fcntl.LOCK_EX)
    result = []

    def start():
        try:
            result.append(unixsock.listen(p))
        except OSError as e:
            result.append(e)

    t = threading.Thread(target=start)
    t.start()
    time.sleep(0.3)  # long enough for listen to have reached the file (old code)
    other.listen()
    os.close(turn)
    t.join(10)
    with other:
        if isinstance(result[0], unixsock.Socket):
            os.close(result[0].detach())  # the file at p is not its to remove
        assert isinstance(result[0], OSError) and result[0].errno == errno.EADDRINUSE, result
        with unixsock.connect(p, timeout=5):
            other.settimeout(5)
            other.accept()[0].close()  # the first server is still the one reached


def test_a_directory_flock_held_by_someone_else_does_not_stop_listen(sockdir):
    # the turn is only waited for a while: flock(1) on the directory around a
    # whole command must not hang the listeners that command starts
    turn = os.open(sockdir, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(turn, fcntl.LOCK_EX)
    try:
        with unixsock.listen(str(sockdir / "locked.sock")) as l:
            assert l.local_address.endswith("locked.sock")
    finally:
        os.close(turn)
