/* Messages on dgram and seqpacket (native boundaries), and what all kinds share:
 * credentials on, inbox to message, release. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

int unixsock__passcred(unixsock *s) {
  if (__atomic_load_n(&s->flags, __ATOMIC_RELAXED) & UNIXSOCK__PASSCRED)
    return 0;
  int on = 1;
  if (setsockopt(s->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
    return -errno;
  /* atomic: another thread's receive may set it too, or a release clear a flag */
  __atomic_fetch_or(&s->flags, UNIXSOCK__PASSCRED, __ATOMIC_RELAXED);
  return 0;
}

int unixsock__inbox_to_message(struct unixsock__inbox *in, unixsock_message *msg) {
  if (in->nfds > 0) {
    msg->fds = malloc(in->nfds * sizeof(int));
    if (msg->fds == NULL) {
      unixsock__close_fds(in->fds, in->nfds);
      in->nfds = 0;
      return -ENOMEM;
    }
    memcpy(msg->fds, in->fds, in->nfds * sizeof(int));
    msg->nfds = in->nfds;
  }
  if (in->has_creds) {
    msg->creds = in->creds;
    msg->flags |= UNIXSOCK_MSG_CREDS;
  }
  in->nfds = 0;
  in->has_creds = false;
  return 0;
}

void unixsock_message_release(unixsock_message *msg) {
  if (msg == NULL)
    return;
  if (msg->fds != NULL) {
    unixsock__close_fds(msg->fds, msg->nfds);
    free(msg->fds);
  }
  if (msg->flags & UNIXSOCK__MSG_OWNS_DATA)
    free(msg->data);
  memset(msg, 0, sizeof(*msg));
}

int unixsock_set_max_message(unixsock *sock, size_t bytes) {
  if (sock == NULL || bytes == 0 || bytes > 0x7fffffffu)
    return -EINVAL;
  sock->max_message = bytes;
  return 0;
}

int unixsock_get_max_message(const unixsock *sock) {
  if (sock == NULL)
    return -EINVAL;
  return (int)(sock->max_message ? sock->max_message : UNIXSOCK_DEFAULT_MAX_MESSAGE);
}

/* now: one try that never waits (unixsock_try_send_message). */
static ssize_t send_message(unixsock *sock, const unixsock_message *msg, bool now) {
  if (sock == NULL || msg == NULL || (msg->data == NULL && msg->len > 0))
    return -EINVAL;
  if (msg->nfds > UNIXSOCK_MAX_FDS)
    return -E2BIG;
  int allowed = unixsock__destination_allowed(sock, msg->addrlen);
  if (allowed < 0)
    return allowed;
  if (sock->kind == UNIXSOCK_STREAM)
    return unixsock__frame_send(sock, msg, now);

  union unixsock__cmsgbuf cb;
  struct unixsock__addr a;
  struct iovec iov = {.iov_base = msg->data, .iov_len = msg->len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  int r = unixsock__cmsg_build(&mh, &cb, msg->fds, msg->nfds, msg->flags & UNIXSOCK_MSG_CREDS);
  if (r < 0)
    return r;
  if (msg->addrlen > 0) {
    if (msg->addrlen > sizeof(msg->address))
      return -EINVAL;
    r = unixsock__addr_parse(msg->address, msg->addrlen, true, &a);
    if (r < 0)
      return r;
    mh.msg_name = &a.sa;
    mh.msg_namelen = a.len;
  }
  int flags = MSG_NOSIGNAL | (now ? MSG_DONTWAIT : unixsock__wait_flag(sock));
  long long deadline = now ? UNIXSOCK__NEVER_WAIT : UNIXSOCK__NO_DEADLINE_YET;
  ssize_t n;
  for (;;) {
    n = sendmsg(sock->fd, &mh, flags);
    if (n >= 0)
      break;
    n = unixsock__retry_send_to(sock, -errno, msg->addrlen > 0 ? &a : NULL, &deadline);
    if (n < 0)
      break;
  }
  if (msg->addrlen > 0)
    unixsock__addr_release(&a);
  return n;
}

ssize_t unixsock_send_message(unixsock *sock, const unixsock_message *msg) {
  return send_message(sock, msg, false);
}

ssize_t unixsock_try_send_message(unixsock *sock, const unixsock_message *msg) {
  return send_message(sock, msg, true);
}

/* The exact size of the next packet, waiting for one as *deadline allows
 * (UNIXSOCK__NEVER_WAIT: not at all).  A datagram's is asked of the queue
 * first, which costs less than a peek (that duplicates a packet's descriptors
 * only to drop them); not a seqpacket's, where the kernel counts every packet
 * queued (a walk of the whole queue) and answers only their sum.  A queue that
 * holds nothing, or an empty datagram first, is measured by a peek that copies
 * nothing (MSG_TRUNC reports the real length), which also waits. */
static ssize_t next_size(unixsock *s, long long *deadline) {
  int queued = s->kind == UNIXSOCK_DGRAM ? unixsock__platform_queued(s->fd) : 0;
  if (queued > 0)
    return queued;
  int flags = MSG_PEEK | MSG_TRUNC | unixsock__wait_flag_for(s, *deadline);
  for (;;) {
    char c;
    ssize_t n = recv(s->fd, &c, 0, flags);
    if (n >= 0)
      return n;
    int r = unixsock__retry(s, -errno, POLLIN, deadline);
    if (r < 0)
      return r;
  }
}

/* A read of 0 bytes once nothing more can arrive is the end, not a message: a
 * seqpacket peer gone, or reading shut down here (a dgram socket's only end;
 * the kernel then reports 0 bytes for ever, which read as empty messages would
 * make a receive loop spin).  With SO_PASSCRED on, a packet brings credentials
 * (recorded or not), even an empty one, and the end nothing: so an empty packet
 * sent just before the peer left is still a message. */
static bool packets_ended(const unixsock *s, ssize_t size, const struct unixsock__inbox *in) {
  return size == 0 && !in->creds_came && unixsock__platform_read_ended(s->fd);
}

/* Where a read of a packet of unknown size puts it, in this order: buf (room
 * bytes, the size measured; NULL for none), this thread's spill, and its
 * reserve (NULL when there is none, or it is off). */
struct packet_room {
  char *buf;
  size_t room;
  char *spill;
  char *reserve;
  size_t reserve_len;
};

/* This thread's spill and, for what it cannot hold of a packet up to the
 * socket's maximum, its reserve, if it can have one. */
static void find_room(const unixsock *s, struct packet_room *pr) {
  size_t max = unixsock__max_message(s);
  pr->spill = unixsock__spill();
  if (max > UNIXSOCK__SPILL_BYTES &&
      (pr->reserve = unixsock__reserve(max - UNIXSOCK__SPILL_BYTES)) != NULL)
    pr->reserve_len = max - UNIXSOCK__SPILL_BYTES;
}

/* The iovec for pr, skipping an empty buf: returns how many entries. */
static int packet_iov(const struct packet_room *pr, struct iovec iov[3]) {
  int k = 0;
  if (pr->room > 0)
    iov[k++] = (struct iovec){pr->buf, pr->room};
  iov[k++] = (struct iovec){pr->spill, UNIXSOCK__SPILL_BYTES};
  if (pr->reserve != NULL)
    iov[k++] = (struct iovec){pr->reserve, pr->reserve_len};
  return k;
}

/* What a read of a packet into pr returned as n: the packet whole in *ret_buf
 * (pr's buf, grown to hold what the spill and the reserve took), or -errno with
 * the descriptors it carried closed; 0 with *ret_ended at the end.  A packet
 * over the socket's maximum, or longer than pr holds, is -EMSGSIZE (then it is
 * dropped, not returned cut).  The reserve's pages it touched are handed back.
 * Takes pr's buf. */
static ssize_t keep_packet(unixsock *s, ssize_t n, struct packet_room *pr, char **ret_buf,
                           bool *ret_ended, struct unixsock__inbox *in) {
  size_t before_reserve = pr->room + UNIXSOCK__SPILL_BYTES, held = before_reserve + pr->reserve_len;
  bool into_reserve = pr->reserve != NULL && n > (ssize_t)before_reserve;
  size_t reserve_used = into_reserve ? ((size_t)n < held ? (size_t)n : held) - before_reserve : 0;
  if (n > (ssize_t)unixsock__max_message(s) || (n >= 0 && (size_t)n > held)) {
    n = unixsock__dropped(s, (size_t)n);
  } else if (n >= 0 && (pr->buf == NULL || (size_t)n > pr->room)) {
    char *whole = realloc(pr->buf, n > 0 ? (size_t)n : 1); /* an empty packet too has a buffer */
    if (whole == NULL) {
      n = -ENOMEM;
    } else {
      size_t rest = (size_t)n - pr->room;
      size_t spilt = rest < UNIXSOCK__SPILL_BYTES ? rest : UNIXSOCK__SPILL_BYTES;
      memcpy(whole + pr->room, pr->spill, spilt);
      if (rest > spilt)
        memcpy(whole + before_reserve, pr->reserve, rest - spilt);
      pr->buf = whole;
    }
  }
  if (into_reserve) /* copied out (or dropped): its pages go back */
    unixsock__reserve_discard(pr->reserve, reserve_used);
  *ret_ended = packets_ended(s, n, in);
  if (n < 0) {
    unixsock__close_fds(in->fds, in->nfds);
    in->nfds = 0;
  }
  if (n < 0 || *ret_ended)
    free(pr->buf);
  else
    *ret_buf = pr->buf;
  return n;
}

/* Read the packet that next_size measured as `size` when `taken` packets had
 * been read from this handle, into a buffer of that size put in pr (find_room's)
 * before its spill and reserve (*ret_buf, the caller's; for an empty or
 * oversized one, one made for what the spill took).
 * Under recv_mutex, and measured again first if another thread read one since:
 * two threads that measured the same packet would otherwise both read, and the
 * second get the packet behind it.  A reader that packets_taken does not count
 * (another process sharing the socket, a plain recv in another thread) may
 * still take the measured packet first: the one read in its place, if longer,
 * runs on into this thread's spill and reserve and is copied on from there (with
 * no reserve, one over 64 KiB longer than the measure is -EMSGSIZE, lost).  A
 * packet over the socket's maximum is read into no buffer of its own:
 * -EMSGSIZE, dropped.  -EAGAIN when none is left now (wait for the next), 0
 * with *ret_ended at the end. */
static ssize_t take_packet(unixsock *s, ssize_t size, unsigned long taken, struct packet_room *pr,
                           char **ret_buf, bool *ret_ended, struct unixsock__inbox *in,
                           unixsock_message *m) {
  long long never = UNIXSOCK__NEVER_WAIT;
  *ret_ended = false;
  unixsock__sharing_renew(s);
  pthread_mutex_lock(&s->recv_mutex);
  ssize_t n = size;
  if (__atomic_load_n(&s->packets_taken, __ATOMIC_ACQUIRE) != taken)
    n = size = next_size(s, &never);
  bool measured = n >= 0;
  if (measured) {
    pr->room = (size_t)size <= unixsock__max_message(s) ? (size_t)size : 0; /* over it: dropped */
    pr->buf = pr->room > 0 ? malloc(pr->room) : NULL;
    struct iovec iov[3];
    if ((pr->room > 0 && pr->buf == NULL) || pr->spill == NULL)
      n = -ENOMEM;
    else
      n = unixsock__recv_packet_iov(s, iov, (size_t)packet_iov(pr, iov), in, m, &never);
    if (n == -EAGAIN && pr->room == 0 && unixsock__platform_read_ended(s->fd))
      n = 0; /* the end was measured, and a read that never waits finds nothing */
  }
  pthread_mutex_unlock(&s->recv_mutex);
  if (measured && (size_t)size <= UNIXSOCK__SPILL_BYTES)
    __atomic_store_n(&s->packets_large, false, __ATOMIC_RELAXED); /* read at once again */
  return measured ? keep_packet(s, n, pr, ret_buf, ret_ended, in) : n;
}

/* Whether one read into pr (find_room's) can take any packet up to the socket's
 * maximum: the spill holds it, or the reserve exists and the last packet read at
 * once did not run into it (then packets are measured for a while). */
static bool room_for_any_packet(const unixsock *s, const struct packet_room *pr) {
  return unixsock__max_message(s) <= UNIXSOCK__SPILL_BYTES ||
         (pr->reserve != NULL && !__atomic_load_n(&s->packets_large, __ATOMIC_RELAXED));
}

/* A packet needs no measuring when the spill and the reserve hold the socket's
 * largest message: one read takes it whole, or says by its length (MSG_TRUNC)
 * that it was over the maximum, which drops it as take_packet does; then it is
 * copied out.  No lock: one recvmsg takes one whole packet, whoever else reads.
 * A packet that went on into the reserve has the next ones measured (read
 * straight into a buffer of their size, with no copy) until one fits the spill.
 * Returns as take_packet does, but waits as *deadline allows. */
static ssize_t read_whole_packet(unixsock *s, struct packet_room *pr, long long *deadline,
                                 char **ret_buf, bool *ret_ended, struct unixsock__inbox *in,
                                 unixsock_message *m) {
  struct iovec iov[3];
  ssize_t n = pr->spill == NULL
                  ? -ENOMEM
                  : unixsock__recv_packet_iov(s, iov, (size_t)packet_iov(pr, iov), in, m, deadline);
  if (n > (ssize_t)UNIXSOCK__SPILL_BYTES)
    __atomic_store_n(&s->packets_large, true, __ATOMIC_RELAXED);
  return keep_packet(s, n, pr, ret_buf, ret_ended, in);
}

/* Receive one datagram/packet into the iov, with its control data and sender.
 * Returns the message length (which may exceed the iov's room: then truncated). */
ssize_t unixsock__recv_packet_iov(unixsock *s, struct iovec *iov, size_t iovlen,
                                  struct unixsock__inbox *in, unixsock_message *msg,
                                  long long *deadline) {
  union unixsock__cmsgbuf cb;
  struct sockaddr_un sa;
  int flags = MSG_CMSG_CLOEXEC | MSG_TRUNC | unixsock__wait_flag_for(s, *deadline);
  for (;;) {
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = iovlen, .msg_control = cb.buf,
                        .msg_controllen = sizeof(cb.buf)};
    if (unixsock__reports_sender(s)) { /* else the kernel's copy of the name is wasted */
      mh.msg_name = &sa;
      mh.msg_namelen = sizeof(sa);
    }
    ssize_t n = recvmsg(s->fd, &mh, flags);
    if (n >= 0) {
      unixsock__packets_taken(s, 1);
      int r = unixsock__cmsg_parse(&mh, in);
      if (r == -ENOBUFS)
        return unixsock__fds_refused(s, in);
      if (r < 0)
        return r;
      size_t alen = sizeof(msg->address);
      if (unixsock__reports_sender(s) &&
          unixsock__addr_format(&sa, mh.msg_namelen, msg->address, &alen) == 0)
        msg->addrlen = alen;
      return n;
    }
    int r = unixsock__retry(s, -errno, POLLIN, deadline);
    if (r < 0)
      return r;
  }
}

/* unixsock_recv_message into the zeroed *ret_msg; now: never wait. */
static int receive(unixsock *sock, unixsock_message *ret_msg, size_t max_fds, bool now) {
  int r = unixsock__passcred(sock);
  if (r < 0)
    return r;
  if (sock->kind == UNIXSOCK_STREAM)
    return unixsock__frame_recv(sock, ret_msg, unixsock__fd_limit(max_fds), NULL, 0, now);
  long long deadline = now ? UNIXSOCK__NEVER_WAIT : UNIXSOCK__NO_DEADLINE_YET;
  struct unixsock__inbox in;
  unixsock__inbox_init(&in, max_fds);
again:;
  char *buf = NULL;
  bool ended;
  ssize_t n;
  struct packet_room room = {0};
  find_room(sock, &room);
  if (room_for_any_packet(sock, &room)) {
    n = read_whole_packet(sock, &room, &deadline, &buf, &ended, &in, ret_msg); /* one syscall */
  } else {
    unsigned long taken = __atomic_load_n(&sock->packets_taken, __ATOMIC_ACQUIRE);
    ssize_t size = next_size(sock, &deadline); /* the wait holds no lock */
    if (size < 0)
      return (int)size;
    n = take_packet(sock, size, taken, &room, &buf, &ended, &in, ret_msg);
    if (n == -EAGAIN)
      goto again; /* another thread took it, and none is left: wait for the next */
  }
  if (n < 0 || ended) {
    memset(ret_msg, 0, sizeof(*ret_msg));
    return n < 0 ? (int)n : 0;
  }
  if (unixsock__has_allow_list(sock) &&
      (!in.has_creds || !unixsock__admitted(sock, in.creds.uid, in.creds.gid))) {
    unixsock__close_fds(in.fds, in.nfds); /* a refused peer's message never reaches us */
    in.nfds = 0;
    in.has_creds = in.creds_came = false;
    free(buf);
    memset(ret_msg, 0, sizeof(*ret_msg));
    unixsock__count_refused(sock);
    goto again;
  }
  ret_msg->data = buf;
  ret_msg->len = (size_t)n;
  ret_msg->flags |= UNIXSOCK__MSG_OWNS_DATA;
  r = unixsock__inbox_to_message(&in, ret_msg);
  if (r < 0) {
    unixsock_message_release(ret_msg);
    return r;
  }
  return 1;
}

static int recv_message(unixsock *sock, unixsock_message *ret_msg, bool now) {
  if (sock == NULL || ret_msg == NULL)
    return -EINVAL;
  size_t max_fds = ret_msg->max_fds;
  memset(ret_msg, 0, sizeof(*ret_msg));
  int r = receive(sock, ret_msg, max_fds, now);
  ret_msg->max_fds = max_fds; /* kept for the caller's next call, whatever came */
  return r;
}

int unixsock_recv_message(unixsock *sock, unixsock_message *ret_msg) {
  return recv_message(sock, ret_msg, false);
}

int unixsock_try_recv_message(unixsock *sock, unixsock_message *ret_msg) {
  return recv_message(sock, ret_msg, true);
}

int unixsock_message_bad_fd(const unixsock_message *msg) {
  if (msg == NULL || msg->fds == NULL)
    return -1;
  for (size_t i = 0; i < msg->nfds && i < INT_MAX; i++)
    if (fcntl(msg->fds[i], F_GETFD) < 0 && errno == EBADF)
      return (int)i;
  return -1;
}
