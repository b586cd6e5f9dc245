"""Peer identity, allow-lists and socket activation through Python."""
import errno
import os
import pwd
import subprocess
import sys
import textwrap

import pytest

import unixsock
from conftest import heard_from_another_pid_namespace, run_activated

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another uid")


def test_peer_of_pair_is_this_process():
    a, b = unixsock.pair()
    with a, b:
        p = a.peer()
        assert (p.pid, p.uid, p.gid) == (os.getpid(), os.geteuid(), os.getegid())
        assert p.pidfd is None
        p = a.peer(pidfd=True)
        if p.pidfd is not None:
            os.close(p.pidfd)


def test_peer_of_dgram_is_enotconn():
    with unixsock.bind() as d:
        with pytest.raises(OSError) as e:
            d.peer()
        assert e.value.errno == errno.ENOTCONN


@pytest.mark.parametrize("kind", ["stream", "seqpacket"])
def test_peer_of_a_listener_is_enotconn_not_its_own_identity(kind, abstract):
    with unixsock.listen(abstract(), kind) as l:
        with pytest.raises(OSError) as e:
            l.peer()
        assert e.value.errno == errno.ENOTCONN


def _in_child_as(uid, code):
    """Run code in a child process as uid (with groups 4242, 4343)."""
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.setgroups([4242, 4343])
            os.setgid(uid)
            os.setuid(uid)
            status = code() or 0
        finally:
            os._exit(status)
    return pid


@root_only
def test_peer_across_fork_as_another_uid(abstract):
    addr = abstract()
    with unixsock.listen(addr) as l:
        l.settimeout(5)

        def child():
            c = unixsock.connect(addr, timeout=5)
            c.recv(1)

        pid = _in_child_as(65534, child)
        with l.accept() as s:
            p = s.peer()
            assert (p.pid, p.uid, p.gid) == (pid, 65534, 65534)
            assert set(p.groups) == {4242, 4343}
        os.waitpid(pid, 0)


@root_only
def test_attached_credentials_are_the_effective_ids_read_afresh_and_added_ones_the_real_ids():
    # what docs/c-api.md says of a set-uid sender: creds=True names its effective
    # ids (as peer() does), the ones the kernel adds by itself its real ids
    a, b = unixsock.pair("seqpacket")
    with a, b:
        a.send_message(b"prime", creds=True)  # this process's ids, before the fork
        with b.recv_message() as m:  # SO_PASSCRED is on from here
            assert tuple(m.creds) == (os.getpid(), 0, 0)
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.setresgid(65533, 0, 0)
                os.setresuid(65534, 0, 0)
                a.send_message(b"attached", creds=True)
                a.send_message(b"added")
                os.setresuid(-1, 65534, -1)  # and the ids are read afresh, never cached
                a.send_message(b"after seteuid", creds=True)
                status = 0
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert status == 0  # exited, with 0
        got = []
        for _ in range(3):
            with b.recv_message() as m:
                got.append((m.data, tuple(m.creds)))
        assert got == [(b"attached", (pid, 0, 0)), (b"added", (pid, 65534, 65533)),
                       (b"after seteuid", (pid, 65534, 0))]


@root_only
def test_allow_list_refuses_other_uids(sockdir):
    path = str(sockdir / "allow.sock")
    with unixsock.listen(path, mode=0o666, allow_uids=[0]) as l:
        l.settimeout(1.5)

        def child():
            c = unixsock.connect(path, timeout=5)
            c.settimeout(5)
            return 0 if c.recv(1) == b"" else 1

        pid = _in_child_as(65534, child)
        with pytest.raises(TimeoutError):
            l.accept()
        _, status = os.waitpid(pid, 0)
        assert status == 0  # exited, with 0
        assert l.refused == 1
        with unixsock.connect(path), l.accept():
            pass


@root_only
@pytest.mark.parametrize("field, ids, error, text", [
    ("allow_uids", [0, -1], ValueError, "allow_uids[1] must be a uid/gid (0 to 4294967294), not -1"),
    ("allow_gids", [1 << 32], ValueError,
     "allow_gids[0] must be a uid/gid (0 to 4294967294), not 4294967296"),
    # (uid_t)-1 admits no one (it was taken, unlike an owner uid of it)
    ("allow_uids", [5, 2**32 - 1], ValueError,
     "allow_uids[1] must be a uid/gid (0 to 4294967294), not 4294967295"),
    ("allow_uids", ["0"], TypeError, "allow_uids[0] must be an int (a uid/gid), not str"),
    ("allow_gids", 5, TypeError, "allow_gids must be a sequence of ints, not int"),
])
def test_a_bad_allow_list_says_which_entry(abstract, field, ids, error, text):
    # it was "can't convert negative value to unsigned int" (OverflowError), naming neither
    for open_ in (unixsock.listen, unixsock.bind):
        with pytest.raises(error) as e:
            open_(abstract(), **{field: ids})
        assert str(e.value) == text


def test_dgram_allow_list_drops_other_uids(abstract):
    addr = abstract()
    with unixsock.bind(addr, allow_gids=[0]) as srv:
        def child():
            unixsock.connect(addr, "dgram").send(b"nobody")

        pid = _in_child_as(65534, child)
        os.waitpid(pid, 0)
        with unixsock.connect(addr, "dgram") as me:
            me.send(b"root")
        assert srv.recv(100) == b"root"
        assert srv.refused == 1


def test_listen_fds_in_a_child(sockdir):
    path = str(sockdir / "activated.sock")
    with unixsock.listen(path) as l:
        code = textwrap.dedent(f"""
            import os, unixsock
            # what a service manager does: the socket at fd 3, the variables set
            if int(os.environ["FD"]) != 3:
                os.dup2(int(os.environ["FD"]), 3)
                os.close(int(os.environ["FD"]))
            os.environ["LISTEN_PID"] = str(os.getpid())
            fds = unixsock.listen_fds()
            assert "LISTEN_FDS" not in os.environ
            [(fd, name, sock, err)] = fds
            assert (fd, name, err) == (3, "api", 0), fds
            sock.settimeout(5)
            with sock.accept() as c:
                c.send(b"activated")
            sock.close()
        """)
        fd = l.fileno()
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES="api", LISTEN_PID="0", FD=str(fd))
        child = subprocess.Popen([sys.executable, "-c", code], env=env, pass_fds=(fd,))
        with unixsock.connect(path, timeout=5) as c:
            c.settimeout(5)
            assert c.recv(100) == b"activated"
        assert child.wait(timeout=10) == 0
        assert os.path.exists(path)  # the adopted listener never unlinks


def test_listen_fds_reports_every_fd_passed_past_64(sockdir):
    # the binding asked for at most 64 entries: the 65th and later sockets were
    # never reported (and stayed open, unseen)
    code = textwrap.dedent("""
        import unixsock
        fds = unixsock.listen_fds()
        assert [f.fd for f in fds] == list(range(3, 73)), [f.fd for f in fds]
        assert all(f.errno == 0 and f.socket is not None for f in fds)
        assert fds[-1].socket.fileno() == 72 and fds[-1].socket.kind == "stream"
        for f in fds:
            f.socket.close()
    """)
    with unixsock.listen(str(sockdir / "many.sock")) as l:
        done = run_activated(l, 70, [sys.executable, "-c", code])
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("count", ["99999", "1O"])  # over the most; garbled (it was [])
def test_listen_fds_with_a_count_no_service_manager_writes_says_so(sockdir, count):
    code = textwrap.dedent("""
        import errno, os, unixsock
        try:
            unixsock.listen_fds()
        except OSError as e:
            assert (e.errno, e.strerror) == (errno.EINVAL, "LISTEN_FDS must be 0 to 32767"), e
            assert "LISTEN_FDS" not in os.environ  # unset as asked, even so
        else:
            raise AssertionError("no error")
    """)
    with unixsock.listen(str(sockdir / "over.sock")) as l:
        done = run_activated(l, 1, [sys.executable, "-c", code], LISTEN_FDS=count)
    assert done.returncode == 0, done.stderr


@root_only
def test_credentials_from_a_pid_namespace_out_of_sight_keep_their_ids(abstract):
    # a server in a container hears the host's processes as pid 0, but their uid
    # and gid are real: they came as creds=None, and an allow list refused them
    addr = abstract()
    server = textwrap.dedent(f"""
        import unixsock
        with unixsock.bind({addr!r}, allow_uids=[{os.getuid()}]) as s:
            s.settimeout(10)
            print("ready", flush=True)
            with s.recv_message() as m:
                print(m.data.decode(), tuple(m.creds), flush=True)
    """)
    out, err = heard_from_another_pid_namespace([sys.executable, "-c", server], addr, b"from outside")
    assert out == f"from outside (0, {os.getuid()}, {os.getgid()})\n", err


def as_nobody(fn):
    """fn() in a child that dropped to uid and gid 65534, with this process's
    unixsock already loaded (the repository may sit where nobody cannot read,
    as /root is); what it printed."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.close(r)
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(w, "\n".join(fn()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0, out
    return out.splitlines()


@root_only
def test_permission_denied_says_which_file_refused_and_why(sockdir):
    # "Permission denied" alone: a directory on the way, the socket file, or the
    # directory it would be made in? A second note says which, and why
    private = sockdir / "private"
    private.mkdir(mode=0o700)
    hidden, closed = str(private / "app.sock"), str(sockdir / "closed.sock")

    def notes():
        said = []
        for call in (lambda: unixsock.connect(closed), lambda: unixsock.connect(hidden),
                     lambda: unixsock.bind(str(sockdir / "new.sock")),
                     lambda: unixsock.bind().sendto(b"x", closed)):
            try:
                call()
            except PermissionError as e:
                said.append(e.__notes__[1])
        return said

    with unixsock.listen(closed, mode=0o600), unixsock.bind(hidden):
        said = as_nobody(notes)
    me = f"uid 65534 ({pwd.getpwuid(65534).pw_name})"
    assert said == [
        f"{me} may not write to {closed} (owner root:root mode 0600)",
        f"{me} may not search {private} (owner root:root mode 0700)",
        f"{me} may not create files in {sockdir} (owner root:root mode 0755)",
        f"{me} may not write to {closed} (owner root:root mode 0600)",
    ]
