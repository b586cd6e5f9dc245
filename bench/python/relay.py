"""Times a relay (the unixsock CLI, socat) that copies between a socket and a
pipe, in either direction, and fails a relay that stops early instead of
letting it look fast.

  relay.py out BYTES COMMAND...   the relay copies a socket to its stdout: every
                                  byte is counted; exit 1 unless exactly BYTES came
  relay.py in BYTES COMMAND...    the relay copies its stdin to a socket: BYTES go
                                  in as 1 MiB writes, and the clock stops when the
                                  sink at the far end (bench/c/peer.c sink) answers
                                  on the relay's stdout that it had them all

Prints MiB/s.
"""
import fcntl
import os
import subprocess
import sys
import time

F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, which Python has only from 3.10 on Linux
CHUNK = 1 << 20


def big_pipe():
    """A pipe of CHUNK bytes: this end costs one syscall a MiB, whatever the relay."""
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, CHUNK)
    return r, w


def out_of_relay(total, cmd):
    """Seconds for the relay to write total bytes to its stdout, all of them counted."""
    r, w = big_pipe()
    buf = bytearray(CHUNK)
    t0 = time.perf_counter()
    relay = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=w)
    os.close(w)
    got = 0
    while n := os.readv(r, [buf]):
        got += n
    status = relay.wait()
    seconds = time.perf_counter() - t0
    if status != 0 or got != total:
        sys.exit(f"{' '.join(cmd)}: exit status {status}, {got} of {total} bytes")
    return seconds


def into_relay(total, cmd):
    """Seconds for total bytes written to the relay's stdin to reach the sink."""
    r, w = big_pipe()
    buf = memoryview(bytes(CHUNK))
    t0 = time.perf_counter()
    relay = subprocess.Popen(cmd, stdin=r, stdout=subprocess.PIPE)
    os.close(r)
    sent = 0
    try:
        while sent < total:
            sent += os.write(w, buf[: min(CHUNK, total - sent)])
    except BrokenPipeError:  # the relay left: said below, as its status and answer
        pass
    os.close(w)
    answer = relay.stdout.read(1)  # "k": all came; "!": the stream ended short
    seconds = time.perf_counter() - t0
    relay.stdout.close()
    status = relay.wait(timeout=60)
    if answer != b"k" or status != 0:
        sys.exit(f"{' '.join(cmd)}: exit status {status}, the sink answered {answer!r}")
    return seconds


def main():
    direction, total, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    timed = {"out": out_of_relay, "in": into_relay}[direction]
    print(round(total / timed(total, cmd) / 1048576))


if __name__ == "__main__":
    main()
