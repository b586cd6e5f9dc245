"""Unix domain sockets (AF_UNIX): stream, dgram and seqpacket endpoints with the
same behaviour in C, Python and Lua.

Addresses are strings: a filesystem path (or bytes, or a ``pathlib.Path``),
``"@name"`` for the Linux abstract namespace, or ``""`` to autobind.  Errors are ``OSError`` subclasses
(``FileNotFoundError``, ``PermissionError``, ``ConnectionRefusedError``,
``TimeoutError``...) carrying ``errno`` and, where there is one, the address as
``filename``.

    >>> import unixsock
    >>> with unixsock.listen("@demo") as server, unixsock.connect("@demo") as c:
    ...     conn = server.accept()
    ...     c.send(b"g1")
    ...     conn.recv(100)
"""

from __future__ import annotations

import numbers
import operator
import os
import socket
from types import MethodType
from typing import Any, Iterable, List, NamedTuple, Optional, Tuple, Union

try:
    from . import capi as _capi_module
except ImportError as e:
    if any(f.startswith("_capi.") for f in os.listdir(os.path.dirname(__file__))):
        raise  # the extension is here and failed to load: its own error says why
    # the source tree, python/unixsock, where Python run in python/ finds it first
    raise ImportError(
        f"unixsock's compiled extension is not in {os.path.dirname(__file__)}: this is the "
        "source tree, not an installed unixsock; install it with `pip install .` in the "
        "repository root, and run Python from another directory (not python/)",
        name=__name__,
    ) from e
from ._message import Credentials, Message, Peer

_c = _capi_module._capi  # the extension itself: one call per operation, no shim frame

# shutdown's how -> core's (1 read, 2 write, 3 both); socket's SHUT_RD, SHUT_WR and
# SHUT_RDWR are 0, 1 and 2 on Linux
_SHUTDOWN = {"r": 1, "w": 2, "rw": 3, socket.SHUT_RD: 1, socket.SHUT_WR: 2, socket.SHUT_RDWR: 3}

__all__ = [
    "Socket",
    "Message",
    "Credentials",
    "Peer",
    "listen_fds",
    "ListenFd",
    "errname",
    "MAX_FDS",
    "Address",
    "listen",
    "bind",
    "connect",
    "pair",
    "adopt",
    "KINDS",
]

Address = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Buffer = Union[bytes, bytearray, memoryview]

KINDS = ("stream", "dgram", "seqpacket")
#: the C library's version, which the Lua module (unixsock.version) and the CLI report too
__version__ = f"{_c.VERSION_MAJOR}.{_c.VERSION_MINOR}.{_c.VERSION_PATCH}"
MAX_FDS = _c.MAX_FDS  #: the most descriptors one message carries (253)
_KIND_NUMBER = {"stream": _c.STREAM, "dgram": _c.DGRAM, "seqpacket": _c.SEQPACKET}
_KIND_NAME = {v: k for k, v in _KIND_NUMBER.items()}


def _kind(kind: str) -> int:
    try:
        return _KIND_NUMBER[kind]
    except (KeyError, TypeError):
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}") from None


def _timeout_ms(timeout: Optional[float]) -> int:
    """Seconds -> milliseconds, the core's way (unixsock_timeout_ms): rounded up,
    never down to "non-blocking"; inf waits for ever; capped at 24.8 days."""
    if timeout is None:
        return -1
    if not isinstance(timeout, numbers.Real):
        raise TypeError(f"timeout must be None or a number of seconds, not {type(timeout).__name__}")
    try:
        ms = _c.us_timeout_ms(float(timeout))
    except OverflowError:  # an int past float's range is still finite: capped
        ms = _c.us_timeout_ms(1e300 if timeout > 0 else -1.0)
    if ms is None:
        raise ValueError(f"timeout must be None or >= 0, not {timeout!r}")
    return ms


def _address(raw: bytes) -> str:
    return os.fsdecode(raw)


class Socket:
    """One AF_UNIX socket.  Use it as a context manager, or call close().

    A socket that is collected without close() is closed then (its handle owns
    the fd), so none leaks, with a ResourceWarning, as socket.socket gives: when
    the last reference to its handle goes, so unixsock.connect(a).send(b"x") still
    sends first."""

    __slots__ = ("_h", "__dict__", "__weakref__")

    def __init__(self, handle) -> None:
        self._h = handle
        # The hot calls go straight to the extension, without a Python frame: the
        # instance attributes shadow the documented methods below.  After close()
        # they answer EBADF, as the methods do.
        self.send = MethodType(_c.us_send, handle)  # type: ignore[method-assign]
        self.recv = MethodType(_c.us_recv, handle)  # type: ignore[method-assign]
        self.try_recv = MethodType(_c.us_try_recv, handle)  # type: ignore[method-assign]
        self.recv_into = MethodType(_c.us_recv_into, handle)  # type: ignore[method-assign]
        self.sendto = MethodType(_c.us_sendto, handle)  # type: ignore[method-assign]
        self.recvfrom = MethodType(_c.us_recvfrom, handle)  # type: ignore[method-assign]
        self.send_message = MethodType(_c.us_send_message, handle)  # type: ignore[method-assign]
        self.recv_message = MethodType(_c.us_recv_message, handle)  # type: ignore[method-assign]

    # -- lifecycle ---------------------------------------------------------

    def __reduce_ex__(self, protocol):
        # A copy would be a second owner of the one handle, and a pickle an fd
        # number that means nothing elsewhere: refused, as socket.socket does.
        raise TypeError(f"cannot pickle or copy {type(self).__name__!r} object")

    def close(self) -> None:
        """Close the socket (a listener also removes its socket file, if it is
        still the one it created).  Closing twice does nothing."""
        h, self._h = self._h, None
        if h is not None:
            _c.us_close(h)

    def shutdown(self, how: Union[str, int] = "w") -> None:
        """Shut down reading ("r"), writing ("w": the peer reads end of stream)
        or both ("rw"); socket.SHUT_RD, SHUT_WR and SHUT_RDWR say the same."""
        code = _SHUTDOWN.get(how) if isinstance(how, (str, int)) and not isinstance(how, bool) else None
        if code is None:
            raise ValueError("how must be 'r', 'w', 'rw' or socket.SHUT_RD, SHUT_WR, SHUT_RDWR, "
                             f"not {how!r}")
        _c.us_shutdown(self._h, code)

    def detach(self) -> int:
        """Give up ownership and return the fd; nothing is closed or unlinked.
        OSError(EBUSY), and the socket stays yours, while the end of a
        stream message is waiting to be written: flush() first."""
        fd = _c.us_detach(self._h)
        self._h = None
        return fd

    def flush(self) -> None:
        """Write the end of a stream message that send_message or send_batch
        with timeout 0 started and could not finish (the rest was kept, and every
        later send writes it first).  Waits as the timeout allows: with timeout 0,
        BlockingIOError while some is left, so an event loop calls it again when
        the socket is writable, and before closing (closing drops what is left,
        and the peer sees the message cut)."""
        _c.us_flush(self._h)

    def __enter__(self) -> "Socket":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._h is None

    def __repr__(self) -> str:
        if self._h is None:
            return "<unixsock.Socket closed>"
        try:
            addr = self.local_address
        except OSError:
            addr = "?"
        try:  # a client's server; mostly unnamed for an accepted connection
            peer = self.peer_address
        except OSError:  # a listener, an unconnected dgram socket
            peer = ""
        shown = f" peer={peer!r}" if peer else ""
        return f"<unixsock.Socket {self.kind} {addr!r}{shown} fd={self.fileno()}>"

    # -- identity and control ---------------------------------------------

    def fileno(self) -> int:
        """The fd, for select/poll/asyncio; the socket still owns it.  -1 once
        closed, as with the socket module."""
        h = self._h
        return -1 if h is None else _c.us_fd(h)

    @property
    def kind(self) -> str:
        """"stream", "dgram" or "seqpacket"."""
        return _KIND_NAME[_c.us_kind(self._h)]

    def settimeout(self, timeout: Optional[float]) -> None:
        """None blocks, 0 never blocks (BlockingIOError), > 0 bounds each whole
        call in seconds (TimeoutError)."""
        _c.us_settimeout(self._h, _timeout_ms(timeout))

    def gettimeout(self) -> Optional[float]:
        ms = _c.us_gettimeout(self._h)
        return None if ms < 0 else ms / 1000.0

    def setblocking(self, flag: bool) -> None:
        """As socket's: setblocking(False) is settimeout(0), True settimeout(None)."""
        self.settimeout(None if flag else 0)

    def getblocking(self) -> bool:
        """False when the timeout is 0, as socket's (a timeout > 0 still blocks)."""
        return _c.us_gettimeout(self._h) != 0

    @property
    def local_address(self) -> str:
        """This socket's address ("@name" for abstract and autobound names)."""
        return _address(_c.us_local_address(self._h))

    @property
    def peer_address(self) -> str:
        """The connected peer's address ("" when it has none)."""
        return _address(_c.us_peer_address(self._h))

    def getsockname(self) -> str:
        """local_address, by socket's name."""
        return self.local_address

    def getpeername(self) -> str:
        """peer_address, by socket's name (OSError(ENOTCONN) when unconnected)."""
        return self.peer_address

    @property
    def send_buffer(self) -> int:
        return _c.us_get_send_buffer(self._h)

    @send_buffer.setter
    def send_buffer(self, size: int) -> None:
        _c.us_set_send_buffer(self._h, size)

    @property
    def recv_buffer(self) -> int:
        return _c.us_get_recv_buffer(self._h)

    @recv_buffer.setter
    def recv_buffer(self, size: int) -> None:
        _c.us_set_recv_buffer(self._h, size)

    @property
    def listening(self) -> bool:
        """True for a listener (accept takes connections from it), False for a
        connection or a dgram socket; the kernel's answer, so it tells which
        listen_fds() passed (systemd Accept=no or Accept=yes)."""
        return _c.us_listening(self._h) == 1

    @property
    def refused(self) -> int:
        """How many peers the allow-list refused so far."""
        return _c.us_refused(self._h)

    # -- connections -------------------------------------------------------

    def accept(self) -> "Socket":
        """Accept one connection, waiting up to this socket's timeout."""
        return Socket(_c.us_accept(self._h))

    # -- bytes -------------------------------------------------------------

    def send(self, data: Buffer) -> int:
        """Send bytes.  On a stream every byte is written or it raises (with
        timeout 0 it returns what the kernel took; a timeout that passes
        part-way raises TimeoutError with the bytes before it written, as
        socket.sendall does).  A closed peer raises BrokenPipeError; SIGPIPE
        never fires."""
        return _c.us_send(self._h, data)

    def sendall(self, data: Buffer) -> int:
        """The same as send(): a stream send always writes everything."""
        return _c.us_send(self._h, data)

    _io_refs = 0  # what socket.socket.makefile counts the files it made in

    def makefile(self, mode: str = "r", buffering: Optional[int] = None, *, encoding: Optional[str] = None,
                 errors: Optional[str] = None, newline: Optional[str] = None) -> Any:
        """A file object over the socket, as socket.makefile makes one (it is
        that function, over this socket's recv_into and send): "rb" to read
        lines (readline), "w" to write text, "rwb" both, buffering=0 for the
        raw file.  For streams: on dgram and seqpacket each read takes a
        message whole or raises.  Closing the file leaves the socket open;
        once the socket is closed, the file's reads and writes raise EBADF."""
        return socket.socket.makefile(self, mode, buffering, encoding=encoding,  # type: ignore[call-overload]
                                      errors=errors, newline=newline)

    def _decref_socketios(self) -> None:
        """What socket.SocketIO calls when a makefile() file closes: the socket
        stays open until its own close()."""

    def recv(self, size: int) -> bytes:
        """Receive up to size bytes; b"" at end of stream.  A datagram or
        seqpacket message longer than size raises OSError(EMSGSIZE): it is
        dropped, never cut (recv_message takes a message whole)."""
        return _c.us_recv(self._h, size)

    def try_recv(self, size: int) -> Optional[bytes]:  # noqa: F811 (see __init__)
        """recv() that never waits, whatever the timeout, and returns None
        (instead of raising BlockingIOError) when nothing is there: for event
        loops and busy pollers, for which an empty try is the common case and
        an exception costs more than the syscall."""
        return _c.us_try_recv(self._h, size)

    def recv_into(self, buffer, nbytes: int = 0) -> int:  # noqa: F811 (see __init__)
        """Receive into a writable buffer without a copy; returns the count."""
        return _c.us_recv_into(self._h, buffer, nbytes)

    def sendto(self, data: Buffer, address: Address) -> int:  # noqa: F811 (see __init__)
        """Send one datagram to an address."""
        return _c.us_sendto(self._h, data, address)

    def recvfrom(self, size: int) -> Tuple[bytes, str]:  # noqa: F811 (see __init__)
        """Receive one datagram and its sender's address ("" if unbound)."""
        return _c.us_recvfrom(self._h, size)

    # -- messages ----------------------------------------------------------

    def send_message(self, data: Buffer = b"", fds: Iterable = (), *, creds: bool = False,  # noqa: F811
                     address: Optional[Address] = None) -> int:
        """Send one message: payload, descriptors (ints or objects with fileno(),
        borrowed: they stay open here) and, with ``creds=True``, this process's
        credentials.  On a stream the message is a frame (docs/wire-format.md);
        on dgram and seqpacket it is one datagram/packet.  ``address`` sends a
        datagram to that address.  More than MAX_FDS descriptors raises
        OSError(E2BIG) before anything is sent.  With timeout 0, a stream
        message the kernel cannot take whole is sent as far as it goes and the
        rest kept for flush() (see there)."""
        return _c.us_send_message(self._h, data, fds, creds=creds, address=address)

    def recv_message(self, max_fds: int = MAX_FDS) -> Optional[Message]:
        """Receive one whole message (never truncated), or None at end of stream
        (on dgram: once reading is shut down, with shutdown("r")).
        ``creds`` is the sender's when it attached them and, on dgram and
        seqpacket, whenever the kernel added them (to every message for a bound
        or dgram-connected socket and a seqpacket listener's connections; a
        seqpacket client or a pair, only after its first recv_message).
        More than ``max_fds`` descriptors raises OSError(ENOBUFS), with every one
        that arrived already closed (``max_fds=0`` accepts none)."""
        return _c.us_recv_message(self._h, max_fds)

    def send_batch(self, messages: Iterable) -> int:
        """Send many messages in one call (sendmmsg; one write of many frames on a
        stream).  Each item is bytes-like, a tuple ``(data, fds)``, ``(data,
        fds, creds)`` or, on dgram, ``(data, fds, creds, address)`` (fds
        borrowed, as in send_message), or a received Message
        (sent on as it is: its fds borrowed, its credentials re-attached as ours
        if it had any, and to its address if it has one: a received datagram
        goes back to its sender, as in Lua).  Returns how many were sent: all
        of them, unless the timeout ran out, one failed (those before it are
        sent; the next call, starting with it, raises its error) or, with
        timeout 0, the queue was full."""
        return _c.us_send_batch(self._h, _batch_items(messages))

    def recv_batch(self, count: int = 64, size: int = 65536, max_fds: int = MAX_FDS) -> List[Message]:
        """Receive up to ``count`` messages in one call, waiting (up to the timeout)
        only for the first.  A datagram longer than ``size`` comes back with
        ``truncated`` set (as is one whose descriptors, over ``max_fds``, were
        closed); a longer stream frame stays for recv_message().  An empty list
        means end of stream (on dgram: reading shut down)."""
        return _c.us_recv_batch(self._h, count, size, max_fds)

    @property
    def max_message(self) -> int:
        """Largest message recv_message accepts (default 16 MiB): a longer
        stream frame is OSError(EMSGSIZE) and ends the stream; a longer packet
        is OSError(EMSGSIZE), dropped, and the next call goes on."""
        return _c.us_get_max_message(self._h)

    @max_message.setter
    def max_message(self, size: int) -> None:
        _c.us_set_max_message(self._h, size)

    # -- identity ----------------------------------------------------------

    def peer(self, pidfd: bool = False) -> Peer:
        """The connected peer's pid, uid, gid and, where the kernel has them, its
        security label and supplementary groups.  With ``pidfd=True`` also a
        pidfd (a descriptor naming the peer process; yours to close)."""
        pid, uid, gid, pidfd, label, groups = _c.us_peer(self._h, bool(pidfd))
        return Peer(pid, uid, gid, None if pidfd < 0 else pidfd,
                    label.decode(errors="replace") or None, groups)


def _batch_items(messages) -> Union[list, tuple]:
    """send_batch's messages as a list; one message, or something that is no
    iterable, is a TypeError that says so (a bytes object would have been taken
    as a list of ints)."""
    if isinstance(messages, (list, tuple)):
        return messages
    if isinstance(messages, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"send_batch takes a list of messages, not one "
                        f"{type(messages).__name__} object (wrap it: [data])")
    try:
        it = iter(messages)
    except TypeError:
        raise TypeError(f"send_batch takes a list of messages, not "
                        f"{type(messages).__name__}") from None
    return list(it)


def listen(
    address: Address,
    kind: str = "stream",
    *,
    mode: Optional[int] = None,
    uid: Optional[int] = None,
    gid: Optional[int] = None,
    backlog: int = 0,
    allow_uids: Iterable[int] = (),
    allow_gids: Iterable[int] = (),
) -> Socket:
    """Listen on an address (kind "stream" or "seqpacket").

    A live server at the path raises OSError(EADDRINUSE); a stale socket file is
    replaced; a file that is not a socket is never touched (FileExistsError).
    ``mode`` is the socket file's exact permission bits (never more open, even
    for an instant); ``uid``/``gid`` its owner.  ``backlog`` is how many
    connections may wait for accept(); 0, the default, is the most (SOMAXCONN),
    not socket.listen(0)'s one.  With ``allow_uids`` or ``allow_gids``, other
    peers are closed before accept() returns them."""
    k = _kind(kind)
    if k == _c.DGRAM:
        raise ValueError('a dgram endpoint is made with bind(), not listen()')
    return _open(address, k, mode, uid, gid, backlog, allow_uids, allow_gids)


def bind(
    address: Address = "",
    kind: str = "dgram",
    *,
    mode: Optional[int] = None,
    uid: Optional[int] = None,
    gid: Optional[int] = None,
    allow_uids: Iterable[int] = (),
    allow_gids: Iterable[int] = (),
) -> Socket:
    """Bind a datagram endpoint.  The empty address autobinds (the kernel picks a
    unique abstract name), which is what a client needs so that replies find it."""
    k = _kind(kind)
    if k != _c.DGRAM:
        raise ValueError('bind() makes dgram endpoints; use listen() for ' + kind)
    return _open(address, k, mode, uid, gid, 0, allow_uids, allow_gids)


def _open(address, k, mode, uid, gid, backlog, allow_uids, allow_gids) -> Socket:
    return Socket(
        _c.us_listen(
            address,
            k,
            backlog,
            _mode(mode),
            -1 if uid is None else uid,
            -1 if gid is None else gid,
            allow_uids,
            allow_gids,
        )
    )


def _mode(mode) -> int:
    """The core's mode: -1 (the umask decides) for None.  A given mode outside
    0..0o7777, -1 included, becomes -2 (as in Lua): out of range, and a C int,
    for the core to refuse with its message."""
    if mode is None:
        return -1
    try:
        m = operator.index(mode)
    except TypeError:  # os.chmod's "'str' object cannot be interpreted as an integer"
        raise TypeError(f"mode must be an int such as 0o660, not {type(mode).__name__}") from None
    return m if 0 <= m <= 0o7777 else -2


def connect(address: Address, kind: str = "stream", timeout: Optional[float] = None) -> Socket:
    """Connect to an address.  ``timeout`` bounds the connect and becomes the
    socket's timeout.  A dgram socket gets an autobound reply address."""
    return Socket(_c.us_connect(address, _kind(kind), _timeout_ms(timeout)))


def pair(kind: str = "stream") -> Tuple[Socket, Socket]:
    """A connected pair of sockets (socketpair)."""
    a, b = _c.us_pair(_kind(kind))
    return Socket(a), Socket(b)


def adopt(fd: int) -> Socket:
    """Wrap an existing AF_UNIX fd (checked, kind read from the kernel).  On
    success the Socket owns the fd; an adopted socket never unlinks a file.
    A socket.socket gives its fd up with detach(): adopt(sock.detach())."""
    if not isinstance(fd, int) and hasattr(fd, "fileno"):
        # taking the number alone would leave two owners, each to close it
        way = f"adopt(sock.detach()), which {type(fd).__name__} then no longer closes" if hasattr(fd, "detach") \
            else "an int"
        raise TypeError(f"adopt takes a descriptor, which the Socket then owns, not {type(fd).__name__}: {way}")
    return Socket(_c.us_adopt(fd))


class ListenFd(NamedTuple):
    """One descriptor passed by a service manager."""

    fd: int
    name: str
    socket: Optional[Socket]  #: adopted (never unlinks its file), None if not AF_UNIX
    errno: int  #: why it was not adopted (0 when it was)


def listen_fds(unset_environment: bool = True) -> List[ListenFd]:
    """The sockets systemd (or any LISTEN_FDS-speaking manager) passed to this
    process, adopted.  Empty when none were, or they were meant for another pid.
    Descriptors that are not AF_UNIX are listed with ``socket=None``, left open.
    OSError(EINVAL) when LISTEN_FDS is over 32767."""
    try:
        return [
            ListenFd(fd, os.fsdecode(name), Socket(h) if h is not None else None, err)
            for fd, name, h, err in _c.us_listen_fds(bool(unset_environment))
        ]
    finally:
        if unset_environment:  # the core unset them in C (error or not); os.environ is a copy
            for var in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
                os.environ.pop(var, None)


def errname(err: int) -> str:
    """The symbolic name of an errno ("ENOENT")."""
    return _c.us_errname(err)
