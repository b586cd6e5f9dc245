"""The README's demo runs and shows the three languages talking."""
import os
import subprocess
import sys

from conftest import ROOT, build_dir


def test_demo_shows_three_languages_and_credentials():
    env = dict(os.environ, UNIXSOCK_BUILD_DIR=str(build_dir()))
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py")], capture_output=True,
                       text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for header in ("=== stream: Python server; C and Lua clients ===",
                   "=== dgram: C server; Python and Lua clients ===",
                   "=== seqpacket: Lua server; C and Python clients ==="):
        assert header in out
    assert out.count("Hi, g3") >= 6
    assert out.count(f"uid={os.geteuid()}") >= 8  # both sides see each other's credentials
    assert "fd 1 of 1: this text travelled as an open file descriptor" in out
    assert "(ENOENT)" in out and "(EPROTOTYPE)" in out
