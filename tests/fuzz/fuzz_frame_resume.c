/* libFuzzer: stream frames cut at any byte and read back by any mix of calls.
 * The input names some well-formed frames and then a script: how many wire bytes
 * to write before each read, and which read (recv_message, or recv_batch with so
 * many slots of such a size).  Every read has timeout 0, so a frame can be cut
 * anywhere and must be resumed by whichever call comes next.  Batch slots are
 * malloc'd for one call and freed after it, so a write into a slot after its call
 * returned is a use-after-free that ASan reports.  Checked: the messages read are
 * exactly the frames written, in order; each batch message is in its own slot; a
 * plain read inside a cut frame is -EBUSY. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#define MUST(c) \
  do { \
    if (!(c)) \
      abort(); \
  } while (0)

enum { MAX_FRAMES = 32, MAX_LEN = 4096 };

struct expect {
  size_t count, next;
  size_t len[MAX_FRAMES];
  unsigned char seed[MAX_FRAMES];
};

static unsigned char payload_byte(unsigned char seed, size_t i) {
  return (unsigned char)(seed * 31u + i * 7u);
}

static void check_message(struct expect *e, const unixsock_message *m) {
  MUST(e->next < e->count);
  size_t k = e->next++;
  MUST(m->len == e->len[k] && m->nfds == 0);
  const unsigned char *p = m->data;
  for (size_t i = 0; i < m->len; i++)
    MUST(p[i] == payload_byte(e->seed[k], i));
}

/* One read as the op byte says; 1 when it ended inside a frame (EAGAIN). */
static int read_once(unixsock *s, struct expect *e, unsigned char op) {
  static const size_t slot_sizes[] = {0, 8, 64, MAX_LEN};
  if ((op & 3) == 0) {
    unixsock_message m = {0};
    int r = unixsock_recv_message(s, &m);
    if (r == 1)
      check_message(e, &m);
    else
      MUST(r == -EAGAIN);
    unixsock_message_release(&m);
    return r == -EAGAIN;
  }
  size_t count = 1 + ((op >> 2) & 15), size = slot_sizes[op >> 6];
  unixsock_message ms[16];
  char *slot[16];
  memset(ms, 0, sizeof(ms));
  for (size_t i = 0; i < count; i++) {
    slot[i] = malloc(size ? size : 1);
    MUST(slot[i] != NULL);
    ms[i].data = slot[i];
    ms[i].len = size;
  }
  int r = unixsock_recv_batch(s, ms, count);
  MUST(r == -EAGAIN || r == -EMSGSIZE || (r > 0 && (size_t)r <= count));
  for (int i = 0; i < r; i++) {
    MUST(ms[i].data == slot[i]);
    check_message(e, &ms[i]);
    unixsock_message_release(&ms[i]);
  }
  for (size_t i = 0; i < count; i++)
    free(slot[i]);
  return r == -EAGAIN;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (size < 1)
    return 0;
  struct expect e = {.count = data[0] % MAX_FRAMES};
  size_t at = 1;
  if (size < at + 2 * e.count)
    return 0;
  /* the wire: each frame's length from the input, its payload made from its index */
  static unsigned char wire[MAX_FRAMES * (UNIXSOCK__FRAME_HEADER + MAX_LEN)];
  size_t wlen = 0;
  for (size_t k = 0; k < e.count; k++, at += 2) {
    e.len[k] = (((size_t)data[at] << 8) | data[at + 1]) % MAX_LEN;
    e.seed[k] = (unsigned char)k;
    unixsock__frame_header(wire + wlen, e.len[k], 0, false);
    wlen += UNIXSOCK__FRAME_HEADER;
    for (size_t i = 0; i < e.len[k]; i++)
      wire[wlen++] = payload_byte(e.seed[k], i);
  }
  int sv[2];
  MUST(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  int big = 1 << 20;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  unixsock *s;
  MUST(unixsock_adopt(sv[0], &s) == 0);
  MUST(unixsock_settimeout(s, 0) == 0);
  size_t written = 0;
  for (; at + 1 < size; at += 2) {
    size_t chunk = data[at];
    if (chunk > wlen - written)
      chunk = wlen - written;
    MUST(write(sv[1], wire + written, chunk) == (ssize_t)chunk);
    written += chunk;
    if (read_once(s, &e, data[at + 1])) {
      char b[4];
      int inside = unixsock_try_recv(s, b, sizeof(b));
      MUST(inside == -EBUSY || inside == -EAGAIN); /* EAGAIN: at a frame boundary */
    }
  }
  /* the rest of the wire, then the end: every frame must come out whole */
  MUST(write(sv[1], wire + written, wlen - written) == (ssize_t)(wlen - written));
  close(sv[1]);
  for (;;) {
    unixsock_message m = {0};
    int r = unixsock_recv_message(s, &m);
    MUST(r >= 0);
    if (r == 0)
      break;
    check_message(&e, &m);
    unixsock_message_release(&m);
  }
  MUST(e.next == e.count);
  unixsock_close(s);
  return 0;
}
