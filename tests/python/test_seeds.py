"""The errors the seed documents show, with their errno, through Python."""
import errno
import os

import pytest

import unixsock


def test_connect_to_missing_path_is_filenotfounderror(sockdir):
    p = str(sockdir / "unixstream.sock")
    with pytest.raises(FileNotFoundError) as e:
        unixsock.connect(p)
    assert e.value.errno == errno.ENOENT
    assert e.value.filename == p
    assert "connect" in " ".join(getattr(e.value, "__notes__", []))


def test_connect_to_stale_file_is_connectionrefused(sockdir):
    p = str(sockdir / "stale.sock")
    l = unixsock.listen(p)
    os.close(l.detach())  # gone without cleanup: the file stays, stale
    with pytest.raises(ConnectionRefusedError):
        unixsock.connect(p)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another uid")
def test_bind_in_unwritable_directory_is_permissionerror(sockdir):
    d = sockdir / "var-lib"
    d.mkdir(mode=0o755)
    p = str(d / "unixstream.sock")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                unixsock.listen(p)
            except PermissionError as e:
                code = 0 if e.errno == errno.EACCES else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert status == 0  # exited, with 0
    assert not os.path.exists(p)


def test_stream_client_to_dgram_server_is_eprototype(sockdir):
    p = str(sockdir / "unixdata.sock")
    with unixsock.bind(p):
        for kind in ("stream", "seqpacket"):
            with pytest.raises(OSError) as e:
                unixsock.connect(p, kind)
            assert e.value.errno == errno.EPROTOTYPE


def test_client_exit_makes_server_recv_return_empty(sockdir):
    p = str(sockdir / "quit.sock")
    with unixsock.listen(p) as l:
        pid = os.fork()
        if pid == 0:
            c = unixsock.connect(p)
            c.send(b"g1\n")
            os._exit(0)
        l.settimeout(5)
        with l.accept() as s:
            s.settimeout(5)
            assert s.recv(10) == b"g1\n"
            assert s.recv(10) == b""
        os.waitpid(pid, 0)
