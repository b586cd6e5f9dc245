"""The helpers the interop suites start servers with."""
import socket
import subprocess
import sys

from conftest import serving, wait_until_serving

# binds, then waits before listening: the window in which a client that only
# waited for the file was refused (a C echo server in CI, once)
SLOW_LISTENER = """
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
time.sleep(0.5)
s.listen()
s.accept()[0].close()
"""


def test_a_server_is_waited_for_until_it_listens_not_until_its_file_appears(sockdir):
    path = str(sockdir / "slow.sock")
    srv = subprocess.Popen([sys.executable, "-c", SLOW_LISTENER, path])
    try:
        wait_until_serving(path, srv)
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(path)
    finally:
        srv.wait(timeout=10)
    assert srv.returncode == 0


def test_a_bound_datagram_socket_serves_and_a_bound_stream_one_does_not(sockdir, abstract):
    dgram = str(sockdir / "d.sock")
    name = abstract()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as d, socket.socket(socket.AF_UNIX) as s:
        d.bind(dgram)
        s.bind("\0" + name[1:])
        assert serving(dgram)
        assert not serving(name)
        s.listen()
        assert serving(name)
