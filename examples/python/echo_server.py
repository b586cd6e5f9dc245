#!/usr/bin/env python3
"""The seeds' echo server in Python: answers every message with "Hi, <message>".

    echo_server.py PATH [stream|dgram|seqpacket]

stream: one line is one message (wire-compatible with examples/c and examples/lua;
a line over 64 KiB is answered in 64 KiB pieces, as they fill the buffer);
dgram and seqpacket: one datagram/packet is one message.  Serves one client after
another until SIGINT/SIGTERM, then removes its socket file; a client that leaves
before its reply is reported on stderr and the next one is served."""
import errno
import signal
import sys

import unixsock


def explained(e: OSError) -> str:
    """The error, then what unixsock's notes add to it (the first names the call):
    "[Errno 111] Connection refused: '/tmp/x'; /tmp/x is a regular file, not a socket"."""
    return "; ".join([str(e), *getattr(e, "__notes__", [])[1:]])


LINE_MAX = 65536  # as the C server's buffer: a longer line is answered in pieces this long


def answer(conn, line, end):
    print("Receive:", line.decode(errors="replace"), flush=True)
    conn.send(b"Hi, " + line + end)


def serve_stream(conn):
    pending = b""  # never more than LINE_MAX: a client cannot make the server hold more
    while True:
        data = conn.recv(LINE_MAX - len(pending))
        if not data:
            if pending:  # a last line without its newline is answered as it is
                answer(conn, pending, b"")
            print("client quit", flush=True)
            return
        *lines, pending = (pending + data).split(b"\n")
        for line in lines:
            answer(conn, line, b"\n")
        if len(pending) == LINE_MAX:  # no newline in a whole buffer: answer this piece
            answer(conn, pending, b"")
            pending = b""


def serve_packets(conn):
    while True:
        data = conn.recv(65536)
        if not data:
            print("client quit", flush=True)
            return
        print("Receive:", data.decode(errors="replace"), flush=True)
        conn.send(b"Hi, " + data)


def main():
    kind = sys.argv[2] if len(sys.argv) == 3 else "stream"
    if len(sys.argv) not in (2, 3) or kind not in unixsock.KINDS:
        print("usage: echo_server.py PATH [stream|dgram|seqpacket]", file=sys.stderr)
        sys.exit(2)
    path = sys.argv[1]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if kind == "dgram":
            with unixsock.bind(path) as sock:
                while True:
                    try:
                        data, sender = sock.recvfrom(65536)
                    except OSError as e:
                        if e.errno != errno.EMSGSIZE:
                            raise
                        print(f"echo_server: {explained(e)}", file=sys.stderr, flush=True)
                        continue  # that one was too long (and is gone): the next
                    print("Receive:", data.decode(errors="replace"), flush=True)
                    print("now sending: Hi,", data.decode(errors="replace"), flush=True)
                    if not sender:  # it sent from an unbound socket
                        print("echo_server: sender has no address to answer", file=sys.stderr,
                              flush=True)
                        continue
                    try:
                        sock.sendto(b"Hi, " + data, sender)
                    except OSError as e:  # that client left: the others are still served
                        print(f"echo_server: {explained(e)}", file=sys.stderr, flush=True)
        else:
            with unixsock.listen(path, kind) as listener:
                while True:
                    with listener.accept() as conn:
                        p = conn.peer()
                        print(f"peer: pid={p.pid} uid={p.uid} gid={p.gid}", flush=True)
                        try:
                            (serve_stream if kind == "stream" else serve_packets)(conn)
                        except OSError as e:  # that client left, or sent too much: serve the next
                            print(f"client lost: {explained(e)}", file=sys.stderr, flush=True)
    except OSError as e:
        sys.exit(f"echo_server: {explained(e)}")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
