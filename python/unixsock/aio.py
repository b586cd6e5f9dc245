"""asyncio support: awaitable accept / recv / send / recv_message /
send_message / send_batch / recv_batch on unixsock sockets, so descriptor and
credential passing work in async code (asyncio's own streams have neither).

    sock = unixsock.aio.AsyncSocket(unixsock.connect("/run/app.sock"))
    await sock.send_message(b"hello", fds=[fd])
    msg = await sock.recv_message()

Built on the running loop's add_reader/add_writer: the socket is switched to
non-blocking (timeout 0) and each call is tried first, waiting for readiness only
when it would block.  A stream message the kernel cannot take whole is finished
by waiting for writability, never by blocking the loop: send_message returns once
all of it is written."""

from __future__ import annotations

import asyncio
import errno
import os
from typing import AsyncIterator, Dict, Iterable, List, Optional, Tuple

from . import Address, Message, Socket, connect as _connect, MAX_FDS, _batch_items, _c

__all__ = ["AsyncSocket", "open_connection"]


class AsyncSocket:
    """An awaitable view of a Socket.  Closing it closes the socket."""

    def __init__(self, sock: Socket) -> None:
        if not isinstance(sock, Socket):
            # an AsyncSocket wrapped again (what accept and open_connection return)
            # failed later, inside a task, on a missing settimeout
            already = " (accept and open_connection return AsyncSockets already)" \
                if isinstance(sock, AsyncSocket) else ""
            raise TypeError(f"AsyncSocket wraps a unixsock.Socket, not {type(sock).__name__}{already}")
        self.sock = sock
        sock.settimeout(0)
        # per direction (index: writable): the futures of the coroutines waiting,
        # in the order they began to wait (a dict: the first to wait is the first
        # woken, so it takes the first message; a set woke them in hash order),
        # and the (loop, fd) the one callback that wakes them all is registered on
        self._waiters: Tuple[Dict[asyncio.Future[None], None], Dict[asyncio.Future[None], None]] = ({}, {})
        self._registered: List[Optional[Tuple[asyncio.AbstractEventLoop, int]]] = [None, None]

    async def _io(self, op, writable: bool = False, to: Optional[Address] = None):
        while True:
            try:
                return op()
            except BlockingIOError:
                pass
            await self._ready(writable)
            if to is not None:
                await self._room_at(to)

    async def _room_at(self, address: Address) -> None:
        """Until the datagram receiver at address has room in its queue
        (net.unix.max_dgram_qlen).  Our socket polls writable whatever that queue
        holds, so waiting on it alone would spin; a socket connected to the
        receiver polls writable only when the receiver can take one more."""
        if self.sock.kind != "dgram":
            return
        try:
            probe = _connect(address, "dgram", timeout=0)
        except OSError:
            return  # the send, tried again, reports what is wrong
        with probe:
            await AsyncSocket(probe)._ready(True)

    async def _ready(self, writable: bool) -> None:
        """Until the loop says the socket is readable (or writable), or it is
        closed.  Any number of coroutines may wait at once (the loop keeps one
        callback per fd and direction, so each registering its own would leave
        all but the last waiting for ever); each then tries again."""
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        waiters = self._waiters[writable]
        if self._registered[writable] is None:
            fd = self.sock.fileno()
            (loop.add_writer if writable else loop.add_reader)(fd, self._wake, waiters)
            self._registered[writable] = (loop, fd)
        waiters[fut] = None
        try:
            await fut
        finally:
            waiters.pop(fut, None)
            if not waiters:
                self._unregister(writable)

    def _unregister(self, writable: bool) -> None:
        registered = self._registered[writable]
        if registered is not None:
            loop, fd = registered
            self._registered[writable] = None
            (loop.remove_writer if writable else loop.remove_reader)(fd)

    @staticmethod
    def _wake(waiters) -> None:
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def accept(self) -> "AsyncSocket":
        return AsyncSocket(await self._io(self.sock.accept))

    async def recv(self, size: int) -> bytes:
        # try_recv's: an empty try (what a task finds before it waits, and a
        # wake-up for another reader) raises nothing; but its errors name recv,
        # the call the task made (they said "in unixsock.try_recv")
        while True:
            data = _c.us_aio_recv(self.sock._h, size)
            if data is not None:
                return data
            await self._ready(False)

    async def lines(self) -> AsyncIterator[bytes]:
        """The lines of a stream, each with its b"\\n" (the last even without
        one), as iterating a file gives them: ``async for line in
        conn.lines()``.  It keeps what it read past a line: read the socket
        through it alone."""
        if self.sock.kind != "stream":
            raise ValueError("lines reads a stream; on dgram and seqpacket each recv is one message")
        pending, at = b"", 0  # the bytes read, and where the next line starts in them
        while True:
            nl = pending.find(b"\n", at)
            if nl >= 0:  # taken where the last one ended: a read of many lines is not copied for each
                line, at = pending[at:nl + 1], nl + 1
                yield line
                continue
            parts = [pending[at:]]  # no newline there: read until one comes (a long line, joined once)
            while True:
                data = await self.recv(65536)
                if not data:
                    if any(parts):
                        yield b"".join(parts)
                    return
                parts.append(data)
                if b"\n" in data:
                    break
            pending, at = b"".join(parts), 0

    async def recv_into(self, buffer, nbytes: int = 0) -> int:
        return await self._io(lambda: self.sock.recv_into(buffer, nbytes))

    async def recvfrom(self, size: int):
        return await self._io(lambda: self.sock.recvfrom(size))

    async def send(self, data) -> int:
        """Send all of data (on a stream, piece by piece as the peer reads)."""
        try:
            view = memoryview(data).cast("B")
        except TypeError:  # as Socket.send says it (memoryview's words named memoryview)
            raise TypeError(f"data must be bytes-like, not {type(data).__name__}") from None
        sent = 0
        while True:
            sent += await self._io(lambda: self.sock.send(view[sent:]), writable=True)
            if sent >= len(view) or self.sock.kind != "stream":
                return sent

    async def sendto(self, data, address: Address) -> int:
        return await self._io(lambda: self.sock.sendto(data, address), writable=True, to=address)

    async def send_message(self, data=b"", fds: Iterable = (), *, creds: bool = False,
                           address: Optional[Address] = None) -> int:
        fds = list(fds)
        n = await self._io(
            lambda: self.sock.send_message(data, fds, creds=creds, address=address), writable=True,
            to=address)
        await self._io(self.sock.flush, writable=True)  # the end of a long stream message
        return n

    async def send_batch(self, messages) -> int:
        """Send every message (the items Socket.send_batch takes), waiting for
        writability whenever the kernel takes only part; returns once all of
        them, the end of a long stream message included, are written.  A message
        that cannot be sent raises, after the ones before it went."""
        items = list(_batch_items(messages))
        sent = 0
        while sent < len(items):
            first = items[sent]  # the one that would block: does it name where it goes?
            if isinstance(first, tuple):  # (data, fds, creds, address)
                to = first[3] if len(first) == 4 else None
            else:  # a Message (a received datagram goes back to its sender), or bytes
                to = getattr(first, "address", None) or None
            sent += await self._io(lambda: self.sock.send_batch(items[sent:]), writable=True, to=to)
        await self._io(self.sock.flush, writable=True)
        return sent

    async def recv_message(self, max_fds: int = MAX_FDS) -> Optional[Message]:
        return await self._io(lambda: self.sock.recv_message(max_fds))

    async def recv_batch(self, count: int = 64, size: int = 65536,
                         max_fds: int = MAX_FDS) -> List[Message]:
        return await self._io(lambda: self.sock.recv_batch(count, size, max_fds))

    def fileno(self) -> int:
        return self.sock.fileno()

    def __repr__(self) -> str:  # the socket's: kind, address, peer, fd
        return "<unixsock.aio.AsyncSocket" + repr(self.sock)[len("<unixsock.Socket"):]

    def close(self) -> None:
        """Close the socket.  Coroutines waiting on it wake and raise
        OSError(EBADF), as a call on a closed socket does."""
        for writable in (False, True):
            self._unregister(writable)  # before the fd number can be reused
        self.sock.close()
        for waiters in self._waiters:
            self._wake(waiters)

    async def __aenter__(self) -> "AsyncSocket":
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()


async def open_connection(address: Address, kind: str = "stream",
                          timeout: Optional[float] = None) -> AsyncSocket:
    """Connect without blocking the loop.  A full backlog is tried again (AF_UNIX
    has no readiness to wait for there), 1 ms after the first try, then twice as
    long each time up to 50 ms, until ``timeout`` seconds (None: for ever) raise
    TimeoutError."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    pause = 0.001
    while True:
        try:
            return AsyncSocket(_connect(address, kind, timeout=0))
        except BlockingIOError:
            pass
        if deadline is not None and loop.time() >= deadline:
            e = TimeoutError(errno.ETIMEDOUT, os.strerror(errno.ETIMEDOUT), address)
            # set as the extension sets its notes: add_note is Python 3.11's
            e.__notes__ = ["in unixsock.aio.open_connection (the server's backlog stayed full)"]
            raise e
        await asyncio.sleep(pause if deadline is None else min(pause, max(0.0, deadline - loop.time())))
        pause = min(pause * 2, 0.05)
