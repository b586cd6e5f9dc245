"""cppcheck over every C source of the project (core, Lua module, CLI, examples,
benchmarks, tests, fuzz targets): no warning, portability or performance finding."""
import subprocess

from conftest import ROOT

SOURCES = ["core/src", "lua", "cli", "examples", "bench/c", "tests/c", "tests/fuzz"]


def test_cppcheck_finds_nothing():
    r = subprocess.run(
        ["cppcheck", "--quiet", "--enable=warning,portability,performance", "--inline-suppr", "--std=c11",
         "--error-exitcode=1", "-Icore/include", "-Icore/src", *SOURCES],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
