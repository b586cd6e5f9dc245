"""Fixtures shared by every suite pytest drives."""
import os
import pathlib
import shutil
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def build_dir() -> pathlib.Path:
    """Where CMake built the C tests, tools and Lua module (scripts/build.sh)."""
    return pathlib.Path(os.environ.get("UNIXSOCK_BUILD_DIR", ROOT / "build" / "cmake")).resolve()


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
