/* unixsock_call_error: what the errno of a call on a socket leaves unsaid, and
 * unixsock_fd_error: what a descriptor adopt or the poller refused is.  The
 * kernel answers recv on a listener, accept on a connection and accept on a
 * dgram socket alike with "Invalid argument", send on a listener with
 * "Transport endpoint is not connected", an address given to a stream socket
 * with "already connected", a send the peer has no room for, once the
 * timeout is over, with "Connection timed out", and a peer that closed with data
 * unread with "Connection reset by peer", on a machine with no network: none of
 * them says what the socket is, what to call, or who is slow. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "internal.h"

/* "send", "sendall", "sendto", "send_message", "send_batch", "try_send"... */
static bool is_send(const char *op) {
  return strncmp(op, "send", 4) == 0 || strncmp(op, "try_send", 8) == 0;
}

/* "recv", "recv_into", "recvfrom", "recv_message", "recv_batch", "try_recv"... */
static bool is_recv(const char *op) {
  return strncmp(op, "recv", 4) == 0 || strncmp(op, "try_recv", 8) == 0;
}

/* The sends that may carry a destination. */
static bool may_address(const char *op) {
  return strcmp(op, "sendto") == 0 || strcmp(op, "send_message") == 0 ||
         strcmp(op, "send_batch") == 0;
}

/* A dgram or seqpacket message too long (EMSGSIZE): to send, the most this
 * socket's send buffer lets through, which the kernel fixes at the buffer less
 * 32 bytes; received, the length of the one that was dropped, and why. */
static size_t say_too_long(const unixsock *sock, const char *op, char *buf, size_t size) {
  const char *noun = sock->kind == UNIXSOCK_DGRAM ? "datagram" : "seqpacket message";
  if (is_recv(op)) {
    size_t n = __atomic_load_n(&sock->dropped_len, __ATOMIC_RELAXED);
    if (n == 0)
      return 0;
    if (n > unixsock__max_message(sock)) /* recv_message's limit */
      return unixsock__say(buf, size, "a %s of %zu bytes, over this socket's max_message (%zu): it was "
                                      "dropped", noun, n, unixsock__max_message(sock));
    return unixsock__say(buf, size, "the %s that arrived had %zu bytes, more than %s asked for: it was "
                                    "dropped, not cut (ask for as many, or use recv_message)",
                         noun, n, op);
  }
  int sndbuf = unixsock_get_send_buffer(sock);
  if (!is_send(op) || sndbuf <= 32)
    return 0;
  long wmem_max = -1;
  FILE *f = fopen("/proc/sys/net/core/wmem_max", "re");
  if (f != NULL) {
    if (fscanf(f, "%ld", &wmem_max) != 1)
      wmem_max = -1;
    fclose(f);
  }
  char more[96] = "";
  if (wmem_max > 0 && sndbuf < 2 * wmem_max) /* the kernel doubles what it is given */
    snprintf(more, sizeof(more), "; a larger send_buffer raises it (up to net.core.wmem_max, %ld "
                                 "bytes)", wmem_max);
  return unixsock__say(buf, size, "this socket sends a %s of at most %d bytes: its send buffer (%d "
                                  "bytes) less 32%s", noun, sndbuf - 32, sndbuf, more);
}

int unixsock__fds_refused(unixsock *s, const struct unixsock__inbox *in) {
  __atomic_store_n(&s->refused_fds, in->came, __ATOMIC_RELAXED);
  __atomic_store_n(&s->refused_fds_max, in->max_fds, __ATOMIC_RELAXED);
  __atomic_store_n(&s->refused_fds_cut, in->cut, __ATOMIC_RELAXED);
  return -ENOBUFS;
}

/* How many descriptors this process holds: /proc/self/fd's entries, less the
 * one that reads it.  -1 when it cannot be read. */
static long open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -1;
  long n = -1; /* the directory's own descriptor */
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* "this process holds 64 descriptors, and its limit (RLIMIT_NOFILE, ulimit -n)
 * is 64": what an EMFILE, or descriptors the kernel cut, come from.  At the
 * limit there is no descriptor left to count them with. */
static size_t say_fd_limit(char *buf, size_t size) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
    return 0;
  unsigned long long limit = rl.rlim_cur;
  long held = open_fds();
  if (held < 0)
    return unixsock__say(buf, size, "this process holds as many descriptors as its limit allows "
                                    "(RLIMIT_NOFILE, ulimit -n: %llu)", limit);
  return unixsock__say(buf, size, "this process holds %ld descriptors, and its limit (RLIMIT_NOFILE, "
                                  "ulimit -n) is %llu", held, limit);
}

size_t unixsock__say_fds_refused(char *buf, size_t size, size_t came, size_t max, bool cut,
                                 bool stream) {
  const char *end = stream ? "the stream is shut down for reading (a frame is delivered whole or not "
                             "at all)"
                           : "the message was dropped";
  if (cut) {
    char limit[128];
    say_fd_limit(limit, sizeof(limit));
    return unixsock__say(buf, size, "the kernel cut the descriptors that came with a message "
                                    "(MSG_CTRUNC): %s; those that came were closed, and %s", limit, end);
  }
  return unixsock__say(buf, size, "%zu descriptor%s came with a message, more than max_fds (%zu) "
                                  "allows: %s closed, and %s", came, came == 1 ? "" : "s", max,
                       came == 1 ? "it was" : "they were", end);
}

size_t unixsock_call_error(const unixsock *sock, const char *op, int result, char *buf,
                           size_t size) {
  if (buf != NULL && size > 0)
    buf[0] = '\0';
  if (result != -EINVAL && result != -ENOTCONN && result != -EISCONN && result != -EOPNOTSUPP &&
      result != -ETIMEDOUT && result != -ECONNRESET && result != -EMSGSIZE && result != -ENOBUFS &&
      result != -EMFILE && result != -ENFILE)
    return 0; /* the EAGAIN of an empty try costs nothing here */
  if (result == -EMFILE) /* any call that makes a descriptor, on a socket or not */
    return say_fd_limit(buf, size);
  if (result == -ENFILE)
    return unixsock__say(buf, size, "the system holds all the open files its limit allows "
                                    "(fs.file-max)");
  if (sock == NULL || op == NULL || sock->fd < 0)
    return 0;
  if (result == -EMSGSIZE)
    return sock->kind != UNIXSOCK_STREAM ? say_too_long(sock, op, buf, size) : 0;
  if (result == -ENOBUFS) {
    size_t came = __atomic_load_n(&sock->refused_fds, __ATOMIC_RELAXED);
    bool cut = __atomic_load_n(&sock->refused_fds_cut, __ATOMIC_RELAXED);
    if (!is_recv(op) || sock->kind == UNIXSOCK_STREAM || (came == 0 && !cut))
      return 0; /* a stream's says unixsock_frame_error */
    return unixsock__say_fds_refused(buf, size, came,
                                     __atomic_load_n(&sock->refused_fds_max, __ATOMIC_RELAXED),
                                     cut, false);
  }
  const char *kind = unixsock_kind_name(sock->kind);
  if (result == -ECONNRESET) /* the kernel's word when the peer's receive queue was not empty */
    return sock->kind != UNIXSOCK_DGRAM
               ? unixsock__say(buf, size, "the peer closed before reading all that this socket "
                                          "sent it")
               : 0;
  if (result == -ETIMEDOUT) { /* a receive that timed out got nothing: the errno says it */
    if (!is_send(op) && strcmp(op, "flush") != 0)
      return 0;
    if (sock->kind == UNIXSOCK_DGRAM)
      return unixsock__say(buf, size, "the socket this one is connected to has not read the datagrams "
                            "sent before");
    return unixsock__say(buf, size, "the peer has not read what was sent before: its receive buffer, "
                          "and this socket's send buffer, are full");
  }
  bool accept = strcmp(op, "accept") == 0;
  if (!accept && !is_send(op) && !is_recv(op) && strcmp(op, "peer") != 0)
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
  if (result == -ENOTCONN && sock->kind == UNIXSOCK_DGRAM && is_send(op))
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
