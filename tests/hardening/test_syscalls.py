"""The fast path is one syscall per send/recv when the kernel is ready (no poll
before every call), a packet message is received in one syscall (not measured
first), and the whole project builds warning-free with clang too."""
import contextlib
import os
import re
import subprocess
import tempfile

from builds import cmake_build
from conftest import build_dir


def strace_counts(cmd, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL):
    """Calls of each syscall that cmd (and what it starts) made, with this stdin
    and stdout."""
    with tempfile.NamedTemporaryFile("r") as report:
        r = subprocess.run(["strace", "-f", "-qq", "-c", "-U", "name,calls", "-o", report.name, *cmd],
                           stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        counts = {}
        for line in report.read().splitlines():
            m = re.match(r"\s*(\w+)\s+(\d+)\s*$", line)
            if m:
                counts[m.group(1)] = int(m.group(2))
    return counts


@contextlib.contextmanager
def bench_peer(*args):
    """bench/c/peer.c with these arguments, once it said it is ready; killed
    afterwards."""
    peer = subprocess.Popen([str(build_dir() / "bench" / "c" / "bench_peer"), *args], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert peer.stdout.readline().strip() == "ready"
        yield peer
    finally:
        peer.kill()
        peer.communicate()


def bench_client(*args):
    return [str(build_dir() / "bench" / "c" / "bench_client"), *args]


def test_round_trips_cost_one_send_and_one_recv_each(sockdir):
    n = 2000
    addr = f"@unixsock-syscalls-{os.getpid()}"
    with bench_peer("echo", "seqpacket", addr):
        counts = strace_counts(bench_client("rtt", "us", "seqpacket", addr, "64", str(n)))
    sends = counts.get("sendto", 0) + counts.get("send", 0) + counts.get("sendmsg", 0)
    recvs = counts.get("recvfrom", 0) + counts.get("recv", 0) + counts.get("recvmsg", 0)
    polls = counts.get("poll", 0) + counts.get("ppoll", 0)
    assert n <= sends <= n + 10 and n <= recvs <= n + 10, counts
    assert polls == 0, counts


def test_a_packet_message_is_received_whole_in_one_syscall(sockdir):
    """recv_message on dgram and seqpacket takes each message, its descriptor
    included, in one recvmsg: no peek or FIONREAD to measure it first."""
    n = 2000
    for kind in ("seqpacket", "dgram"):
        addr = f"@unixsock-syscalls-{os.getpid()}-{kind}"
        with bench_peer("fd-source", kind, addr, str(n)):
            counts = strace_counts(bench_client("fds-in", "us", kind, addr, str(n)))
        assert n <= counts.get("recvmsg", 0) <= n + 10, (kind, counts)
        measures = counts.get("recvfrom", 0) + counts.get("recv", 0) + counts.get("ioctl", 0)
        assert measures <= 10, (kind, counts)


def test_project_builds_warning_free_with_clang():
    # -Werror is on by default: any warning fails this build
    out = cmake_build("clang", "-DCMAKE_C_COMPILER=clang", "-DUNIXSOCK_BUILD_BENCH=OFF")
    assert (out / "libunixsock.so").exists() and (out / "lua" / "unixsock.so").exists()
    assert (out / "cli" / "unixsock").exists()


TOOL = str(build_dir() / "cli" / "unixsock")


def test_the_cli_splices_a_stream_into_a_pipe(tmp_path):
    """`unixsock connect` with a pipe on stdout moves a stream's bytes with
    splice, not by reading them in and writing them out again; into a file it
    reads and writes."""
    total = 16 << 20
    for out in ("pipe", "file"):
        addr = f"@unixsock-syscalls-{os.getpid()}-relay-{out}"
        with bench_peer("source-eof", addr, str(total), "65536"):
            if out == "pipe":
                drain = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
                try:
                    counts = strace_counts([TOOL, "connect", addr], stdout=drain.stdin)
                finally:
                    drain.stdin.close()
                    drain.wait(timeout=60)
            else:
                with open(tmp_path / "out", "wb") as f:
                    counts = strace_counts([TOOL, "connect", addr], stdout=f)
                assert (tmp_path / "out").stat().st_size == total
        data_reads = counts.get("recvfrom", 0) + counts.get("recvmsg", 0)
        if out == "pipe":
            assert counts.get("splice", 0) >= 1 and data_reads == 0, counts
        else:
            assert counts.get("splice", 0) == 0 and data_reads >= total // (1 << 20), counts


def test_the_cli_splices_a_pipe_or_a_file_on_stdin_into_a_stream(tmp_path):
    """`unixsock connect` with a pipe on stdin moves its bytes into a stream
    with splice, and with a file on stdin with sendfile, not by reading them in
    and sending them out again."""
    total = 16 << 20
    (tmp_path / "in").write_bytes(bytes(total))
    for source in ("pipe", "file"):
        addr = f"@unixsock-syscalls-{os.getpid()}-stdin-{source}"
        with bench_peer("sink", "stream", addr, str(total)), open(tmp_path / "answer", "wb") as answer:
            if source == "pipe":
                feed = subprocess.Popen(["cat", str(tmp_path / "in")], stdout=subprocess.PIPE)
                try:
                    counts = strace_counts([TOOL, "connect", addr], stdin=feed.stdout, stdout=answer)
                finally:
                    feed.stdout.close()
                    feed.wait(timeout=60)
            else:
                with open(tmp_path / "in", "rb") as f:
                    counts = strace_counts([TOOL, "connect", addr], stdin=f, stdout=answer)
        assert (tmp_path / "answer").read_bytes() == b"k"  # the sink had every byte
        sends = counts.get("sendto", 0) + counts.get("sendmsg", 0)
        moves = counts.get("splice", 0) if source == "pipe" else counts.get("sendfile", 0)
        assert moves >= 1 and sends == 0, counts
