"""The measured end in Python: unixsock ("us") or the standard socket module
("std").  Prints one number, like bench/c/client.c.
  client.py rtt us|std KIND ADDRESS SIZE N     ns per round trip
  client.py spin us|std KIND ADDRESS SIZE N    the same, polling without blocking
  client.py poll us|try|std KIND ADDRESS N     ns per try that finds nothing (would block)
  client.py rate us|std|batch KIND ADDRESS N   64-byte messages per second
  client.py fds us|std|batch KIND ADDRESS N    messages with one fd per second
  client.py fds-in us|std|batch KIND ADDRESS N  the same received (from peer
                                               fd-source), each fd closed
  client.py bulk us|std ADDRESS TOTAL CHUNK    MiB/s received with recv_into"""
import os
import socket
import sys
import time

import unixsock

TYPES = {"stream": socket.SOCK_STREAM, "dgram": socket.SOCK_DGRAM, "seqpacket": socket.SOCK_SEQPACKET}


def std_connect(kind, addr):
    s = socket.socket(socket.AF_UNIX, TYPES[kind])
    if kind == "dgram":
        s.bind("")
    s.connect("\0" + addr[1:])
    return s


def connect(how, kind, addr):
    """Blocking, like the socket module's rows and the C clients."""
    if how == "std":
        return std_connect(kind, addr)
    s = unixsock.connect(addr, kind, timeout=5)
    s.settimeout(None)
    return s


def rtt(how, kind, addr, size, n):
    s = connect(how, kind, addr)
    buf = bytes(size)
    send, recv = s.send, s.recv
    stream = kind == "stream"
    t0 = time.perf_counter()
    for _ in range(n):
        send(buf)
        got = len(recv(size))
        while stream and got < size:
            got += len(recv(size - got))
    print(round((time.perf_counter() - t0) / n * 1e9))


def spin(how, kind, addr, size, n):
    """Round trips polling without blocking (the far end on another CPU):
    unixsock's try_recv returns None for an empty try, socket raises."""
    s = connect(how, kind, addr)
    buf = bytes(size)
    t0 = time.perf_counter()
    if how == "us":
        send, try_recv = s.send, s.try_recv
        for _ in range(n):
            send(buf)
            got = 0
            while got < size:
                data = try_recv(size - got)
                if data is not None:
                    got += len(data)
    else:
        s.setblocking(False)
        send, recv = s.send, s.recv
        for _ in range(n):
            send(buf)
            got = 0
            while got < size:
                try:
                    got += len(recv(size - got))
                except BlockingIOError:
                    continue
    print(round((time.perf_counter() - t0) / n * 1e9))


def poll(how, kind, addr, n):
    """Tries that find nothing to read: what an event loop or a busy poller pays
    for a wake-up that was not one."""
    s = connect("std" if how == "std" else "us", kind, addr)
    t0 = time.perf_counter()
    if how == "try":
        try_recv = s.try_recv
        for _ in range(n):
            try_recv(64)
    else:
        if how == "us":
            s.settimeout(0)
        else:
            s.setblocking(False)
        recv = s.recv
        for _ in range(n):
            try:
                recv(64)
            except BlockingIOError:
                pass
    print(round((time.perf_counter() - t0) / n * 1e9))


def rate(how, kind, addr, n):
    s = connect("std" if how == "std" else "us", kind, addr)
    buf = bytes(64)
    t0 = time.perf_counter()
    if how == "batch":
        batch = [buf] * 64
        sent = 0
        while sent < n:
            sent += s.send_batch(batch if n - sent >= 64 else batch[: n - sent])
    else:
        send = s.sendall if how == "std" and kind == "stream" else s.send
        for _ in range(n):
            send(buf)
    s.recv(1)
    print(round(n / (time.perf_counter() - t0)))


def fds(how, kind, addr, n):
    s = connect(how, kind, addr)
    fd = os.open("/dev/null", os.O_RDONLY)
    t0 = time.perf_counter()
    if how == "std":
        for _ in range(n):
            socket.send_fds(s, [b"x"], [fd])
    elif how == "batch":
        batch = [(b"x", [fd])] * 64
        sent = 0
        while sent < n:
            sent += s.send_batch(batch if n - sent >= 64 else batch[: n - sent])
    else:
        send_message = s.send_message
        lst = [fd]
        for _ in range(n):
            send_message(b"x", lst)
    s.recv(1)
    print(round(n / (time.perf_counter() - t0)))


def fds_in(how, kind, addr, n):
    s = connect("std" if how == "std" else "us", kind, addr)
    if kind == "dgram":
        s.send(b"k")  # hello: where the source sends
    t0 = time.perf_counter()
    if how == "std":
        recv_fds, close = socket.recv_fds, os.close
        for _ in range(n):
            close(recv_fds(s, 64, 1)[1][0])
    elif how == "batch":
        got = 0
        while got < n:
            batch = s.recv_batch(min(64, n - got), 64)
            for m in batch:
                m.close()  # closes its fd
            got += len(batch)
    else:
        recv_message = s.recv_message
        for _ in range(n):
            recv_message().close()  # closes its fd
    s.send(b"k")
    print(round(n / (time.perf_counter() - t0)))


def bulk(how, addr, total, chunk):
    s = connect(how, "stream", addr)
    buf = bytearray(chunk)
    recv_into = s.recv_into
    got = 0
    t0 = time.perf_counter()
    while got < total:
        got += recv_into(buf)
    s.send(b"k")
    print(round(total / (time.perf_counter() - t0) / 1048576))


def main():
    what, how = sys.argv[1], sys.argv[2]
    if what == "rtt":
        rtt(how, sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif what == "spin":
        spin(how, sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif what == "poll":
        poll(how, sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif what == "rate":
        rate(how, sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif what == "fds":
        fds(how, sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif what == "fds-in":
        fds_in(how, sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif what == "bulk":
        bulk(how, sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))


if __name__ == "__main__":
    main()
