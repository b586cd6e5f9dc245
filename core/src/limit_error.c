/* unixsock__limit_error: a limit a call met, which its errno does not name.  The
 * kernel answers a datagram longer than the send buffer allows, and one longer
 * than a receive's buffer, alike with "Message too long", without the limit or
 * that the received one is gone; descriptors a receive had no room for, or that
 * the kernel cut, with "No buffer space available", which reads as memory; and
 * a process out of descriptors with "Too many open files", without whose limit
 * or how high it is.  unixsock_call_error says these through here. */
#include <stdio.h>
#include <sys/resource.h>

#include "internal.h"

/* A dgram or seqpacket message too long (EMSGSIZE): to send, the most this
 * socket's send buffer lets through, which the kernel fixes at the buffer less
 * 32 bytes; received, the length of the one that was dropped, and why. */
static size_t say_too_long(const unixsock *sock, const char *op, char *buf, size_t size) {
  const char *noun = sock->kind == UNIXSOCK_DGRAM ? "datagram" : "seqpacket message";
  if (unixsock__op_receives(op)) {
    size_t n = __atomic_load_n(&sock->dropped_len, __ATOMIC_RELAXED);
    if (n == 0)
      return 0;
    if (n > unixsock__max_message(sock)) /* recv_message's limit */
      return unixsock__say(buf, size, "a %s of %zu bytes, over this socket's max_message (%zu): it was "
                                      "dropped", noun, n, unixsock__max_message(sock));
    if (strstr(op, "recv_message") != NULL) /* read in place of one it measured (message.c) */
      return unixsock__say(buf, size, "a %s of %zu bytes came in place of a shorter one measured "
                                      "first, which another reader took, and did not fit the room made "
                                      "for that one: it was dropped", noun, n);
    return unixsock__say(buf, size, "the %s that arrived had %zu bytes, more than %s asked for: it was "
                                    "dropped, not cut (ask for as many, or use recv_message)",
                         noun, n, op);
  }
  int sndbuf = unixsock_get_send_buffer(sock);
  if (!unixsock__op_sends(op) || sndbuf <= 32)
    return 0;
  long wmem_max = unixsock__platform_sysctl("/proc/sys/net/core/wmem_max", -1);
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

/* "this process holds 64 descriptors, and its limit (RLIMIT_NOFILE, ulimit -n)
 * is 64": what an EMFILE, or descriptors the kernel cut, come from.  At the
 * limit there is no descriptor left to count them with. */
static size_t say_fd_limit(char *buf, size_t size) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
    return 0;
  unsigned long long limit = rl.rlim_cur;
  long held = unixsock__platform_open_fds();
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

size_t unixsock__limit_error(const unixsock *sock, const char *op, int result, char *buf,
                             size_t size) {
  if (result == -EMFILE) /* any call that makes a descriptor, on a socket or not */
    return say_fd_limit(buf, size);
  if (result == -ENFILE)
    return unixsock__say(buf, size, "the system holds all the open files its limit allows "
                                    "(fs.file-max)");
  if (sock == NULL || op == NULL || sock->fd < 0)
    return 0;
  if (sock->kind == UNIXSOCK_STREAM) { /* a broken frame says its own (unixsock_frame_error) */
    size_t waiting = result == -EMSGSIZE ? unixsock__frame_waiting_len(sock) : 0;
    return waiting > 0 ? unixsock__say(buf, size, "the next frame has %zu bytes, more than %s's size lets "
                                                  "one message hold: it waits, whole, for a larger size "
                                                  "or recv_message", waiting, op)
                       : 0;
  }
  if (result == -EMSGSIZE)
    return say_too_long(sock, op, buf, size);
  size_t came = __atomic_load_n(&sock->refused_fds, __ATOMIC_RELAXED);
  bool cut = __atomic_load_n(&sock->refused_fds_cut, __ATOMIC_RELAXED);
  if (result != -ENOBUFS || !unixsock__op_receives(op) || (came == 0 && !cut))
    return 0;
  return unixsock__say_fds_refused(buf, size, came,
                                   __atomic_load_n(&sock->refused_fds_max, __ATOMIC_RELAXED), cut,
                                   false);
}
