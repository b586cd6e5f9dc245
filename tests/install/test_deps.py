"""scripts/deps.sh, which the README's two commands run first: it names every
Debian package the build needs.  Run as a user who cannot install (it then
prints the apt-get line and fails), with a python3 made to lack one thing."""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import ROOT

def run_as_nobody(path_first, home):
    """deps.sh as uid 65534, from a copy it can read (the tree may be under /root)."""
    deps = home / "deps.sh"
    shutil.copy(ROOT / "scripts" / "deps.sh", deps)
    deps.chmod(0o755)
    env = {"PATH": f"{path_first}:{os.environ['PATH']}", "HOME": str(home)}
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", str(deps)],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def shared_dir():
    """A directory the unprivileged user can reach (pytest's tmp_path is root's alone)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="unixsock-deps-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d)


def python_without_headers(root):
    """The system python3, made to have an include directory with no Python.h, as
    on a fresh Debian 12 without python3-dev (this machine's has its headers)."""
    bin_dir = root / "bin"
    site = root / "site"
    bin_dir.mkdir()
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sysconfig\n"
        "_paths = sysconfig.get_paths\n"
        "sysconfig.get_paths = lambda *a, **k: dict(_paths(*a, **k), include='/nonexistent')\n")
    python = bin_dir / "python3"
    python.write_text(f"#!/bin/sh\nPYTHONPATH={site} exec /usr/bin/python3 \"$@\"\n")
    python.chmod(0o755)
    return bin_dir


def test_deps_finds_everything_on_this_machine(shared_dir):
    r = run_as_nobody(shared_dir, shared_dir)
    assert r.returncode == 0, r.stderr


def test_deps_names_python3_dev_when_python_h_is_missing(shared_dir):
    # a fresh Debian 12 has python3 without its headers: pip install . then
    # failed on "Python.h: No such file or directory" after deps.sh said all was there
    r = run_as_nobody(python_without_headers(shared_dir), shared_dir)
    assert r.returncode == 1
    line = r.stderr.splitlines()[-1]
    assert line.startswith("  apt-get update && apt-get install -y --no-install-recommends "), r.stderr
    assert line.split()[7:] == ["python3-dev"], r.stderr
