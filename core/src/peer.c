/* Peer identity: who is at the other end, as the kernel recorded it. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

int unixsock_peer(const unixsock *sock, unsigned int flags, unixsock_peer_info *ret_info) {
  unixsock_peer_info info;
  if (sock == NULL || ret_info == NULL || (flags & ~(unsigned int)UNIXSOCK_PEER_PIDFD))
    return -EINVAL;
  memset(&info, 0, sizeof(info));
  info.pidfd = -1;
  /* A listener has no peer, but the kernel records the listener's own identity
   * on it (for the connections it will accept): that must not pass for a peer. */
  int accepting = 0;
  socklen_t alen = sizeof(accepting);
  if (getsockopt(sock->fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &alen) == 0 && accepting)
    return -ENOTCONN;
  int r = unixsock__platform_peer_ids(sock->fd, &info.pid, &info.uid, &info.gid);
  if (r < 0)
    return r;
  if (info.pid == 0)
    return -ENOTCONN; /* no peer recorded: a dgram socket that was never connected */

  /* The label: absent (ENOPROTOOPT) without an LSM that labels sockets. */
  socklen_t len = sizeof(info.label) - 1;
  if (getsockopt(sock->fd, SOL_SOCKET, SO_PEERSEC, info.label, &len) == 0) {
    info.label[len < sizeof(info.label) ? len : sizeof(info.label) - 1] = '\0';
  } else {
    info.label[0] = '\0';
  }

  /* Supplementary groups (Linux >= 4.13). */
  len = sizeof(info.groups);
  if (getsockopt(sock->fd, SOL_SOCKET, SO_PEERGROUPS, info.groups, &len) == 0) {
    info.ngroups = len / sizeof(gid_t);
  } else if (errno == ERANGE) {
    info.groups_truncated = 1; /* more than we have room for: the first are kept */
    info.ngroups = 0;
  }

  /* A pidfd names the peer process without pid reuse races (Linux >= 6.5). */
  int pidfd = -1;
  len = sizeof(pidfd);
  if ((flags & UNIXSOCK_PEER_PIDFD) && getsockopt(sock->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0 && pidfd >= 0) {
    (void)unixsock__platform_set_cloexec(pidfd);
    info.pidfd = pidfd;
  }
  *ret_info = info;
  return 0;
}
