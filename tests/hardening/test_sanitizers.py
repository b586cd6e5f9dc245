"""The C tests and the Lua specs under AddressSanitizer + UndefinedBehaviorSanitizer,
and the C tests under valgrind memcheck: 0 errors, 0 leaks."""
import os
import pathlib
import subprocess

import pytest

from builds import c_test_programs, cmake_build
from conftest import ROOT

OFF = ["-DUNIXSOCK_BUILD_BENCH=OFF", "-DUNIXSOCK_BUILD_CLI=OFF"]


@pytest.fixture(scope="module")
def asan_build():
    return cmake_build("asan", "-DUNIXSOCK_SANITIZE=ON", *OFF)


def test_c_tests_under_asan_and_ubsan(asan_build):
    progs = c_test_programs(asan_build)
    assert len(progs) >= 10
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    failures = []
    for p in progs:
        r = subprocess.run([str(p)], capture_output=True, text=True, timeout=600, env=env)
        if r.returncode != 0 or "runtime error" in r.stderr or "Sanitizer" in r.stderr:
            failures.append(f"{p.name}:\n{r.stdout[-2000:]}{r.stderr[-4000:]}")
    assert not failures, "\n".join(failures)


def test_lua_specs_under_asan_and_ubsan(asan_build):
    libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    libubsan = subprocess.run(["gcc", "-print-file-name=libubsan.so"], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, LD_PRELOAD=f"{libasan} {libubsan}",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",  # lua5.4 itself is not instrumented
               UBSAN_OPTIONS="halt_on_error=1", LUA_CPATH=f"{asan_build / 'lua'}/?.so;;",
               LUA_PATH=f"{ROOT / 'tests' / 'lua'}/?.lua;;")
    r = subprocess.run(["lua5.4", "/usr/bin/busted", "--no-auto-insulate", "."], cwd=ROOT / "tests" / "lua",
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert " 0 failures / 0 errors" in r.stdout
    assert "runtime error" not in r.stderr


# valgrind keeps its own RLIMIT_NOFILE and never lowers the kernel's, so the
# kernel cannot be made to truncate descriptors (MSG_CTRUNC) or refuse an accept
# (EMFILE) under it; those tests run under ASan above and in the plain suite.
NOT_UNDER_VALGRIND = {"test_ctrunc_closes_every_fd_that_arrived", "test_accept_out_of_fds_recovers_when_fds_free_up"}


def test_c_tests_under_valgrind_memcheck():
    build = cmake_build("valgrind", "-DUNIXSOCK_BUILD_LUA=OFF", *OFF)
    failures = []
    for p in c_test_programs(build):
        names = subprocess.run([str(p), "--list"], capture_output=True, text=True, check=True).stdout.split()
        names = [n for n in names if n not in NOT_UNDER_VALGRIND]
        r = subprocess.run(
            ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
             "--trace-children=yes", "--trace-children-skip=*/sh,*/rm,*/dash,*/bash", "--track-fds=no", str(p), *names],
            capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            failures.append(f"{p.name} (exit {r.returncode}):\n{r.stdout[-2000:]}{r.stderr[-4000:]}")
    assert not failures, "\n".join(failures)
