"""The benchmarks run (tiny counts), so they never rot.  No timing is asserted:
speed is measured by bench/run.py, never by a test."""
import os
import subprocess
import sys

from conftest import ROOT, build_dir


def test_every_benchmark_runs():
    env = dict(os.environ, UNIXSOCK_BUILD_DIR=str(build_dir()))
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke"], capture_output=True,
                       text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    for title in ("Round trip, stream, 64 B", "Round trip, seqpacket, 4096 B", "busy-polling",
                  "One-way message rate, dgram", "Bulk stream, 1024 KiB writes", "fd passing, seqpacket",
                  "fd passing, seqpacket, one fd per message, two CPUs", "Concurrent echo clients"):
        assert title in r.stdout, title
    scale = r.stdout.split("Concurrent echo clients")[1]
    rows = [l.split("|") for l in scale.splitlines() if l.startswith("| 1")]
    assert rows and all(row[3].strip() == "0" for row in rows)  # errors column: must be 0


def test_only_runs_the_tables_it_names():
    env = dict(os.environ, UNIXSOCK_BUILD_DIR=str(build_dir()))
    run = lambda *args: subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), *args],
                                       capture_output=True, text=True, timeout=300, env=env)
    # (two cheap tables: the callgrind ones take half a minute, and the test
    # above runs them all already)
    r = run("--smoke", "--only", "fd passing, dgram|One-way message rate, dgram")
    assert r.returncode == 0, r.stderr[-3000:]
    titles = [l for l in r.stdout.splitlines() if l.startswith("### ")]
    assert titles == ["### One-way message rate, dgram, 64 B, one CPU",
                      "### fd passing, dgram, one fd per message, one CPU"]
    r = run("--only", "x", "--write-docs")  # a partial run must not replace the published one
    assert r.returncode == 2 and "--write-docs needs every table" in r.stderr
