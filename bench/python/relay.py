"""Times a relay that copies a socket to its standard output (the unixsock CLI,
socat), counting every byte it writes so that a relay that stops early fails
instead of looking fast.

  relay.py BYTES COMMAND...   prints MiB/s; exit 1 unless exactly BYTES arrived
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
    fcntl.fcntl(w, F_SETPIPE_SZ, 1 << 20)  # the counter costs one read a MiB, whatever the relay
    buf = bytearray(1 << 20)
    t0 = time.perf_counter()
    relay = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=w)
    os.close(w)
    got = 0
    while True:
        n = os.readv(r, [buf])
        if n == 0:
            break
        got += n
    status = relay.wait()
    seconds = time.perf_counter() - t0
    if status != 0 or got != total:
        sys.exit(f"{' '.join(cmd)}: exit status {status}, {got} of {total} bytes")
    print(round(total / seconds / 1048576))


if __name__ == "__main__":
    main()
