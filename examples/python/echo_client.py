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


# A line is sent this much at a time, and what the server has answered so far is
# taken in between: the servers answer a long line 64 KiB at a time while it is
# still coming, and a client that sent all of it first would stop both ends once
# those answers filled its receive buffer and the server's send buffer.
PIECE = 65536


def take(data):
    if not data:
        sys.exit("server terminated prematurely")
    return data


def send_line(conn, line, pending):
    """Send line, keeping in pending (a bytearray) what comes back meanwhile."""
    view = memoryview(line)
    for at in range(0, len(line), PIECE):
        conn.send(view[at:at + PIECE])
        if at + PIECE < len(line):
            while (data := conn.try_recv(65536)) is not None:
                pending += take(data)


def read_answer(conn, pending):
    """The answer to the line sent: pending up to its newline, read until it has one."""
    start = 0
    while (nl := pending.find(b"\n", start)) < 0:
        start = len(pending)  # searched already
        pending += take(conn.recv(65536))
    reply = bytes(pending[:nl])
    del pending[:nl + 1]
    return reply


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
            pending = bytearray()
            for line in sys.stdin.buffer:
                line = line.rstrip(b"\n")
                if kind == "stream":
                    send_line(conn, line + b"\n", pending)
                    reply = read_answer(conn, pending)
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
