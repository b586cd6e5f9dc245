/* Per-socket control: timeouts, accessors, addresses, buffer sizes. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

int unixsock_timeout_ms(double seconds, int *ret_ms) {
  if (ret_ms == NULL || !(seconds >= 0)) /* NaN fails every comparison */
    return -EINVAL;
  double ms = seconds * 1000.0;
  int r;
  if (seconds > DBL_MAX)
    r = -1;
  else if (ms >= (double)INT_MAX)
    r = INT_MAX;
  else {
    r = (int)ms; /* 0 <= ms < INT_MAX: the cast truncates; round up by hand */
    if (r < ms)
      r++;
  }
  *ret_ms = r;
  return 0;
}

int unixsock_settimeout(unixsock *sock, int timeout_ms) {
  if (sock == NULL || timeout_ms < -1)
    return -EINVAL;
  /* atomic: a call in another thread may be reading it */
  __atomic_store_n(&sock->timeout_ms, timeout_ms, __ATOMIC_RELAXED);
  return 0;
}

int unixsock_gettimeout(const unixsock *sock) {
  return sock == NULL ? -EINVAL : unixsock__timeout(sock);
}

int unixsock_fd(const unixsock *sock) {
  return sock == NULL ? -EINVAL : sock->fd;
}

int unixsock_kind(const unixsock *sock) {
  return sock == NULL ? -EINVAL : sock->kind;
}

static const char *const kind_names[] = {NULL, "stream", "dgram", "seqpacket"};

const char *unixsock_kind_name(int kind) {
  if (kind < UNIXSOCK_STREAM || kind > UNIXSOCK_SEQPACKET)
    return NULL;
  return kind_names[kind];
}

int unixsock_kind_parse(const char *name) {
  if (name == NULL)
    return -EINVAL;
  for (int k = UNIXSOCK_STREAM; k <= UNIXSOCK_SEQPACKET; k++)
    if (strcmp(name, kind_names[k]) == 0)
      return k;
  return -EINVAL;
}

/* A long path was bound or connected through /proc/self/fd/N/...: the kernel
 * reports that alias, so report the name the caller gave instead. */
static int is_dir_alias(const char *name, size_t len) {
  static const char prefix[] = "/proc/self/fd/";
  return len >= sizeof(prefix) - 1 && memcmp(name, prefix, sizeof(prefix) - 1) == 0;
}

typedef int (*getname_fn)(int, struct sockaddr *, socklen_t *);

/* peer: whether get reports the peer's address, which the caller's name stands
 * for only when it was given to connect (an accepted connection's name is its
 * listener's, and its client's alias is the client's own business). */
static int address_of(const unixsock *sock, getname_fn get, bool peer, char *ret_name,
                      size_t *io_namelen) {
  if (sock == NULL || io_namelen == NULL)
    return -EINVAL;
  struct sockaddr_un sa;
  socklen_t salen = sizeof(sa);
  if (get(sock->fd, (struct sockaddr *)&sa, &salen) < 0)
    return -errno;
  char buf[UNIXSOCK_ADDRESS_MAX];
  size_t len = sizeof(buf);
  int r = unixsock__addr_format(&sa, salen, buf, &len);
  if (r < 0)
    return r;
  unsigned int flags = __atomic_load_n(&sock->flags, __ATOMIC_RELAXED);
  if (is_dir_alias(buf, len) && sock->name != NULL && peer == !!(flags & UNIXSOCK__NAMES_PEER))
    return unixsock__name_copy(sock->name, sock->namelen, ret_name, io_namelen);
  return unixsock__name_copy(buf, len, ret_name, io_namelen);
}

int unixsock_local_address(const unixsock *sock, char *ret_name, size_t *io_namelen) {
  return address_of(sock, getsockname, false, ret_name, io_namelen);
}

int unixsock_peer_address(const unixsock *sock, char *ret_name, size_t *io_namelen) {
  return address_of(sock, getpeername, true, ret_name, io_namelen);
}

int unixsock_error_address(const unixsock *sock, int result, char *ret_name,
                           size_t *io_namelen) {
  if (sock == NULL || io_namelen == NULL)
    return -EINVAL;
  if (result == -EAGAIN) /* nothing to look up on a poller's empty try */
    return unixsock__name_copy("", 0, ret_name, io_namelen);
  bool accepted = __atomic_load_n(&sock->flags, __ATOMIC_RELAXED) & UNIXSOCK__ACCEPTED;
  if (sock->name != NULL && !accepted) /* as the caller wrote it, relative or long */
    return unixsock__name_copy(sock->name, sock->namelen, ret_name, io_namelen);
  /* accepted, paired or adopted: the peer's name if it has one (a client that
   * bound one), else its own (an accepted connection shares its listener's) */
  size_t room = *io_namelen;
  int r = unixsock_peer_address(sock, ret_name, io_namelen);
  if (r == 0 && *io_namelen > 0)
    return 0;
  *io_namelen = room;
  r = unixsock_local_address(sock, ret_name, io_namelen);
  if (r == -EBADF || r == -ENOTCONN) /* released: nothing to name */
    return unixsock__name_copy("", 0, ret_name, io_namelen);
  return r;
}

static int set_int(unixsock *sock, int opt, int value) {
  if (sock == NULL || value < 0)
    return -EINVAL;
  if (setsockopt(sock->fd, SOL_SOCKET, opt, &value, sizeof(value)) < 0)
    return -errno;
  return 0;
}

static int get_int(const unixsock *sock, int opt) {
  int value = 0;
  socklen_t len = sizeof(value);
  if (sock == NULL)
    return -EINVAL;
  if (getsockopt(sock->fd, SOL_SOCKET, opt, &value, &len) < 0)
    return -errno;
  return value;
}

int unixsock_set_send_buffer(unixsock *sock, int bytes) {
  return set_int(sock, SO_SNDBUF, bytes);
}

int unixsock_get_send_buffer(const unixsock *sock) {
  return get_int(sock, SO_SNDBUF);
}

int unixsock_set_recv_buffer(unixsock *sock, int bytes) {
  return set_int(sock, SO_RCVBUF, bytes);
}

int unixsock_get_recv_buffer(const unixsock *sock) {
  return get_int(sock, SO_RCVBUF);
}

int unixsock_listening(const unixsock *sock) {
  int r = get_int(sock, SO_ACCEPTCONN);
  return r < 0 ? r : r != 0;
}

unsigned long long unixsock_refused(const unixsock *sock) {
  return sock == NULL ? 0 : __atomic_load_n(&sock->refused, __ATOMIC_RELAXED);
}

int unixsock_shutdown(unixsock *sock, int how) {
  static const int hows[] = {0, SHUT_RD, SHUT_WR, SHUT_RDWR};
  if (sock == NULL || how < UNIXSOCK_SHUT_RD || how > UNIXSOCK_SHUT_RDWR)
    return -EINVAL;
  long long deadline = UNIXSOCK__NO_DEADLINE_YET;
  int kept = (how & UNIXSOCK_SHUT_WR) ? unixsock__flush_first(sock, &deadline) : 0;
  if (kept < 0)
    return kept; /* the end of a started frame goes before the end of stream */
  if (shutdown(sock->fd, hows[how]) < 0)
    return -errno;
  if (how & UNIXSOCK_SHUT_WR)
    __atomic_fetch_or(&sock->flags, UNIXSOCK__SHUT_WR, __ATOMIC_RELAXED);
  return 0;
}
