"""Message, Credentials and Peer: what messages and peer identity carry."""

from __future__ import annotations

from typing import NamedTuple, Optional, Tuple

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


# The received message is a C type of the extension (bindings/message_type.c):
# a Python class cost more per message than the receive itself.  Its contract:
#   data, creds, address, truncated: writable fields;
#   fds: a tuple of the descriptors the message still owns (close-on-exec);
#   take_fds() hands them all over, take_fd(index=0) one (IndexError if none
#   there); close() closes the rest, as do leaving a ``with`` block and being
#   collected, so a received descriptor never leaks; a copy or pickle is refused.
Message = _capi.Message
_capi.us_use_credentials(Credentials)  # received credentials are Credentials
