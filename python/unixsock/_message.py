"""Message, Credentials and Peer: what messages and peer identity carry."""

from __future__ import annotations

import os
from typing import List, NamedTuple, Optional, Tuple


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


class Message:
    """A received message: ``data``, ``fds``, ``creds`` and ``address`` (a
    datagram's sender, "" if unbound; "" on stream and seqpacket, whose sender
    is always the peer: see ``peer_address``).

    The message owns its descriptors (close-on-exec): take them with
    :meth:`take_fds` (or ``take_fd``); whatever is not taken is closed by
    :meth:`close`, by leaving a ``with`` block, or when the message is collected,
    so a received descriptor can never leak."""

    __slots__ = ("data", "_fds", "creds", "address", "truncated")

    def __init__(self, data: bytes, fds=(), creds: Optional[Credentials] = None,
                 address: str = "", truncated: bool = False) -> None:
        self.data = data
        self._fds: List[int] = list(fds)
        self.creds = creds
        self.address = address
        #: recv_batch only: the message did not fit its slot (data is cut) or its
        #: descriptors did not fit and were closed
        self.truncated = truncated

    @property
    def fds(self) -> Tuple[int, ...]:
        """The descriptors still owned by this message (read-only view)."""
        return tuple(self._fds)

    def take_fds(self) -> List[int]:
        """Hand every descriptor over to the caller, who must close them."""
        fds, self._fds = self._fds, []
        return fds

    def take_fd(self, index: int = 0) -> int:
        """Hand one descriptor over (the others stay with the message);
        IndexError when there is none at that index."""
        if not -len(self._fds) <= index < len(self._fds):
            raise IndexError(f"take_fd({index}): the message has {len(self._fds)} "
                             "descriptor(s) left (taken ones are gone from it)")
        return self._fds.pop(index)

    def __reduce_ex__(self, protocol):
        # A shallow copy shared the descriptor list, so both copies closed the
        # same numbers (the second time, whatever fd had reused them).
        raise TypeError(f"cannot pickle or copy {type(self).__name__!r} object "
                        "(it owns its descriptors)")

    def close(self) -> None:
        """Close the descriptors nobody took.  Idempotent."""
        fds, self._fds = self._fds, []
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "Message":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_fds", None):
            self.close()

    def __bytes__(self) -> bytes:
        return self.data

    def __repr__(self) -> str:
        cut = ", truncated=True" if self.truncated else ""  # shown only when it matters
        return (f"Message({self.data!r}, fds={self._fds}, creds={self.creds}, "
                f"address={self.address!r}{cut})")


def _message(t) -> Message:
    data, fds, creds, addr, truncated = t
    return Message(data, fds, Credentials(*creds) if creds is not None else None,
                   os.fsdecode(addr), truncated)
