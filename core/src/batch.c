/* Batches: many messages per syscall. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

enum { CHUNK = 32 }; /* messages per sendmmsg; bounds the stack used */

/* A receive slot about to be filled: its inbox ready, its outputs cleared.
 * Returns the slot's capacity (len on entry). */
static size_t start_slot(unixsock_message *m, struct unixsock__inbox *in) {
  unixsock__inbox_init(in, m->max_fds);
  m->fds = NULL;
  m->nfds = 0;
  m->flags = 0;
  m->addrlen = 0;
  return m->len;
}

static int check_batch(unixsock *s, const unixsock_message *msgs, size_t count) {
  if (s == NULL || (msgs == NULL && count > 0))
    return -EINVAL;
  for (size_t i = 0; i < count; i++) {
    if (msgs[i].data == NULL && msgs[i].len > 0)
      return -EINVAL;
    if (msgs[i].nfds > UNIXSOCK_MAX_FDS)
      return -E2BIG;
    int r = unixsock__destination_allowed(s, msgs[i].addrlen);
    if (r < 0)
      return r;
  }
  return 0;
}

/* Stream: frames written together.  A frame that carries fds or credentials must
 * begin its own sendmsg (the kernel attaches control data to the first bytes of
 * a write), so a batch is cut into runs at such frames. */
static int send_frames(unixsock *s, const unixsock_message *msgs, size_t count) {
  unsigned char (*hdrs)[UNIXSOCK__FRAME_HEADER] = malloc(count * UNIXSOCK__FRAME_HEADER);
  struct iovec *iov = malloc(count * 2 * sizeof(*iov));
  int r = 0;
  if (hdrs == NULL || iov == NULL) {
    r = -ENOMEM;
    goto out;
  }
  size_t i = 0;
  while (i < count) {
    union unixsock__cmsgbuf cb;
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 0};
    bool creds = msgs[i].flags & UNIXSOCK_MSG_CREDS;
    r = unixsock__cmsg_build(&mh, &cb, msgs[i].fds, msgs[i].nfds, creds);
    if (r < 0)
      goto out;
    size_t j = i;
    do {
      bool c = msgs[j].flags & UNIXSOCK_MSG_CREDS;
      if (msgs[j].len > 0xffffffffu) {
        r = -EMSGSIZE;
        goto out;
      }
      unixsock__frame_header(hdrs[j], msgs[j].len, msgs[j].nfds, c);
      iov[mh.msg_iovlen++] = (struct iovec){hdrs[j], UNIXSOCK__FRAME_HEADER};
      if (msgs[j].len)
        iov[mh.msg_iovlen++] = (struct iovec){msgs[j].data, msgs[j].len};
      j++;
    } while (j < count && msgs[j].nfds == 0 && !(msgs[j].flags & UNIXSOCK_MSG_CREDS) &&
             mh.msg_iovlen + 2 <= 1024 /* IOV_MAX */);
    ssize_t n = unixsock__frame_write(s, &mh, false);
    if (n < 0) {
      r = i > 0 ? (int)i : (int)n;
      goto out;
    }
    i = j;
  }
  r = (int)count;
out:
  free(hdrs);
  free(iov);
  return r;
}

static int send_packets(unixsock *s, const unixsock_message *msgs, size_t count) {
  size_t sent = 0;
  long long deadline = UNIXSOCK__NO_DEADLINE_YET;
  int flags = MSG_NOSIGNAL | unixsock__wait_flag(s);
  while (sent < count) {
    struct mmsghdr mm[CHUNK];
    struct iovec iov[CHUNK];
    union unixsock__cmsgbuf cb[CHUNK];
    struct unixsock__addr addr[CHUNK];
    size_t n = count - sent < CHUNK ? count - sent : CHUNK, parsed = 0;
    int r = 0;
    memset(mm, 0, n * sizeof(mm[0]));
    for (; parsed < n && r == 0; parsed++) {
      const unixsock_message *m = &msgs[sent + parsed];
      iov[parsed] = (struct iovec){m->data, m->len};
      mm[parsed].msg_hdr.msg_iov = &iov[parsed];
      mm[parsed].msg_hdr.msg_iovlen = 1;
      r = unixsock__cmsg_build(&mm[parsed].msg_hdr, &cb[parsed], m->fds, m->nfds,
                               m->flags & UNIXSOCK_MSG_CREDS);
      addr[parsed].dirfd = -1;
      if (r == 0 && m->addrlen > 0) {
        r = m->addrlen > sizeof(m->address)
                ? -EINVAL
                : unixsock__addr_parse(m->address, m->addrlen, true, &addr[parsed]);
        mm[parsed].msg_hdr.msg_name = &addr[parsed].sa;
        mm[parsed].msg_hdr.msg_namelen = addr[parsed].len;
      }
    }
    /* A message that cannot be sent (its address does not parse) ends the call
     * after the ones before it go; the next call starts with it and reports. */
    bool cut = r < 0 && parsed > 1;
    if (cut) {
      n = parsed - 1;
      r = 0;
    }
    int got;
    for (;;) {
      if (r < 0) {
        got = r;
        break;
      }
      got = sendmmsg(s->fd, mm, (unsigned int)n, flags);
      if (got >= 0)
        break;
      /* the first of them is the one that would block */
      got = unixsock__retry_send_to(s, -errno, msgs[sent].addrlen > 0 ? &addr[0] : NULL, &deadline);
      if (got < 0)
        break;
    }
    for (size_t k = 0; k < parsed; k++)
      unixsock__addr_release(&addr[k]);
    if (got < 0)
      return sent > 0 ? (int)sent : got;
    sent += (size_t)got;
    /* Fewer went: the queue is full (or the next one fails, which the next
     * sendmmsg reports).  With a timeout, wait for room as a blocking socket's
     * sendmmsg would, and go on with the rest; with timeout 0, stop here. */
    if (cut || ((size_t)got < n && unixsock__timeout(s) == 0))
      break;
  }
  return (int)sent;
}

int unixsock_send_batch(unixsock *sock, const unixsock_message *msgs, size_t count) {
  int r = check_batch(sock, msgs, count);
  if (r < 0 || count == 0)
    return r;
  if (count > 0x7fffffff)
    return -EINVAL;
  if (sock->kind == UNIXSOCK_STREAM)
    return send_frames(sock, msgs, count);
  return send_packets(sock, msgs, count);
}

static int recv_frames(unixsock *s, unixsock_message *msgs, size_t count) {
  size_t got = 0;
  int r = 0;
  while (got < count) {
    unixsock_message *m = &msgs[got];
    void *buf = m->data;
    size_t cap = m->len, max_fds = unixsock__fd_limit(m->max_fds);
    m->fds = NULL;
    m->nfds = 0;
    m->flags = 0;
    m->addrlen = 0;
    static char none[1];
    /* only the first frame is waited for (said per call: the socket's timeout
     * is every thread's) */
    r = unixsock__frame_recv(s, m, max_fds, buf != NULL ? buf : none, cap, got > 0);
    if (r <= 0) {
      m->data = buf;
      m->len = cap;
      break;
    }
    got++;
  }
  if (got > 0)
    return (int)got;
  return r == -ENOSPC ? -EMSGSIZE : r;
}

/* What one recvmmsg slot needs beside its struct mmsghdr. */
struct packet_slot {
  struct iovec iov;
  struct sockaddr_un sa;
  union unixsock__cmsgbuf cb;
};

/* One recvmmsg for all of them (at most UNIXSOCK_BATCH_MAX): a batch of 64 was
 * two calls' worth of packets handed back in one call's 32. */
static int recv_packets(unixsock *s, unixsock_message *msgs, size_t count) {
  size_t n = count < UNIXSOCK_BATCH_MAX ? count : UNIXSOCK_BATCH_MAX;
  struct mmsghdr *mm = calloc(n, sizeof(*mm));
  struct packet_slot *slot = malloc(n * sizeof(*slot));
  if (mm == NULL || slot == NULL) {
    free(mm);
    free(slot);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    slot[i].iov = (struct iovec){msgs[i].data, msgs[i].len};
    mm[i].msg_hdr = (struct msghdr){.msg_name = &slot[i].sa, .msg_namelen = sizeof(slot[i].sa),
                                    .msg_iov = &slot[i].iov, .msg_iovlen = 1,
                                    .msg_control = slot[i].cb.buf,
                                    .msg_controllen = sizeof(slot[i].cb.buf)};
  }
  int flags = MSG_CMSG_CLOEXEC | MSG_TRUNC | MSG_WAITFORONE | unixsock__wait_flag(s);
  long long deadline = UNIXSOCK__NO_DEADLINE_YET;
  int got;
  for (;;) {
    got = recvmmsg(s->fd, mm, (unsigned int)n, flags, NULL);
    if (got >= 0) {
      unixsock__packets_taken(s, (unsigned long)got);
      break;
    }
    got = unixsock__retry(s, -errno, POLLIN, &deadline);
    if (got < 0) {
      free(mm);
      free(slot);
      return got;
    }
  }
  /* an empty read once nothing more can arrive (a seqpacket peer gone, reading
   * shut down here) is the end, as in unixsock_recv_message; an empty packet
   * brings credentials (SO_PASSCRED is on), the end no control data at all */
  for (int i = 0; i < got; i++)
    if (mm[i].msg_len == 0 && mm[i].msg_hdr.msg_controllen == 0 &&
        unixsock__platform_read_ended(s->fd)) {
      got = i;
      break;
    }
  for (int i = 0; i < got; i++) {
    unixsock_message *m = &msgs[i];
    struct unixsock__inbox in;
    size_t cap = start_slot(m, &in);
    m->len = mm[i].msg_len;
    if (m->len > cap)
      m->flags |= UNIXSOCK_MSG_TRUNCATED;
    size_t alen = sizeof(m->address);
    if (unixsock__reports_sender(s) &&
        unixsock__addr_format(&slot[i].sa, mm[i].msg_hdr.msg_namelen, m->address, &alen) == 0)
      m->addrlen = alen;
    /* descriptors that did not fit (or no memory to hand them over) were
     * closed: the slot says it lost part of its message */
    if (unixsock__cmsg_parse(&mm[i].msg_hdr, &in) < 0 ||
        unixsock__inbox_to_message(&in, m) < 0)
      m->flags |= UNIXSOCK_MSG_TRUNCATED;
  }
  free(mm);
  free(slot);
  return got;
}

/* A dgram endpoint with an allow-list judges each datagram before it takes a
 * slot, so it receives them one by one (the first waited for). */
static int recv_admitted(unixsock *s, unixsock_message *msgs, size_t count) {
  size_t got = 0;
  long long deadline = UNIXSOCK__NO_DEADLINE_YET;
  int r = 0;
  while (got < count) {
    unixsock_message *m = &msgs[got];
    struct unixsock__inbox in;
    size_t cap = start_slot(m, &in);
    /* only the first is waited for: said per call, not by the shared timeout */
    if (got > 0)
      deadline = UNIXSOCK__NEVER_WAIT;
    ssize_t n = unixsock__recv_packet(s, m->data, cap, &in, m, &deadline);
    if (n < 0 && n != -ENOBUFS) {
      m->len = cap;
      r = (int)n;
      break;
    }
    if (!in.has_creds || !unixsock__admitted(s, in.creds.uid, in.creds.gid)) {
      unixsock__close_fds(in.fds, in.nfds);
      unixsock__count_refused(s);
      m->len = cap;
      continue;
    }
    m->len = n < 0 ? 0 : (size_t)n;
    if (n < 0 || m->len > cap || unixsock__inbox_to_message(&in, m) < 0)
      m->flags |= UNIXSOCK_MSG_TRUNCATED;
    got++;
  }
  return got > 0 ? (int)got : r;
}

int unixsock_recv_batch(unixsock *sock, unixsock_message *msgs, size_t count) {
  if (sock == NULL || (msgs == NULL && count > 0) || count > 0x7fffffff)
    return -EINVAL;
  for (size_t i = 0; i < count; i++)
    if (msgs[i].data == NULL && msgs[i].len > 0)
      return -EINVAL;
  if (count == 0)
    return 0;
  int r = unixsock__passcred(sock);
  if (r < 0)
    return r;
  if (sock->kind == UNIXSOCK_STREAM)
    return recv_frames(sock, msgs, count);
  if (unixsock__has_allow_list(sock))
    return recv_admitted(sock, msgs, count);
  return recv_packets(sock, msgs, count);
}
