/* Bytes: send, recv, sendto, recvfrom.  The fast path is one syscall when the
 * kernel is ready; only a would-block result pays for a deadline and a poll. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

int unixsock__retry(const unixsock *s, int err, short events, long long *io_deadline) {
  /* A call that never waits has no wait to interrupt: it tries again without
   * running the hook (the caller's code), which it may not run where it holds a
   * lock, as recv_message does (message.c). */
  if (err == -EINTR)
    return *io_deadline == UNIXSOCK__NEVER_WAIT ? 0 : unixsock__interrupted();
  if (err != -EAGAIN)
    return err;
  if (unixsock__timeout(s) == 0 || *io_deadline == UNIXSOCK__NEVER_WAIT)
    return -EAGAIN;
  if (*io_deadline == UNIXSOCK__NO_DEADLINE_YET)
    *io_deadline = unixsock__deadline(unixsock__timeout(s));
  return unixsock__wait(s->fd, events, *io_deadline);
}

/* Until the receiver at `to` has room for a datagram (or the deadline).  A socket
 * connected to it polls writable only then, as a connected sender's own does. */
static int wait_for_receiver(const struct unixsock__addr *to, long long deadline) {
  int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (probe < 0) {
    (void)poll(NULL, 0, 1); /* no descriptor to spare: pace the retries instead */
    return 0;
  }
  int r = 0;
  if (connect(probe, (const struct sockaddr *)&to->sa, to->len) == 0)
    r = unixsock__wait(probe, POLLOUT, deadline);
  /* else the send, tried again, reports what is wrong with the receiver */
  close(probe);
  return r;
}

int unixsock__retry_send_to(const unixsock *s, int err, const struct unixsock__addr *to,
                            long long *io_deadline) {
  int r = unixsock__retry(s, err, POLLOUT, io_deadline);
  if (r < 0 || err != -EAGAIN || to == NULL)
    return r;
  return wait_for_receiver(to, *io_deadline);
}

/* The rest of write_bytes, after a first try that did not take everything: it
 * took n bytes, or failed with n = -errno. */
static __attribute__((noinline)) ssize_t write_rest(unixsock *sock, const char *p, size_t len,
                                                    ssize_t n, int flags, long long *deadline) {
  size_t done = 0;
  for (;;) {
    if (n >= 0) {
      done += (size_t)n;
      /* Only a stream can take part of a buffer; it must take all of it unless the
       * caller asked never to wait. */
      if (done == len || sock->kind != UNIXSOCK_STREAM || unixsock__timeout(sock) == 0)
        return (ssize_t)done;
    } else {
      int r = unixsock__retry(sock, (int)n, POLLOUT, deadline);
      if (r == -EAGAIN && done > 0)
        return (ssize_t)done;
      if (r < 0)
        return r;
    }
    n = send(sock->fd, p + done, len - done, flags);
    if (n < 0)
      n = -errno;
  }
}

/* Write buf after what is kept of an earlier frame (a stream's send lock held):
 * all of it as the deadline allows, or what the kernel takes when the call must
 * not wait.  The first try is kept apart from the loop: it is nearly always the
 * only one, and every instruction on a stream write shows (sharing.c). */
static ssize_t write_bytes(unixsock *sock, const char *p, size_t len, long long *deadline) {
  if (sock->out_tail != NULL) { /* only on a stream */
    int kept = unixsock__frame_flush_locked(sock, deadline);
    if (kept < 0)
      return kept;
  }
  int flags = MSG_NOSIGNAL | unixsock__wait_flag_for(sock, *deadline);
  ssize_t n = send(sock->fd, p, len, flags);
  if (n == (ssize_t)len)
    return n;
  return write_rest(sock, p, len, n < 0 ? -errno : n, flags, deadline);
}

/* A stream's bytes are written under its send lock, as its frames are: another
 * thread's bytes never land inside them, nor they inside another thread's
 * message.  A datagram or a seqpacket message goes whole or not at all anyway. */
static ssize_t send_bytes(unixsock *sock, const void *buf, size_t len, long long deadline) {
  if (sock == NULL || (buf == NULL && len > 0))
    return -EINVAL;
  if (sock->kind != UNIXSOCK_STREAM)
    return write_bytes(sock, buf, len, &deadline);
  int r = unixsock__send_lock(sock, &deadline); /* -EAGAIN: busy, and no waiting */
  if (r < 0)
    return r;
  ssize_t n = write_bytes(sock, buf, len, &deadline);
  unixsock__send_unlock(sock);
  return n;
}

ssize_t unixsock_send(unixsock *sock, const void *buf, size_t len) {
  return send_bytes(sock, buf, len, UNIXSOCK__NO_DEADLINE_YET);
}

ssize_t unixsock_try_send(unixsock *sock, const void *buf, size_t len) {
  return send_bytes(sock, buf, len, UNIXSOCK__NEVER_WAIT);
}

/* A dgram endpoint with an allow-list reads credentials with every datagram and
 * drops those of peers it does not admit.  now: never wait. */
static ssize_t recv_admitted(unixsock *s, void *buf, size_t len, char *ret_name,
                             size_t *io_namelen, bool now) {
  long long deadline = now ? UNIXSOCK__NEVER_WAIT : UNIXSOCK__NO_DEADLINE_YET;
  for (;;) {
    struct unixsock__inbox in;
    unixsock_message m;
    unixsock__inbox_init(&in, 0);
    m.addrlen = 0;
    ssize_t n = unixsock__recv_packet(s, buf, len, &in, &m, &deadline);
    if (n < 0)
      return n;
    unixsock__close_fds(in.fds, in.nfds); /* plain recv hands out no descriptors */
    if (!in.has_creds || !unixsock__admitted(s, in.creds.uid, in.creds.gid)) {
      unixsock__count_refused(s);
      continue;
    }
    if ((size_t)n > len)
      return unixsock__dropped(s, (size_t)n);
    if (io_namelen != NULL) {
      int r = unixsock__name_copy(m.address, m.addrlen, ret_name, io_namelen);
      if (r < 0)
        return r;
    }
    return n;
  }
}

/* recv, and with now set, the same without ever waiting. */
static ssize_t recv_bytes(unixsock *sock, void *buf, size_t len, bool now) {
  if (sock == NULL || (buf == NULL && len > 0))
    return -EINVAL;
  /* Asking for nothing gets nothing at once, as Python's socket.recv(0) does: the
   * kernel would wait for a byte and then report 0 (which reads as end of stream),
   * or take a whole datagram to report EMSGSIZE. */
  if (len == 0)
    return 0;
  int busy = unixsock__plain_read_allowed(sock);
  if (busy < 0)
    return busy;
  if (sock->kind == UNIXSOCK_DGRAM && unixsock__has_allow_list(sock))
    return recv_admitted(sock, buf, len, NULL, NULL, now);
  int message = sock->kind != UNIXSOCK_STREAM;
  long long deadline = now ? UNIXSOCK__NEVER_WAIT : UNIXSOCK__NO_DEADLINE_YET;
  int flags = unixsock__wait_flag_for(sock, deadline) | (message ? MSG_TRUNC : 0);
  for (;;) {
    ssize_t n = recv(sock->fd, buf, len, flags);
    if (n >= 0)
      return (message && (size_t)n > len) ? unixsock__dropped(sock, (size_t)n) : n;
    int r = unixsock__retry(sock, -errno, POLLIN, &deadline);
    if (r < 0)
      return r;
  }
}

ssize_t unixsock_recv(unixsock *sock, void *buf, size_t len) {
  return recv_bytes(sock, buf, len, false);
}

ssize_t unixsock_try_recv(unixsock *sock, void *buf, size_t len) {
  return recv_bytes(sock, buf, len, true);
}

ssize_t unixsock_sendto(unixsock *sock, const void *buf, size_t len, const char *name,
                        size_t namelen) {
  struct unixsock__addr a;
  if (sock == NULL || (buf == NULL && len > 0) || namelen == 0)
    return -EINVAL;
  int r = unixsock__destination_allowed(sock, namelen);
  if (r < 0)
    return r;
  r = unixsock__addr_parse(name, namelen, true, &a);
  if (r < 0)
    return r;
  int flags = MSG_NOSIGNAL | unixsock__wait_flag(sock);
  long long deadline = UNIXSOCK__NO_DEADLINE_YET;
  ssize_t n;
  for (;;) {
    n = sendto(sock->fd, buf, len, flags, (const struct sockaddr *)&a.sa, a.len);
    if (n >= 0)
      break;
    n = unixsock__retry_send_to(sock, -errno, &a, &deadline);
    if (n < 0)
      break;
  }
  unixsock__addr_release(&a);
  return n;
}

ssize_t unixsock_recvfrom(unixsock *sock, void *buf, size_t len, char *ret_name,
                          size_t *io_namelen) {
  if (sock == NULL || (buf == NULL && len > 0) || (ret_name != NULL && io_namelen == NULL))
    return -EINVAL;
  int busy = unixsock__plain_read_allowed(sock);
  if (busy < 0)
    return busy;
  if (sock->kind == UNIXSOCK_DGRAM && unixsock__has_allow_list(sock))
    return recv_admitted(sock, buf, len, ret_name, io_namelen, false);
  int message = sock->kind != UNIXSOCK_STREAM;
  int flags = unixsock__wait_flag(sock) | (message ? MSG_TRUNC : 0);
  long long deadline = UNIXSOCK__NO_DEADLINE_YET;
  for (;;) {
    struct sockaddr_un sa;
    socklen_t salen = sizeof(sa);
    ssize_t n = recvfrom(sock->fd, buf, len, flags, (struct sockaddr *)&sa, &salen);
    if (n >= 0) {
      if (message && (size_t)n > len)
        return unixsock__dropped(sock, (size_t)n);
      if (io_namelen != NULL) {
        int r = unixsock__addr_format(&sa, salen, ret_name, io_namelen);
        if (r < 0)
          return r;
      }
      return n;
    }
    int r = unixsock__retry(sock, -errno, POLLIN, &deadline);
    if (r < 0)
      return r;
  }
}
