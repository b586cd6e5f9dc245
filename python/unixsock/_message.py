"""Message, Credentials and Peer: what messages and peer identity carry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, List, NamedTuple, Optional, Tuple

from .capi import _capi


class Credentials(NamedTuple):
    """A process's credentials as the kernel vouches for them."""

    pid: int
    uid: int
    gid: int


class Peer(NamedTuple):
    """Who is at the other end of a connection, as the kernel recorded it at
    connect time.  Absent values are None / empty."""

    pid: int
    uid: int
    gid: int
    pidfd: Optional[int]  #: with peer(pidfd=True): yours to os.close() (None: not asked, or kernel < 6.5)
    label: Optional[str]  #: LSM security label (SO_PEERSEC), None without one
    groups: Tuple[int, ...]  #: supplementary groups (SO_PEERGROUPS)


if TYPE_CHECKING:
    class Message:
        """A received message (what type checkers see; at run time the C type
        of the extension, bindings/message_type.c: a Python class cost more per
        message than the receive itself).  It owns its descriptors
        (close-on-exec) until they are taken; the rest are closed by close(),
        by leaving a ``with`` block, or when it is collected.  A copy or pickle
        is refused."""

        data: bytes
        creds: Optional[Credentials]
        address: str  #: a datagram's sender ("" if unbound; "" on stream and seqpacket)
        truncated: bool  #: recv_batch only: cut to its slot, or its fds closed

        def __init__(self, data: bytes, fds: Iterable[int] = (), creds: Optional[Credentials] = None,
                     address: str = "", truncated: bool = False) -> None: ...
        @property
        def fds(self) -> Tuple[int, ...]: ...  # the descriptors still owned
        def take_fds(self) -> List[int]: ...  # all of them, now the caller's to close
        def take_fd(self, index: int = 0) -> int: ...  # one; IndexError if none there
        def close(self) -> None: ...  # closes the descriptors not taken; idempotent
        def __enter__(self) -> "Message": ...
        def __exit__(self, *exc: object) -> None: ...
        def __bytes__(self) -> bytes: ...
else:
    Message = _capi.Message
_capi.us_use_credentials(Credentials)  # received credentials are Credentials
