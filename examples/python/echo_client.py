#!/usr/bin/env python3
"""The seeds' echo client in Python: sends each line of stdin, prints the answer.

    echo_client.py PATH [stream|dgram|seqpacket]

A dgram client autobinds a reply address (no tmpnam() file left behind)."""
import sys

import unixsock


def explained(e: OSError) -> str:
    """The error, then what unixsock's notes add to it (the first names the call):
    "[Errno 111] Connection refused: '/tmp/x'; /tmp/x is a regular file, not a socket"."""
    return "; ".join([str(e), *getattr(e, "__notes__", [])[1:]])


def main():
    kind = sys.argv[2] if len(sys.argv) == 3 else "stream"
    if len(sys.argv) not in (2, 3) or kind not in unixsock.KINDS:
        print("usage: echo_client.py PATH [stream|dgram|seqpacket]", file=sys.stderr)
        sys.exit(2)
    path = sys.argv[1]
    try:
        with unixsock.connect(path, kind, timeout=5) as conn:
            conn.settimeout(10)
            if kind != "dgram":
                p = conn.peer()
                print(f"server: pid={p.pid} uid={p.uid} gid={p.gid}", file=sys.stderr)
            pending = b""
            for line in sys.stdin.buffer:
                line = line.rstrip(b"\n")
                if kind == "stream":
                    conn.send(line + b"\n")
                    while b"\n" not in pending:
                        data = conn.recv(4096)
                        if not data:
                            sys.exit("server terminated prematurely")
                        pending += data
                    reply, pending = pending.split(b"\n", 1)
                else:
                    if kind == "dgram":
                        print("now sending", line.decode(errors="replace"), flush=True)
                    conn.send(line)
                    reply = conn.recv(65536)
                print(reply.decode(errors="replace"), flush=True)
    except OSError as e:
        sys.exit(f"echo_client: {explained(e)}")


if __name__ == "__main__":
    main()
