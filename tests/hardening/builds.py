"""Extra builds the hardening suites need, made once per session under build/."""
import os
import pathlib
import subprocess

from conftest import ROOT

_made = {}


def cmake_build(name, *options, env=None):
    """Configure and build ROOT into build/<name> with the given -D options."""
    if name in _made:
        return _made[name]
    out = ROOT / "build" / name
    e = dict(os.environ, **(env or {}))
    r = subprocess.run(["cmake", "-S", str(ROOT), "-B", str(out), "-DCMAKE_BUILD_TYPE=Debug", *options],
                       capture_output=True, text=True, env=e)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["cmake", "--build", str(out), f"-j{os.cpu_count() or 2}"], capture_output=True,
                       text=True, env=e)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    _made[name] = out
    return out


def c_test_programs(build: pathlib.Path):
    progs = sorted((build / "tests" / "c").glob("test_*"))
    return [p for p in progs if p.is_file() and os.access(p, os.X_OK)]
