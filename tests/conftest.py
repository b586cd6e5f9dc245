"""Fixtures shared by every suite pytest drives."""
import os
import pathlib
import select
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def copy_tracked_sources(dst: pathlib.Path) -> pathlib.Path:
    """The files git tracks, copied to dst: the tree a fresh clone has, without
    what earlier builds left in this one."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        if (ROOT / name).is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            (dst / name).write_bytes((ROOT / name).read_bytes())
    return dst


def build_dir() -> pathlib.Path:
    """Where CMake built the C tests, tools and Lua module (scripts/build.sh)."""
    return pathlib.Path(os.environ.get("UNIXSOCK_BUILD_DIR", ROOT / "build" / "cmake")).resolve()


# What a service manager does, in bash: the socket at fd FD copied to fds 3..N+2,
# LISTEN_PID the pid that runs the command (exec keeps it), and the command run.
_ACTIVATE = r'''
exec 200<&"$FD"; eval "exec $FD<&-"
for ((i = 3; i < 3 + N; i++)); do eval "exec $i<&200"; done
exec 200<&-
export LISTEN_PID=$$ LISTEN_FDS=${LISTEN_FDS:-$N}
exec "$@"
'''


def run_activated(listener, n, command, **env):
    """Run command with listener passed n times, as fds 3..n+2; its result."""
    fd = listener.fileno()
    env = dict(os.environ, FD=str(fd), N=str(n), **env)
    env.pop("LISTEN_FDNAMES", None)
    return subprocess.run(["bash", "-c", _ACTIVATE, "activate", *command], env=env,
                          pass_fds=(fd,), capture_output=True, text=True, timeout=60)


SOCKET_TYPES = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM,
                "seqpacket": socket.SOCK_SEQPACKET}


def raw_socket(kind: str) -> socket.socket:
    """An AF_UNIX socket of the socket module (a peer nobody here wrote) of kind."""
    return socket.socket(socket.AF_UNIX, SOCKET_TYPES[kind])


def heard_from_another_pid_namespace(command, address: str, data: bytes, env=None):
    """Run command, a dgram server that prints "ready" once bound to address (an
    "@name") and then what it received, in a pid namespace of its own (unshare
    --pid: as a server in a container is to the host); send it data from here
    with a socket-module socket.  Returns its (stdout, stderr) once it ends."""
    p = subprocess.Popen(["unshare", "--pid", "--fork", *command], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n", p.stderr.read()
        with raw_socket("dgram") as c:
            c.sendto(data, "\0" + address[1:])
        return p.communicate(timeout=20)
    finally:
        if p.poll() is None:  # it failed before its answer: end it, read what it said
            p.kill()
            p.communicate()


# /proc/net/unix: the flag a listening socket has, and the kind that needs none
_SO_ACCEPTCON = 0x10000
_SOCK_DGRAM = 2


def serving(name: str) -> bool:
    """Whether a socket bound to name (a path, or "@abstract") takes clients now:
    listening for stream and seqpacket, bound for dgram."""
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            fields = line.rstrip("\n").split(None, 7)
            if len(fields) == 8 and fields[7] == name:
                if int(fields[3], 16) & _SO_ACCEPTCON or int(fields[4], 16) == _SOCK_DGRAM:
                    return True
    return False


def wait_until_serving(name: str, proc=None, timeout: float = 10.0):
    """Wait for a server started in another process.  Waiting for its file
    alone raced: bind() creates the file before listen(), and a client that
    connects in between is refused."""
    deadline = time.monotonic() + timeout
    while not serving(name):
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing served {name} within {timeout} s")
        time.sleep(0.01)


def read_line(stream, timeout: float = 30.0) -> str:
    """The next line a running process writes to a pipe (stdout or stderr), once it
    has, without hanging the test if none comes ("" then): a fixed sleep before
    reading or stopping it raced a loaded machine."""
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else ""


@pytest.fixture
def sockdir():
    """A fresh, short directory for socket files (sun_path is 108 bytes, so the
    long pytest tmp_path is avoided), removed afterwards."""
    d = tempfile.mkdtemp(prefix="us-", dir="/tmp")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def abstract(request):
    """A factory of abstract names unique to this process and test."""
    n = [0]

    def make(tag: str = "") -> str:
        n[0] += 1
        return f"@unixsock-py-{os.getpid()}-{request.node.name[:40]}-{tag}{n[0]}"

    return make


@pytest.fixture
def full_receiver(abstract):
    """(rx, tx, address): a dgram receiver at address whose queue tx (bound,
    not connected, timeout 0) has filled; closed afterwards."""
    import unixsock

    address = abstract("full")
    with unixsock.bind(address) as rx, unixsock.bind("") as tx:
        tx.settimeout(0)
        with pytest.raises(BlockingIOError):
            for _ in range(1000):  # net.unix.max_dgram_qlen, 10 by default
                tx.sendto(b"fill", address)
        yield rx, tx, address


def _open_fds():
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture(autouse=True)
def no_fd_leak():
    """Fail any test that leaves a descriptor open."""
    import gc

    before = _open_fds()
    yield
    gc.collect()
    leaked = _open_fds() - before
    # the listing's own descriptor is gone by the time we compare
    leaked = {fd for fd in leaked if os.path.exists(f"/proc/self/fd/{fd}")}
    details = {fd: os.readlink(f"/proc/self/fd/{fd}") for fd in leaked if os.path.exists(f"/proc/self/fd/{fd}")}
    assert not details, f"test leaked file descriptors: {details}"
