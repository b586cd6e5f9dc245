/* Messages on a stream: length-prefixed frames (docs/wire-format.md).
 *
 *   bytes 0-3  payload length, unsigned, big-endian
 *   byte  4    number of descriptors sent with the frame (0-253)
 *   byte  5    flags: bit 0 = the sender attached its credentials; others 0
 *   bytes 6-7  'U' 'S'
 *
 * Descriptors and credentials travel as control data on the sendmsg() that
 * carries the header, so the kernel hands them over with the header's bytes;
 * the receiver reads exactly one header, then exactly one payload, so nothing
 * of the next frame is ever read early.  A receive interrupted by a timeout keeps
 * its place: the next call resumes the same frame. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "internal.h"

enum { HEADER = UNIXSOCK__FRAME_HEADER, FLAG_CREDS = 1 };

struct unixsock__frame_in {
  unsigned char hdr[HEADER];
  size_t hdr_have;
  size_t len;         /* payload length, once the header is whole */
  char *payload;
  bool payload_owned; /* malloc'd here (else the caller's buffer) */
  size_t got;
  int broken;         /* -errno once the stream cannot be resynchronised */
  char fault[256];    /* why, where the errno alone does not say (unixsock_frame_error) */
  struct unixsock__inbox box;
};

void unixsock__frame_header(unsigned char *h, size_t len, size_t nfds, bool creds) {
  h[0] = (unsigned char)(len >> 24);
  h[1] = (unsigned char)(len >> 16);
  h[2] = (unsigned char)(len >> 8);
  h[3] = (unsigned char)len;
  h[4] = (unsigned char)nfds;
  h[5] = creds ? FLAG_CREDS : 0;
  h[6] = 'U';
  h[7] = 'S';
}

static size_t frame_length(const unsigned char *h) {
  return ((size_t)h[0] << 24) | ((size_t)h[1] << 16) | ((size_t)h[2] << 8) | h[3];
}

int unixsock__frame_parse(const unsigned char *h, size_t max, size_t *ret_len,
                          size_t *ret_nfds) {
  if (h[6] != 'U' || h[7] != 'S' || (h[5] & ~FLAG_CREDS) != 0 || h[4] > UNIXSOCK_MAX_FDS)
    return -EBADMSG;
  size_t len = frame_length(h);
  if (len > max)
    return -EMSGSIZE;
  *ret_len = len;
  *ret_nfds = h[4];
  return 0;
}

/* ---- sending ---- */

void unixsock__frame_drop_tail(unixsock *s) {
  free(s->out_tail);
  s->out_tail = NULL;
  s->out_len = s->out_done = 0;
}

int unixsock__frame_flush_locked(unixsock *s, long long *deadline) {
  bool nowait = unixsock__timeout(s) >= 0 || *deadline == UNIXSOCK__NEVER_WAIT;
  int flags = MSG_NOSIGNAL | (nowait ? MSG_DONTWAIT : 0);
  while (s->out_tail != NULL) {
    ssize_t n = send(s->fd, s->out_tail + s->out_done, s->out_len - s->out_done, flags);
    if (n >= 0) {
      s->out_done += (size_t)n;
      if (s->out_done == s->out_len)
        unixsock__frame_drop_tail(s);
      continue;
    }
    int r = unixsock__retry(s, -errno, POLLOUT, deadline);
    if (r == -EAGAIN || r == -ETIMEDOUT || r == -EINTR)
      return r;
    if (r < 0) { /* the peer is gone: the rest of the frame can never arrive */
      unixsock__frame_drop_tail(s);
      return r;
    }
  }
  return 0;
}

int unixsock__frame_flush(unixsock *s, long long *deadline) {
  int r = unixsock__send_lock(s, deadline);
  if (r < 0)
    return r;
  r = unixsock__frame_flush_locked(s, deadline);
  unixsock__send_unlock(s);
  return r;
}

int unixsock_flush(unixsock *sock) {
  if (sock == NULL)
    return -EINVAL;
  if (sock->fd < 0)
    return -EBADF;
  long long deadline = UNIXSOCK__NO_DEADLINE_YET;
  return unixsock__frame_flush(sock, &deadline);
}

/* A send that must not wait has written the start of a frame: keep the rest (what
 * mh still points at) to be written by the next call on the stream.  -ENOMEM when
 * it cannot be kept. */
static int keep_tail(unixsock *s, const struct msghdr *mh) {
  size_t len = 0;
  for (size_t i = 0; i < (size_t)mh->msg_iovlen; i++)
    len += mh->msg_iov[i].iov_len;
  char *tail = malloc(len);
  if (tail == NULL)
    return -ENOMEM;
  size_t at = 0;
  for (size_t i = 0; i < (size_t)mh->msg_iovlen; i++) {
    memcpy(tail + at, mh->msg_iov[i].iov_base, mh->msg_iov[i].iov_len);
    at += mh->msg_iov[i].iov_len;
  }
  s->out_tail = tail;
  s->out_len = len;
  s->out_done = 0;
  return 0;
}

/* Write all of iov (control data goes with the first bytes), after what an
 * earlier frame left.  A frame once started is never followed by another before
 * it ends: a deadline that passes mid-frame shuts the stream down for writing, so
 * the peer sees a cut frame (ECONNRESET), never a spliced one; with timeout 0 (or
 * now) the rest is kept and written by the next call on the stream (or
 * unixsock_flush). */
static ssize_t write_locked(unixsock *s, struct msghdr *mh, bool now, long long deadline);

ssize_t unixsock__frame_write(unixsock *s, struct msghdr *mh, bool now) {
  long long deadline = now ? UNIXSOCK__NEVER_WAIT : UNIXSOCK__NO_DEADLINE_YET;
  int r = unixsock__send_lock(s, &deadline); /* another thread's frame goes first, whole */
  if (r < 0)
    return r;
  ssize_t n = write_locked(s, mh, now, deadline);
  unixsock__send_unlock(s);
  return n;
}

static ssize_t write_locked(unixsock *s, struct msghdr *mh, bool now, long long deadline) {
  int flags = MSG_NOSIGNAL | (now ? MSG_DONTWAIT : unixsock__wait_flag(s));
  size_t total = 0, done = 0;
  if (s->out_tail != NULL) {
    int kept = unixsock__frame_flush_locked(s, &deadline);
    if (kept < 0)
      return kept;
  }
  for (size_t i = 0; i < (size_t)mh->msg_iovlen; i++)
    total += mh->msg_iov[i].iov_len;
  for (;;) {
    ssize_t n = sendmsg(s->fd, mh, flags);
    if (n >= 0) {
      done += (size_t)n;
      if (done == total)
        return (ssize_t)total;
      mh->msg_control = NULL; /* sent with the first bytes */
      mh->msg_controllen = 0;
      while (n > 0) { /* advance past what was written */
        if ((size_t)n >= mh->msg_iov->iov_len) {
          n -= (ssize_t)mh->msg_iov->iov_len;
          mh->msg_iov++;
          mh->msg_iovlen--;
        } else {
          mh->msg_iov->iov_base = (char *)mh->msg_iov->iov_base + n;
          mh->msg_iov->iov_len -= (size_t)n;
          n = 0;
        }
      }
      continue;
    }
    int err = -errno;
    if (done > 0 && err == -EAGAIN && (now || unixsock__timeout(s) == 0)) {
      if (keep_tail(s, mh) == 0)
        return (ssize_t)total;
      err = -ENOMEM; /* no memory to keep the rest: cut, as a passing deadline does,
                      * rather than wait against "never wait" */
    } else {
      err = unixsock__retry(s, err, POLLOUT, &deadline);
    }
    if (err < 0) {
      if (done > 0)
        shutdown(s->fd, SHUT_WR);
      return err;
    }
  }
}

ssize_t unixsock__frame_send(unixsock *s, const unixsock_message *msg, bool now) {
  unsigned char h[HEADER];
  union unixsock__cmsgbuf cb;
  if (msg->len > 0xffffffffu)
    return -EMSGSIZE;
  bool creds = msg->flags & UNIXSOCK_MSG_CREDS;
  unixsock__frame_header(h, msg->len, msg->nfds, creds);
  struct iovec iov[2] = {{h, HEADER}, {msg->data, msg->len}};
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = msg->len ? 2 : 1};
  int r = unixsock__cmsg_build(&mh, &cb, msg->fds, msg->nfds, creds);
  if (r < 0)
    return r;
  ssize_t n = unixsock__frame_write(s, &mh, now);
  return n < 0 ? n : (ssize_t)msg->len;
}

int unixsock__frame_let_go(unixsock *s, bool closing) {
  if (unixsock__send_trylock(s)) {
    if (s->out_tail != NULL) {
      long long never = UNIXSOCK__NEVER_WAIT;
      (void)unixsock__frame_flush_locked(s, &never); /* an error of the connection drops it */
    }
    bool kept = s->out_tail != NULL;
    unixsock__send_unlock(s);
    if (kept && !closing)
      return -EBUSY; /* a new owner's writes would land inside that frame */
  } else if (!closing) {
    return -EBUSY; /* another thread is writing a frame */
  }
  if (!closing && unixsock__plain_read_allowed(s) == -EBUSY)
    return -EBUSY; /* the part of a frame already read would be lost */
  return 0;
}

/* ---- receiving ---- */

void unixsock__frame_free(unixsock *s) {
  struct unixsock__frame_in *in = s->in;
  if (in == NULL)
    return;
  unixsock__close_fds(in->box.fds, in->box.nfds);
  if (in->payload_owned)
    free(in->payload);
  free(in);
  s->in = NULL;
}

static void reset(struct unixsock__frame_in *in) {
  in->hdr_have = 0;
  in->len = 0;
  in->payload = NULL;
  in->payload_owned = false;
  in->got = 0;
  in->box.nfds = 0;
  in->box.has_creds = false;
}

/* The stream cannot be read on from here: drop what arrived, refuse further
 * reads, and tell the peer. */
static int broken(unixsock *s, int err) {
  struct unixsock__frame_in *in = s->in;
  unixsock__close_fds(in->box.fds, in->box.nfds);
  if (in->payload_owned)
    free(in->payload);
  reset(in);
  in->broken = err;
  shutdown(s->fd, SHUT_RD);
  return err;
}

/* broken(), saying why in words for unixsock_frame_error. */
__attribute__((format(printf, 3, 4))) static int broken_why(unixsock *s, int err,
                                                           const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->in->fault, sizeof(s->in->fault), fmt, ap);
  va_end(ap);
  return broken(s, err);
}

/* What a plain-bytes peer (socat, a shell) sent in place of a header: its first
 * bytes, printable ones as they are, so that a user sees their own text. */
static void show_bytes(const unsigned char *b, size_t n, char *out, size_t size) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 4 < size; i++) { /* room for \xNN and the NUL */
    bool plain = b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\';
    o += (size_t)snprintf(out + o, size - o, plain ? "%c" : "\\x%02x", b[i]);
  }
  out[o] = '\0';
}

/* said after what a peer that does not speak frames sent (such a peer's bytes
 * are read with recv) */
static const char PLAIN_BYTES_HINT[] = "a peer that sends plain bytes, not frames?";

/* broken() for a header unixsock__frame_parse refused. With the magic right the
 * peer speaks frames, so what is wrong is named rather than its bytes shown. */
static int broken_header(unixsock *s) {
  const unsigned char *h = s->in->hdr;
  if (h[6] == 'U' && h[7] == 'S' && (h[5] & ~FLAG_CREDS) != 0)
    return broken_why(s, -EBADMSG,
                      "a frame header with flags 0x%02x, of which this library knows only "
                      "0x%02x (credentials)",
                      h[5], FLAG_CREDS);
  if (h[6] == 'U' && h[7] == 'S')
    return broken_why(s, -EBADMSG,
                      "a frame header announcing %u descriptors, over the %d a message carries",
                      h[4], UNIXSOCK_MAX_FDS);
  char shown[4 * HEADER + 1];
  show_bytes(h, HEADER, shown, sizeof(shown));
  return broken_why(s, -EBADMSG, "not a unixsock frame header: \"%s\" (%s)", shown,
                    PLAIN_BYTES_HINT);
}

size_t unixsock__frame_waiting_len(const unixsock *s) {
  const struct unixsock__frame_in *in = __atomic_load_n(&s->in, __ATOMIC_ACQUIRE);
  return in != NULL && !in->broken && in->hdr_have == HEADER && in->got == 0 ? in->len : 0;
}

size_t unixsock_frame_error(const unixsock *sock, int result, char *buf, size_t size) {
  const struct unixsock__frame_in *in =
      sock == NULL ? NULL : __atomic_load_n(&sock->in, __ATOMIC_ACQUIRE);
  if (in == NULL || result >= 0 || in->broken != result || in->fault[0] == '\0')
    return 0;
  size_t len = strlen(in->fault);
  if (size > 0) {
    size_t n = len < size - 1 ? len : size - 1;
    memcpy(buf, in->fault, n);
    buf[n] = '\0';
  }
  return len;
}

/* A payload cut by the timeout while it was going into the caller's buffer: that
 * buffer is the caller's only for this call, so what arrived moves to one of our
 * own, where the next call (into any buffer, or none) goes on. */
static int keep_cut_payload(unixsock *s, int err) {
  struct unixsock__frame_in *in = s->in;
  char *own = malloc(in->len);
  if (own == NULL)
    return broken(s, -ENOMEM);
  memcpy(own, in->payload, in->got);
  in->payload = own;
  in->payload_owned = true;
  return err;
}

int unixsock__frame_reading(const unixsock *s) {
  const struct unixsock__frame_in *in = s->in;
  if (s->fd < 0)
    return 0; /* released: the read itself says EBADF */
  if (__atomic_load_n(&s->receiving, __ATOMIC_ACQUIRE))
    return -EBUSY; /* another thread is inside a frame */
  if (in->broken)
    return in->broken;
  return in->hdr_have > 0 || in->box.nfds > 0 ? -EBUSY : 0;
}

static int read_header(unixsock *s, long long *deadline) {
  struct unixsock__frame_in *in = s->in;
  int flags = MSG_CMSG_CLOEXEC | unixsock__wait_flag_for(s, *deadline);
  while (in->hdr_have < HEADER) {
    union unixsock__cmsgbuf cb;
    struct iovec iov = {in->hdr + in->hdr_have, HEADER - in->hdr_have};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.buf,
                        .msg_controllen = sizeof(cb.buf)};
    ssize_t n = recvmsg(s->fd, &mh, flags);
    if (n < 0) {
      int r = unixsock__retry(s, -errno, POLLIN, deadline);
      if (r < 0)
        return r;
      continue;
    }
    int r = unixsock__cmsg_parse(&mh, &in->box);
    if (r == -ENOBUFS) {
      char why[sizeof(in->fault)];
      unixsock__say_fds_refused(why, sizeof(why), in->box.came, in->box.max_fds, in->box.cut, true);
      return broken_why(s, unixsock__fds_refused(s, &in->box), "%s", why);
    }
    if (r < 0)
      return broken(s, r);
    if (n == 0 && in->hdr_have == 0 && in->box.nfds == 0)
      return 0;
    if (n == 0) {
      char shown[4 * HEADER + 1];
      show_bytes(in->hdr, in->hdr_have, shown, sizeof(shown));
      return broken_why(s, -ECONNRESET,
                        "the stream ended %zu bytes into a frame header: \"%s\" (%s)",
                        in->hdr_have, shown, PLAIN_BYTES_HINT);
    }
    in->hdr_have += (size_t)n;
  }
  return 1;
}

static int read_payload(unixsock *s, long long *deadline) {
  struct unixsock__frame_in *in = s->in;
  int flags = unixsock__wait_flag_for(s, *deadline);
  while (in->got < in->len) {
    ssize_t n = recv(s->fd, in->payload + in->got, in->len - in->got, flags);
    if (n > 0) {
      in->got += (size_t)n;
    } else if (n == 0) {
      return broken_why(s, -ECONNRESET, "the stream ended %zu bytes into a %zu-byte message",
                        in->got, in->len);
    } else {
      int r = unixsock__retry(s, -errno, POLLIN, deadline);
      if (r < 0)
        return r;
    }
  }
  return 1;
}

static int recv_claimed(unixsock *s, unixsock_message *msg, size_t max_fds, void *buf,
                        size_t cap, long long deadline);

int unixsock__frame_recv(unixsock *s, unixsock_message *msg, size_t max_fds, void *buf,
                         size_t cap, bool now) {
  if (!unixsock__recv_claim(s))
    return -EBUSY; /* another thread is receiving: its frame state is not ours to touch */
  int r = recv_claimed(s, msg, max_fds, buf, cap,
                       now ? UNIXSOCK__NEVER_WAIT : UNIXSOCK__NO_DEADLINE_YET);
  unixsock__recv_unclaim(s);
  return r;
}

static int recv_claimed(unixsock *s, unixsock_message *msg, size_t max_fds, void *buf,
                        size_t cap, long long deadline) {
  if (s->fd < 0)
    return -EBADF; /* released, with or without a frame half read */
  if (s->in == NULL) {
    struct unixsock__frame_in *fresh = calloc(1, sizeof(*fresh));
    if (fresh == NULL)
      return -ENOMEM;
    __atomic_store_n(&s->in, fresh, __ATOMIC_RELEASE); /* plain reads look at it */
  }
  struct unixsock__frame_in *in = s->in;
  if (in->broken)
    return in->broken;
  if (in->hdr_have == 0)
    in->box.max_fds = max_fds;
  if (in->hdr_have < HEADER) {
    int r = read_header(s, &deadline);
    if (r <= 0)
      return r;
    size_t nfds;
    r = unixsock__frame_parse(in->hdr, unixsock__max_message(s), &in->len, &nfds);
    if (r == -EBADMSG)
      return broken_header(s);
    if (r == -EMSGSIZE)
      return broken_why(s, r, "a frame of %zu bytes, over this socket's max_message (%zu)",
                        frame_length(in->hdr), unixsock__max_message(s));
    if (r < 0)
      return broken(s, r);
    if (nfds != in->box.nfds) /* fds sent outside a frame, or lost */
      return broken_why(s, -EBADMSG, "a frame announced %zu descriptor%s and %zu came with it",
                        nfds, nfds == 1 ? "" : "s", in->box.nfds);
    /* Once SO_PASSCRED is on the kernel adds the sender's credentials to every
     * write; a frame carries them only when its sender attached them. */
    if ((in->hdr[5] & FLAG_CREDS) == 0)
      in->box.has_creds = false;
  }
  if (buf != NULL && cap < in->len)
    return -ENOSPC; /* the frame stays whole for a bigger buffer */
  if (in->payload == NULL) {
    if (buf != NULL) {
      in->payload = buf;
    } else {
      in->payload = malloc(in->len ? in->len : 1);
      if (in->payload == NULL)
        return -ENOMEM;
      in->payload_owned = true;
    }
  }
  int r = read_payload(s, &deadline);
  if (r < 0 && in->payload != NULL && !in->payload_owned)
    return keep_cut_payload(s, r);
  if (r <= 0)
    return r;
  if (buf != NULL && in->payload_owned) { /* resumed into the caller's buffer */
    memcpy(buf, in->payload, in->len);
    free(in->payload);
    in->payload = buf;
    in->payload_owned = false;
  }
  msg->data = in->payload;
  msg->len = in->len;
  if (in->payload_owned)
    msg->flags |= UNIXSOCK__MSG_OWNS_DATA;
  r = unixsock__inbox_to_message(&in->box, msg);
  reset(in);
  if (r < 0) {
    unixsock_message_release(msg);
    return r;
  }
  return 1;
}
