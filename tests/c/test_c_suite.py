"""Runs the C test programs (tests/c/test_*.c, built by CMake) one test per
pytest item, so a single runner reports every suite."""
import os
import subprocess

import pytest

from conftest import build_dir

SOURCES = sorted(
    f[:-2] for f in os.listdir(os.path.dirname(__file__)) if f.startswith("test_") and f.endswith(".c")
)


def _cases():
    cases = []
    for prog in SOURCES:
        exe = build_dir() / "tests" / "c" / prog
        if not exe.exists():
            # a missing binary is a failure, never a skip
            cases.append(pytest.param(prog, None, id=f"{prog}::NOT-BUILT"))
            continue
        names = subprocess.run([str(exe), "--list"], check=True, capture_output=True, text=True).stdout.split()
        cases += [pytest.param(prog, n, id=f"{prog}::{n}") for n in names]
    return cases


@pytest.mark.parametrize("prog,name", _cases())
def test_c(prog, name):
    exe = build_dir() / "tests" / "c" / prog
    assert name is not None, f"{exe} was not built: run scripts/build.sh"
    r = subprocess.run([str(exe), name], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{prog} {name} failed:\n{r.stdout}{r.stderr}"
