"""Times a relay that copies its standard input to a socket (the unixsock CLI,
socat): writes BYTES into a pipe on the relay's stdin, in 1 MiB writes, and
stops the clock when the sink at the far end (bench/c/peer.c sink) answers, on
the relay's stdout, that it has had them all.

  feed.py BYTES COMMAND...   prints MiB/s; exit 1 unless the sink had every byte
"""
import fcntl
import os
import subprocess
import sys
import time

F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, which Python has only from 3.10 on Linux


def main():
    total, cmd = int(sys.argv[1]), sys.argv[2:]
    r, w = os.pipe()
    fcntl.fcntl(w, F_SETPIPE_SZ, 1 << 20)  # the feeder costs one write a MiB, whatever the relay
    buf = bytes(1 << 20)
    t0 = time.perf_counter()
    relay = subprocess.Popen(cmd, stdin=r, stdout=subprocess.PIPE)
    os.close(r)
    sent = 0
    while sent < total:
        sent += os.write(w, memoryview(buf)[: min(len(buf), total - sent)])
    os.close(w)
    answer = relay.stdout.read(1)  # "k": all came; "!": the stream ended short
    seconds = time.perf_counter() - t0
    relay.stdout.close()
    status = relay.wait(timeout=60)
    if answer != b"k" or status != 0:
        sys.exit(f"{' '.join(cmd)}: exit status {status}, the sink answered {answer!r}")
    print(round(total / seconds / 1048576))


if __name__ == "__main__":
    main()
