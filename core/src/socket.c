/* Socket lifecycle: create, listen, bind, connect, accept, pair, adopt, close. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "internal.h"

int unixsock__kind_to_type(int kind) {
  switch (kind) {
  case UNIXSOCK_STREAM:
    return SOCK_STREAM;
  case UNIXSOCK_DGRAM:
    return SOCK_DGRAM;
  case UNIXSOCK_SEQPACKET:
    return SOCK_SEQPACKET;
  default:
    return -EINVAL;
  }
}

static int type_to_kind(int type) {
  switch (type) {
  case SOCK_STREAM:
    return UNIXSOCK_STREAM;
  case SOCK_DGRAM:
    return UNIXSOCK_DGRAM;
  case SOCK_SEQPACKET:
    return UNIXSOCK_SEQPACKET;
  default:
    return -ESOCKTNOSUPPORT;
  }
}

int unixsock__socket(int kind) {
  int type = unixsock__kind_to_type(kind);
  if (type < 0)
    return type;
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

int unixsock__wrap(int fd, int kind, unixsock **ret) {
  unixsock *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  int r = unixsock__sharing_init(s);
  if (r < 0) {
    free(s);
    return r;
  }
  s->fd = fd;
  s->kind = kind;
  s->timeout_ms = -1;
  *ret = s;
  return 0;
}

static int copy_allow_list(unixsock *s, const unixsock_options *opts) {
  if (opts == NULL)
    return 0;
  if (opts->allow_uids_count) { /* unixsock_options_error checked the lists */
    s->allow_uids = malloc(opts->allow_uids_count * sizeof(uid_t));
    if (s->allow_uids == NULL)
      return -ENOMEM;
    memcpy(s->allow_uids, opts->allow_uids, opts->allow_uids_count * sizeof(uid_t));
    s->allow_uids_count = opts->allow_uids_count;
  }
  if (opts->allow_gids_count) {
    s->allow_gids = malloc(opts->allow_gids_count * sizeof(gid_t));
    if (s->allow_gids == NULL)
      return -ENOMEM;
    memcpy(s->allow_gids, opts->allow_gids, opts->allow_gids_count * sizeof(gid_t));
    s->allow_gids_count = opts->allow_gids_count;
  }
  return 0;
}

/* An owner id must fit uid_t/gid_t and not be their -1, which chown reads as
 * "leave": a cast would make 2^40 uid 0 (root) and 2^32 - 1 no change at all. */
static bool id_ok(long long id) {
  return id == -1 || (id >= 0 && id < (long long)(uid_t)-1 && id < (long long)(gid_t)-1);
}

const char *unixsock_options_error(const char *name, size_t namelen,
                                   const unixsock_options *opts) {
  if (opts == NULL)
    return NULL;
  if (opts->backlog < 0)
    return "backlog must be 0 to 2147483647";
  if (opts->mode < -1 || opts->mode > 07777)
    return "mode must be 0 to 4095 (octal 7777)";
  if (!id_ok(opts->uid))
    return "uid must be 0 to 4294967294";
  if (!id_ok(opts->gid))
    return "gid must be 0 to 4294967294";
  /* a count past what malloc can hold would wrap the copy's size */
  if ((opts->allow_uids_count && opts->allow_uids == NULL) ||
      opts->allow_uids_count > SIZE_MAX / sizeof(uid_t))
    return "allow_uids must point at allow_uids_count ids";
  if ((opts->allow_gids_count && opts->allow_gids == NULL) ||
      opts->allow_gids_count > SIZE_MAX / sizeof(gid_t))
    return "allow_gids must point at allow_gids_count ids";
  /* (uid_t)-1 is no one's id (chown reads it as "leave"): an entry of it admits
   * nobody, so it is a caller's mistake, refused as the owner's is */
  for (size_t i = 0; i < opts->allow_uids_count; i++)
    if (opts->allow_uids[i] == (uid_t)-1)
      return "allow_uids entries must be 0 to 4294967294";
  for (size_t i = 0; i < opts->allow_gids_count; i++)
    if (opts->allow_gids[i] == (gid_t)-1)
      return "allow_gids entries must be 0 to 4294967294";
  /* Kept silently, a mode would leave the caller believing that only the
   * file's readers may connect, where every process in the network namespace
   * may (an autobind: every process that learns the name). */
  bool autobind = namelen == 0, abstract = namelen > 0 && name != NULL && name[0] == '@';
  if ((autobind || abstract) && opts->mode >= 0)
    return autobind ? "mode sets a socket file's permissions, and an empty address has no file"
                    : "mode sets a socket file's permissions, and an abstract name has no file "
                      "(allow_uids and allow_gids limit who connects)";
  if ((autobind || abstract) && (opts->uid >= 0 || opts->gid >= 0))
    return autobind ? "uid and gid set a socket file's owner, and an empty address has no file"
                    : "uid and gid set a socket file's owner, and an abstract name has no file "
                      "(allow_uids and allow_gids limit who connects)";
  return NULL;
}

/* Shared by listen and bind: create, bind with the socket-file rules, record. */
static int open_bound(const char *name, size_t namelen, int kind,
                      const unixsock_options *opts, int backlog, unixsock **ret_sock) {
  unixsock *s = NULL;
  if (unixsock_options_error(name, namelen, opts) != NULL)
    return -EINVAL;
  int fd = unixsock__socket(kind);
  if (fd < 0)
    return fd;
  int r = unixsock__wrap(fd, kind, &s);
  if (r < 0)
    goto fail;
  r = copy_allow_list(s, opts);
  if (r < 0)
    goto fail;
  if (kind != UNIXSOCK_STREAM) {
    /* SO_PASSCRED from the start: the kernel adds credentials only to messages
     * sent while it is on, so a server that turned it on at its first receive
     * would see some early messages without them, depending on timing (and an
     * allow list must judge every datagram).  A seqpacket listener's
     * connections inherit it from the listener. */
    r = unixsock__passcred(s);
    if (r < 0)
      goto fail;
  }
  r = unixsock__bind_file(s, name, namelen, opts, backlog);
  if (r < 0)
    goto fail;
  *ret_sock = s;
  return 0;
fail:
  if (s != NULL)
    unixsock_close(s); /* closes fd; unlinks the file only if it was recorded */
  else
    close(fd);
  return r;
}

int unixsock_listen(const char *name, size_t namelen, int kind,
                    const unixsock_options *opts, unixsock **ret_sock) {
  if (ret_sock == NULL || (kind != UNIXSOCK_STREAM && kind != UNIXSOCK_SEQPACKET))
    return -EINVAL;
  if (namelen == 0)
    return -EINVAL; /* a listener nobody can name is useless */
  unixsock *s = NULL;
  int backlog = (opts != NULL && opts->backlog > 0) ? opts->backlog : SOMAXCONN;
  int r = open_bound(name, namelen, kind, opts, backlog, &s);
  if (r < 0)
    return r;
  /* Listeners are non-blocking so that accept() after a wake-up never sleeps when
   * another process took the connection first. */
  r = unixsock__platform_set_nonblock(s->fd, true);
  if (r < 0)
    goto fail;
  s->flags |= UNIXSOCK__LISTENER;
  *ret_sock = s;
  return 0;
fail:
  unixsock_close(s);
  return r;
}

int unixsock_bind(const char *name, size_t namelen, int kind,
                  const unixsock_options *opts, unixsock **ret_sock) {
  if (ret_sock == NULL || kind != UNIXSOCK_DGRAM)
    return -EINVAL;
  return open_bound(name, namelen, kind, opts, -1, ret_sock);
}

static int set_send_timeout(int fd, long long ms) {
  struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
  if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
    return -errno;
  return 0;
}

/* connect(), waiting for room in a full backlog up to the deadline.  AF_UNIX gives
 * nothing to poll on while the backlog is full, so the kernel's own wait is used,
 * bounded by SO_SNDTIMEO (restored to "none" afterwards). */
static int connect_fd(int fd, const struct unixsock__addr *a, int timeout_ms) {
  long long deadline = unixsock__deadline(timeout_ms);
  int r = 0;
  if (timeout_ms == 0)
    r = unixsock__platform_set_nonblock(fd, true);
  for (;;) {
    if (r < 0)
      break;
    if (deadline >= 0 && timeout_ms > 0) {
      long long left = deadline - unixsock__deadline(0);
      if (left <= 0) {
        r = -ETIMEDOUT;
        break;
      }
      r = set_send_timeout(fd, left);
      if (r < 0)
        break;
    }
    if (connect(fd, (const struct sockaddr *)&a->sa, a->len) == 0) {
      r = 0;
      break;
    }
    r = -errno;
    if (r == -EINTR) {
      r = unixsock__interrupted();
      continue;
    }
    if (r == -EAGAIN || r == -EINPROGRESS)
      r = timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
    break;
  }
  if (timeout_ms > 0)
    (void)set_send_timeout(fd, 0);
  if (timeout_ms == 0)
    (void)unixsock__platform_set_nonblock(fd, false);
  return r;
}

int unixsock_connect(const char *name, size_t namelen, int kind, int timeout_ms,
                     unixsock **ret_sock) {
  unixsock *s = NULL;
  struct unixsock__addr a;
  if (ret_sock == NULL || namelen == 0 || timeout_ms < -1)
    return -EINVAL;
  int r = unixsock__addr_parse(name, namelen, true, &a);
  if (r < 0)
    return r;
  int fd = unixsock__socket(kind);
  if (fd < 0) {
    r = fd;
    goto fail;
  }
  if (kind == UNIXSOCK_DGRAM) {
    /* An autobound name, so the server's replies find this client. */
    struct sockaddr_un any = {.sun_family = AF_UNIX};
    if (bind(fd, (struct sockaddr *)&any, sizeof(sa_family_t)) < 0) {
      r = -errno;
      goto fail;
    }
  }
  r = connect_fd(fd, &a, timeout_ms);
  if (r < 0)
    goto fail;
  r = unixsock__wrap(fd, kind, &s);
  if (r < 0)
    goto fail;
  fd = -1;
  s->timeout_ms = timeout_ms;
  s->flags |= UNIXSOCK__NAMES_PEER;
  r = unixsock__set_name(s, name, namelen);
  if (r < 0)
    goto fail;
  /* The server's replies carry credentials from the first (as a bound socket's
   * messages do, open_bound); autobound already, so turning it on names nothing. */
  if (kind == UNIXSOCK_DGRAM && (r = unixsock__passcred(s)) < 0)
    goto fail;
  unixsock__addr_release(&a);
  *ret_sock = s;
  return 0;
fail:
  unixsock_close(s);
  if (fd >= 0)
    close(fd);
  unixsock__addr_release(&a);
  return r;
}

int unixsock__set_name(unixsock *s, const char *name, size_t namelen) {
  if (namelen == 0)
    return 0;
  s->name = malloc(namelen);
  if (s->name == NULL)
    return -ENOMEM;
  memcpy(s->name, name, namelen);
  s->namelen = namelen;
  return 0;
}

int unixsock_accept(unixsock *listener, unixsock **ret_conn) {
  if (listener == NULL || ret_conn == NULL)
    return -EINVAL;
  if (!(__atomic_load_n(&listener->flags, __ATOMIC_RELAXED) & UNIXSOCK__LISTENER))
    return -EINVAL;
  long long deadline = unixsock__deadline(unixsock__timeout(listener));
  for (;;) {
    int c = unixsock__platform_accept(listener->fd);
    if (c >= 0 && unixsock__has_allow_list(listener)) {
      pid_t pid;
      uid_t uid;
      gid_t gid;
      int r = unixsock__platform_peer_ids(c, &pid, &uid, &gid);
      if (r < 0 || !unixsock__admitted(listener, uid, gid)) {
        close(c); /* refused peers never reach the caller */
        unixsock__count_refused(listener);
        continue;
      }
    }
    if (c >= 0) {
      unixsock *s;
      int r = unixsock__wrap(c, listener->kind, &s);
      if (r < 0) {
        close(c);
        return r;
      }
      s->flags |= UNIXSOCK__ACCEPTED |
                  (__atomic_load_n(&listener->flags, __ATOMIC_RELAXED) & UNIXSOCK__PASSCRED);
      /* the kernel names it by the alias its listener was bound through
       * (/proc/self/fd/N/...), whose N is some other descriptor by now */
      if (listener->name != NULL &&
          unixsock__addr_is_long_path(listener->name, listener->namelen) &&
          (r = unixsock__set_name(s, listener->name, listener->namelen)) < 0) {
        unixsock_close(s);
        return r;
      }
      *ret_conn = s;
      return 0;
    }
    if (c == -ECONNABORTED)
      continue;
    if (c == -EINTR) {
      int r = unixsock__interrupted();
      if (r < 0)
        return r;
      continue;
    }
    if (c != -EAGAIN)
      return c;
    if (unixsock__platform_read_ended(listener->fd))
      return -EINVAL; /* shut down: what a blocking accept says (waiting would spin) */
    if (unixsock__timeout(listener) == 0)
      return -EAGAIN;
    int r = unixsock__wait(listener->fd, POLLIN, deadline);
    if (r < 0)
      return r;
  }
}

int unixsock_pair(int kind, unixsock **ret_a, unixsock **ret_b) {
  int sv[2];
  unixsock *a = NULL, *b = NULL;
  int type = unixsock__kind_to_type(kind);
  if (type < 0 || ret_a == NULL || ret_b == NULL)
    return -EINVAL;
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
    return -errno;
  int r = unixsock__wrap(sv[0], kind, &a);
  if (r < 0)
    goto fail;
  r = unixsock__wrap(sv[1], kind, &b);
  if (r < 0)
    goto fail;
  *ret_a = a;
  *ret_b = b;
  return 0;
fail:
  free(a);
  close(sv[0]);
  close(sv[1]);
  return r;
}

int unixsock_adopt(int fd, unixsock **ret_sock) {
  int type;
  if (fd < 0)
    return -EBADF;
  if (ret_sock == NULL)
    return -EINVAL;
  int r = unixsock__platform_socket_type(fd, &type);
  if (r < 0)
    return r;
  int kind = type_to_kind(type);
  if (kind < 0)
    return kind;
  int accepting = 0;
  socklen_t len = sizeof(accepting);
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0)
    return -errno;
  r = unixsock__platform_set_cloexec(fd);
  if (r < 0)
    return r;
  if (accepting) {
    r = unixsock__platform_set_nonblock(fd, true);
    if (r < 0)
      return r;
  }
  unixsock *s;
  r = unixsock__wrap(fd, kind, &s);
  if (r < 0)
    return r;
  if (accepting)
    s->flags |= UNIXSOCK__LISTENER;
  /* a server, as open_bound makes them (see there); on an unnamed dgram socket
   * the kernel would autobind a name at its next send */
  char name[UNIXSOCK_ADDRESS_MAX];
  size_t namelen = sizeof(name);
  if (kind == UNIXSOCK_SEQPACKET ? accepting
                                 : kind == UNIXSOCK_DGRAM &&
                                       unixsock_local_address(s, name, &namelen) == 0 && namelen > 0) {
    r = unixsock__passcred(s);
    if (r < 0) {
      (void)unixsock_detach(s); /* the fd stays the caller's */
      return r;
    }
  }
  *ret_sock = s;
  return 0;
}

static void free_handle(unixsock *s) {
  unixsock__frame_free(s);
  unixsock__frame_drop_tail(s);
  free(s->path);
  free(s->name);
  free(s->allow_uids);
  free(s->allow_gids);
  unixsock__sharing_free(s);
  free(s);
}

int unixsock_release(unixsock *sock, unsigned int flags) {
  if (sock == NULL || (flags & ~(unsigned int)UNIXSOCK_RELEASE_CLOSE))
    return -EINVAL;
  int fd = sock->fd;
  if (fd < 0)
    return -EBADF;
  if (sock->kind == UNIXSOCK_STREAM) {
    int r = unixsock__frame_let_go(sock, flags & UNIXSOCK_RELEASE_CLOSE);
    if (r < 0)
      return r;
  }
  if (!(flags & UNIXSOCK_RELEASE_CLOSE)) {
    /* the new owner decides; atomic, as a receive in another thread may set a flag */
    __atomic_fetch_and(&sock->flags, ~(unsigned int)UNIXSOCK__OWNS_FILE, __ATOMIC_RELAXED);
    sock->fd = -1;
    return fd;
  }
  if (__atomic_load_n(&sock->flags, __ATOMIC_RELAXED) & UNIXSOCK__OWNS_FILE)
    unixsock__unlink_file(sock);
  sock->fd = -1; /* first: another thread's next syscall gets EBADF, not a reused fd */
  close(fd);     /* never retried: Linux frees the fd even on EINTR */
  return 0;
}

void unixsock_close(unixsock *sock) {
  if (sock == NULL)
    return;
  (void)unixsock_release(sock, UNIXSOCK_RELEASE_CLOSE);
  free_handle(sock);
}

int unixsock_detach(unixsock *sock) {
  if (sock == NULL)
    return -EINVAL;
  int fd = unixsock_release(sock, 0);
  if (fd == -EBUSY)
    return fd; /* the handle is still the caller's */
  free_handle(sock);
  return fd;
}
