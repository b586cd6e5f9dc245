"""Lua's catch_signals and signaled: busted runs every spec in one process, where
a caught signal would end the blocking calls of the specs after it, so these run
lua5.4 directly."""
import os
import signal
import subprocess
import time

from conftest import build_dir, read_line


def lua(code):
    env = dict(os.environ, LUA_CPATH=f"{build_dir() / 'lua'}/?.so;;")
    return subprocess.Popen(["lua5.4", "-e", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def asleep_in_the_kernel(pid, timeout=10.0):
    """Until pid sleeps in a syscall (state S): a signal sent before the call
    blocks sets the flag but interrupts nothing, and the call then waits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "S":
                return
        time.sleep(0.01)
    raise AssertionError(f"{pid} never blocked")


def test_a_caught_signal_ends_a_blocking_call_and_is_named(sockdir):
    # a script blocked in accept and recv (no timeout) is told EINTR, and can
    # close its listener, which removes its file
    path = str(sockdir / "sig.sock")
    proc = lua(f"""
        local unixsock = require "unixsock"
        assert(unixsock.signaled() == nil)
        unixsock.catch_signals("USR1", "TERM")
        local l = assert(unixsock.listen("{path}"))
        print("ready"); io.stdout:flush()
        local c, msg, err = l:accept()
        print(c, msg, err == unixsock.errno.EINTR, unixsock.signaled())
        l:close()
    """)
    try:
        assert read_line(proc.stdout) == "ready\n"
        asleep_in_the_kernel(proc.pid)  # in accept: "ready" comes just before it
        proc.send_signal(signal.SIGUSR1)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
        proc.communicate()
    assert (proc.returncode, err) == (0, "")
    assert out == f"nil\taccept {path}: Interrupted system call\ttrue\tUSR1\n"
    assert not os.path.exists(path)


def test_catch_signals_names_what_it_does_not_know():
    proc = lua("""
        local unixsock = require "unixsock"
        print(select(2, pcall(unixsock.catch_signals, "INT", "KILL")))
        print(select(2, pcall(unixsock.catch_signals)))
    """)
    out, err = proc.communicate(timeout=10)
    assert (proc.returncode, err) == (0, "")
    assert out.splitlines() == [
        # KILL cannot be caught at all: the ones that can are named
        "bad argument #2 to 'unixsock.catch_signals' (unknown signal 'KILL': one of INT, TERM, "
        "HUP, QUIT, USR1, USR2)",
        "bad argument #1 to 'unixsock.catch_signals' (name at least one signal (\"INT\", \"TERM\", ...))",
    ]
