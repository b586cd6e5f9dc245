"""The C tests, the Lua specs, the Python tests and the command-line tool's tests
under AddressSanitizer + UndefinedBehaviorSanitizer, the C tests under valgrind memcheck (0 errors, 0
leaks), and the tests of threads sharing a handle under ThreadSanitizer (0 races)."""
import os
import pathlib
import subprocess
import sys
import zipfile

import pytest

from builds import c_test_programs, cmake_build
from conftest import ROOT, copy_tracked_sources

OFF = ["-DUNIXSOCK_BUILD_BENCH=OFF", "-DUNIXSOCK_BUILD_CLI=OFF"]


@pytest.fixture(scope="module")
def asan_build():
    return cmake_build("asan", "-DUNIXSOCK_SANITIZE=ON", "-DUNIXSOCK_BUILD_BENCH=OFF", "-DUNIXSOCK_BUILD_CLI=ON")


# Runs out of memory by RLIMIT_AS, which neither ASan's allocator (it reserves its
# own address space) nor valgrind's honours; the plain suite runs it.
RLIMIT_AS_TEST = "test_no_memory_to_keep_a_frame_end_is_enomem_at_once_and_cuts_it"


def test_c_tests_under_asan_and_ubsan(asan_build):
    progs = c_test_programs(asan_build)
    assert len(progs) >= 10
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    failures = []
    for p in progs:
        names = subprocess.run([str(p), "--list"], capture_output=True, text=True, check=True).stdout.split()
        names = [n for n in names if n != RLIMIT_AS_TEST]
        r = subprocess.run([str(p), *names], capture_output=True, text=True, timeout=600, env=env)
        if r.returncode != 0 or "runtime error" in r.stderr or "Sanitizer" in r.stderr:
            failures.append(f"{p.name}:\n{r.stdout[-2000:]}{r.stderr[-4000:]}")
    assert not failures, "\n".join(failures)


def test_cli_tests_under_asan_and_ubsan(asan_build):
    """tests/cli run against the tool built with the sanitizers: a report makes
    the tool exit with an error and print to stderr, which those tests see."""
    env = dict(os.environ, UNIXSOCK_BUILD_DIR=str(asan_build),
               ASAN_OPTIONS="detect_leaks=1:abort_on_error=1", UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "cli")],
                       capture_output=True, text=True, timeout=900, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "runtime error" not in r.stdout and "Sanitizer" not in r.stdout, r.stdout[-6000:]


def sanitizer_runtimes():
    """LD_PRELOAD for an interpreter that is not instrumented itself."""
    libs = [subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True, text=True).stdout.strip()
            for name in ("libasan.so", "libubsan.so")]
    return " ".join(libs)


def test_lua_specs_under_asan_and_ubsan(asan_build):
    env = dict(os.environ, LD_PRELOAD=sanitizer_runtimes(),
               # lua5.4 itself is not instrumented (no leak check); a spec asks for a
               # buffer no allocator can give, to see that it raises "not enough
               # memory", so malloc must fail as it does without ASan instead of aborting
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1",
               UBSAN_OPTIONS="halt_on_error=1", LUA_CPATH=f"{asan_build / 'lua'}/?.so;;",
               LUA_PATH=f"{ROOT / 'tests' / 'lua'}/?.lua;;")
    r = subprocess.run(["lua5.4", "/usr/bin/busted", "--no-auto-insulate", "."], cwd=ROOT / "tests" / "lua",
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert " 0 failures / 0 errors" in r.stdout
    assert "runtime error" not in r.stderr


def test_python_tests_under_asan_and_ubsan(tmp_path):
    """The extension (binding and core) built with the sanitizers, from a copy of
    the sources so that no up-to-date object of the normal build is reused."""
    src = copy_tracked_sources(tmp_path / "src")
    flags = "-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
    env = dict(os.environ, CFLAGS=flags, LDFLAGS="-fsanitize=address,undefined",
               PATH=f"{pathlib.Path(sys.executable).parent}:{os.environ['PATH']}")  # the test extra's swig
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q",
                        "-w", str(tmp_path / "wheel"), str(src)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    [wheel] = (tmp_path / "wheel").glob("unixsock-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    [ext] = (site / "unixsock").glob("_capi*.so")
    assert b"__asan_init" in ext.read_bytes()  # the instrumented build, not a reused one
    env = dict(os.environ, LD_PRELOAD=sanitizer_runtimes(), PYTHONPATH=str(site),
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",  # CPython itself is not instrumented
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    where = subprocess.run([sys.executable, "-c", "import unixsock; print(unixsock.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert where.stdout.startswith(str(site)), where.stdout + where.stderr
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "python")],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "runtime error" not in r.stderr and "Sanitizer" not in r.stderr, r.stderr[-4000:]


# valgrind keeps its own RLIMIT_NOFILE and never lowers the kernel's, so the
# kernel cannot be made to truncate descriptors (MSG_CTRUNC) or refuse an accept
# (EMFILE) under it; those tests run under ASan above and in the plain suite.
NOT_UNDER_VALGRIND = {"test_ctrunc_closes_every_fd_that_arrived", "test_accept_out_of_fds_recovers_when_fds_free_up",
                      "test_out_of_descriptors_says_the_limit", RLIMIT_AS_TEST}


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


# Its one report is the case it tests: close(2) of an fd another thread waits on,
# which the kernel allows (the waiting call finishes on the open file).
CLOSE_UNDER_A_WAITING_CALL = "test_a_release_never_frees_what_another_threads_receive_uses"


def test_threads_sharing_a_handle_under_tsan():
    build = cmake_build("tsan", "-DCMAKE_C_COMPILER=clang", "-DCMAKE_C_FLAGS=-fsanitize=thread -g",
                        "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread", "-DUNIXSOCK_BUILD_LUA=OFF",
                        "-DUNIXSOCK_BUILD_EXAMPLES=OFF", *OFF)
    prog = build / "tests" / "c" / "test_threads"
    names = subprocess.run([str(prog), "--list"], capture_output=True, text=True, check=True).stdout.split()
    assert CLOSE_UNDER_A_WAITING_CALL in names and len(names) >= 5
    run = [n for n in names if n != CLOSE_UNDER_A_WAITING_CALL]
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1")
    r = subprocess.run([str(prog), *run], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0 and "ThreadSanitizer" not in r.stderr, r.stdout[-2000:] + r.stderr[-6000:]
