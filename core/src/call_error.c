/* unixsock_call_error: what the errno of a call on a socket leaves unsaid, and
 * unixsock_fd_error: what a descriptor adopt or the poller refused is.  The
 * kernel answers recv on a listener, accept on a connection and accept on a
 * dgram socket alike with "Invalid argument", send on a listener with
 * "Transport endpoint is not connected", an address given to a stream socket
 * with "already connected", a send the peer has no room for, once the
 * timeout is over, with "Connection timed out", and a peer that closed with data
 * unread with "Connection reset by peer", on a machine with no network: none of
 * them says what the socket is, what to call, or who is slow.  A limit the call
 * met (a message's length, descriptors, the process's) is limit_error.c's. */
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "internal.h"

/* The sends that may carry a destination. */
static bool may_address(const char *op) {
  return strcmp(op, "sendto") == 0 || strcmp(op, "send_message") == 0 ||
         strcmp(op, "send_batch") == 0;
}

size_t unixsock_call_error(const unixsock *sock, const char *op, int result, char *buf,
                           size_t size) {
  if (buf != NULL && size > 0)
    buf[0] = '\0';
  if (result != -EINVAL && result != -ENOTCONN && result != -EISCONN && result != -EOPNOTSUPP &&
      result != -ETIMEDOUT && result != -ECONNRESET && result != -EMSGSIZE && result != -ENOBUFS &&
      result != -EMFILE && result != -ENFILE && result != -EPIPE)
    return 0; /* the EAGAIN of an empty try costs nothing here */
  if (result == -EMSGSIZE || result == -ENOBUFS || result == -EMFILE || result == -ENFILE)
    return unixsock__limit_error(sock, op, result, buf, size); /* EMFILE: sock may be NULL */
  if (sock == NULL || op == NULL || sock->fd < 0)
    return 0;
  const char *kind = unixsock_kind_name(sock->kind);
  if (result == -EPIPE && (unixsock__op_sends(op) || strcmp(op, "flush") == 0))
    /* "Broken pipe": this end's shutdown, or the peer's close */
    return __atomic_load_n(&sock->flags, __ATOMIC_RELAXED) & UNIXSOCK__SHUT_WR
               ? unixsock__say(buf, size, "this socket was shut down for writing: it sends nothing "
                                          "more")
               : unixsock__say(buf, size, "the peer closed its end, or shut down its reading: "
                                          "nothing more reaches it");
  if (result == -ECONNRESET) /* the kernel's word when the peer's receive queue was not empty */
    return sock->kind != UNIXSOCK_DGRAM
               ? unixsock__say(buf, size, "the peer closed before reading all that this socket "
                                          "sent it")
               : 0;
  if (result == -ETIMEDOUT) { /* a receive that timed out got nothing: the errno says it */
    if (!unixsock__op_sends(op) && strcmp(op, "flush") != 0)
      return 0;
    if (sock->kind == UNIXSOCK_DGRAM)
      return unixsock__say(buf, size, "the socket this one is connected to has not read the datagrams "
                            "sent before");
    return unixsock__say(buf, size, "the peer has not read what was sent before: its receive buffer, "
                          "and this socket's send buffer, are full");
  }
  bool accept = strcmp(op, "accept") == 0;
  if (!accept && !unixsock__op_sends(op) && !unixsock__op_receives(op) && strcmp(op, "peer") != 0)
    return 0; /* another call's EINVAL is about its arguments */
  int listening = unixsock_listening(sock); /* the kernel's word: an adopted fd too */
  if (accept) {
    if (listening != 0)
      return 0;
    if (sock->kind == UNIXSOCK_DGRAM)
      return unixsock__say(buf, size, "a dgram socket has no connections to accept: it receives "
                            "datagrams itself (recv, recvfrom)");
    return unixsock__say(buf, size, "this %s socket is not a listener: only one made by listen "
                          "accepts connections", kind);
  }
  if (listening == 1)
    return unixsock__say(buf, size, "this %s socket listens: it only accepts connections; %s on one "
                          "that accept returns", kind, op);
  if (result == -EISCONN && sock->kind != UNIXSOCK_DGRAM && may_address(op))
    return unixsock__say(buf, size, "a %s socket sends only to its peer: send without an address",
               kind);
  if (result == -ENOTCONN && sock->kind == UNIXSOCK_DGRAM && unixsock__op_sends(op))
    return unixsock__say(buf, size, "this dgram socket is not connected: give each datagram an "
                          "address (sendto)");
  if (result == -ENOTCONN && sock->kind == UNIXSOCK_DGRAM && strcmp(op, "peer") == 0)
    return unixsock__say(buf, size, "this dgram socket is not connected, so it has no peer: each "
                          "datagram comes with its sender's address (recvfrom)");
  return 0;
}

/* A socket family's name, as <sys/socket.h> spells it. */
static const char *family_name(int family) {
  switch (family) {
  case AF_INET:
    return "AF_INET";
  case AF_INET6:
    return "AF_INET6";
  case AF_NETLINK:
    return "AF_NETLINK";
  case AF_PACKET:
    return "AF_PACKET";
  default:
    return NULL;
  }
}

size_t unixsock_fd_error(int fd, int result, char *buf, size_t size) {
  if (buf != NULL && size > 0)
    buf[0] = '\0';
  struct stat st;
  if (result == -EBADF)
    return fd < 0 ? unixsock__say(buf, size, "a descriptor is 0 or more, not %d", fd)
                  : unixsock__say(buf, size, "descriptor %d is not open", fd);
  if (result == -ENOTSOCK && fstat(fd, &st) == 0 && !S_ISSOCK(st.st_mode))
    return unixsock__say(buf, size, "descriptor %d is %s, not a socket", fd,
                         unixsock__file_type(st.st_mode));
  if (result == -EPERM && fstat(fd, &st) == 0) /* epoll_ctl's word for what it cannot watch */
    return unixsock__say(buf, size, "descriptor %d is %s, which epoll cannot watch: it is always "
                                    "ready", fd, unixsock__file_type(st.st_mode));
  if (result == -ENOENT) /* epoll_ctl's, on removing */
    return unixsock__say(buf, size, "descriptor %d is not watched by this poller", fd);
  int family = 0;
  socklen_t len = sizeof(family);
  if (result != -EAFNOSUPPORT || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0 ||
      family == AF_UNIX)
    return 0;
  const char *name = family_name(family);
  return name != NULL ? unixsock__say(buf, size, "descriptor %d is an %s socket, not an AF_UNIX one",
                                      fd, name)
                      : unixsock__say(buf, size, "descriptor %d is a socket of family %d, not an "
                                                 "AF_UNIX one", fd, family);
}
