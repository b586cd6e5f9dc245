/* Stream frames: the wire format, split and merged reads, oversize, EOF
 * mid-frame, malformed headers, resuming after a timeout. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

/* A stream pair whose one end is a raw fd, to write the wire bytes by hand. */
static void raw_pair(unixsock **ret, int *ret_raw) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  CHECK_OK(unixsock_adopt(sv[0], ret));
  *ret_raw = sv[1];
}

/* The same with timeout 0 on the unixsock end: frames can be cut at any byte. */
static void raw_pair_never_waiting(unixsock **ret, int *ret_raw) {
  raw_pair(ret, ret_raw);
  CHECK_OK(unixsock_settimeout(*ret, 0));
}

static void header(unsigned char *h, unsigned len, unsigned nfds, unsigned flags) {
  h[0] = (unsigned char)(len >> 24);
  h[1] = (unsigned char)(len >> 16);
  h[2] = (unsigned char)(len >> 8);
  h[3] = (unsigned char)len;
  h[4] = (unsigned char)nfds;
  h[5] = (unsigned char)flags;
  h[6] = 'U';
  h[7] = 'S';
}

/* A whole frame of payload (no fds, no creds) in wire, which holds 8 + its length. */
static void frame_of(unsigned char *wire, const char *payload) {
  header(wire, (unsigned)strlen(payload), 0, 0);
  memcpy(wire + 8, payload, strlen(payload));
}

/* unixsock_frame_error(a, -err) is want, whole, and cut to fit a smaller buffer;
 * for another error there is none. */
static void frame_error_is(unixsock *a, int err, const char *want) {
  char buf[256];
  size_t n = unixsock_frame_error(a, -err, buf, sizeof(buf));
  if (strcmp(buf, want) != 0)
    check_fail(__FILE__, __LINE__, "frame error \"%s\", expected \"%s\"", buf, want);
  CHECK_EQ(n, strlen(want));
  char small[8];
  CHECK_EQ(unixsock_frame_error(a, -err, small, sizeof(small)), strlen(want));
  CHECK(strncmp(small, want, 7) == 0 && small[7] == '\0');
  CHECK_EQ(unixsock_frame_error(a, -err, NULL, 0), strlen(want)); /* the length alone */
  CHECK_EQ(unixsock_frame_error(a, -EAGAIN, NULL, 0), 0);
}

TEST(test_frame_wire_format_is_as_documented) {
  unixsock *a;
  int raw;
  raw_pair(&a, &raw);
  unixsock_message m = {0};
  m.data = "abc";
  m.len = 3;
  CHECK_EQ(unixsock_send_message(a, &m), 3);
  unsigned char buf[16], want[11];
  header(want, 3, 0, 0);
  memcpy(want + 8, "abc", 3);
  CHECK_EQ(read(raw, buf, sizeof(buf)), 11);
  CHECK(memcmp(buf, want, 11) == 0);
  close(raw);
  unixsock_close(a);
}

TEST(test_frame_split_across_many_reads) {
  unixsock *a;
  int raw;
  raw_pair(&a, &raw);
  unsigned char wire[8 + 5];
  frame_of(wire, "hello");
  CHECK_OK(unixsock_settimeout(a, 20));
  unixsock_message m = {0};
  for (size_t i = 0; i < sizeof(wire); i++) {
    CHECK_ERR(unixsock_recv_message(a, &m), ETIMEDOUT); /* resumes, loses nothing */
    CHECK(write(raw, wire + i, 1) == 1);
  }
  CHECK_EQ(unixsock_recv_message(a, &m), 1);
  CHECK_EQ(m.len, 5);
  CHECK(memcmp(m.data, "hello", 5) == 0);
  unixsock_message_release(&m);
  close(raw);
  unixsock_close(a);
}

TEST(test_many_frames_in_one_write) {
  unixsock *a;
  int raw;
  raw_pair(&a, &raw);
  unsigned char wire[3 * 9];
  for (int i = 0; i < 3; i++) {
    header(wire + 9 * i, 1, 0, 0);
    wire[9 * i + 8] = (unsigned char)('x' + i);
  }
  CHECK(write(raw, wire, sizeof(wire)) == (ssize_t)sizeof(wire));
  for (int i = 0; i < 3; i++) {
    unixsock_message m = {0};
    CHECK_EQ(unixsock_recv_message(a, &m), 1);
    CHECK_EQ(m.len, 1);
    CHECK_EQ(((char *)m.data)[0], 'x' + i);
    unixsock_message_release(&m);
  }
  close(raw);
  CHECK_EQ(unixsock_recv_message(a, &(unixsock_message){0}), 0); /* clean end */
  unixsock_close(a);
}

TEST(test_oversize_frame_is_emsgsize_and_the_stream_is_closed) {
  unixsock *a;
  int raw;
  raw_pair(&a, &raw);
  CHECK_EQ(unixsock_get_max_message(a), UNIXSOCK_DEFAULT_MAX_MESSAGE);
  CHECK_OK(unixsock_set_max_message(a, 100));
  CHECK_EQ(unixsock_get_max_message(a), 100);
  CHECK_ERR(unixsock_get_max_message(NULL), EINVAL);
  unsigned char h[8];
  header(h, 101, 0, 0);
  CHECK(write(raw, h, 8) == 8);
  unixsock_message m = {0};
  CHECK_ERR(unixsock_recv_message(a, &m), EMSGSIZE);
  frame_error_is(a, EMSGSIZE, "a frame of 101 bytes, over this socket's max_message (100)");
  CHECK_ERR(unixsock_recv_message(a, &m), EMSGSIZE); /* never resynchronised */
  /* the maximum itself is fine, on a fresh stream */
  close(raw);
  unixsock_close(a);
  raw_pair(&a, &raw);
  CHECK_OK(unixsock_set_max_message(a, 100));
  static char payload[100];
  header(h, 100, 0, 0);
  CHECK(write(raw, h, 8) == 8);
  CHECK(write(raw, payload, 100) == 100);
  CHECK_EQ(unixsock_recv_message(a, &m), 1);
  CHECK_EQ(m.len, 100);
  unixsock_message_release(&m);
  close(raw);
  unixsock_close(a);
}

TEST(test_frame_lengths_zero_and_4g_minus_one) {
  unixsock *a;
  int raw;
  raw_pair(&a, &raw);
  unsigned char h[8];
  header(h, 0, 0, 0);
  CHECK(write(raw, h, 8) == 8);
  unixsock_message m = {0};
  CHECK_EQ(unixsock_recv_message(a, &m), 1);
  CHECK_EQ(m.len, 0);
  unixsock_message_release(&m);
  header(h, 0xffffffffu, 0, 0);
  CHECK(write(raw, h, 8) == 8);
  CHECK_ERR(unixsock_recv_message(a, &m), EMSGSIZE);
  close(raw);
  unixsock_close(a);
}

TEST(test_eof_mid_frame_is_econnreset) {
  unixsock *a;
  int raw;
  raw_pair(&a, &raw);
  unsigned char h[8];
  header(h, 10, 0, 0);
  CHECK(write(raw, h, 8) == 8);
  CHECK(write(raw, "abc", 3) == 3);
  close(raw);
  unixsock_message m = {0};
  CHECK_ERR(unixsock_recv_message(a, &m), ECONNRESET);
  frame_error_is(a, ECONNRESET, "the stream ended 3 bytes into a 10-byte message");
  unixsock_close(a);
  raw_pair(&a, &raw);
  CHECK(write(raw, h, 5) == 5); /* inside the header */
  close(raw);
  CHECK_ERR(unixsock_recv_message(a, &m), ECONNRESET);
  frame_error_is(a, ECONNRESET,
                 "the stream ended 5 bytes into a frame header: \"\\x00\\x00\\x00\\x0a\\x00\" "
                 "(a peer that sends plain bytes, not frames?)");
  unixsock_close(a);
}

TEST(test_malformed_header_is_ebadmsg) {
  unsigned char bad[][8] = {
      {0, 0, 0, 1, 0, 0, 'X', 'S'}, /* magic */
      {0, 0, 0, 1, 0, 2, 'U', 'S'}, /* unknown flag */
      {0, 0, 0, 1, 254, 0, 'U', 'S'}, /* too many fds */
      {0, 0, 0, 1, 1, 0, 'U', 'S'}, /* announces an fd that did not come */
  };
  const char *said[] = {
      ("not a unixsock frame header: \"\\x00\\x00\\x00\\x01\\x00\\x00XS\" "
       "(a peer that sends plain bytes, not frames?)"),
      /* the magic is right: a peer that speaks frames, but not these */
      "a frame header with flags 0x02, of which this library knows only 0x01 (credentials)",
      "a frame header announcing 254 descriptors, over the 253 a message carries",
      "a frame announced 1 descriptor and 0 came with it",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    unixsock *a;
    int raw;
    raw_pair(&a, &raw);
    CHECK(write(raw, bad[i], 8) == 8);
    CHECK(write(raw, "z", 1) == 1);
    unixsock_message m = {0};
    CHECK_ERR(unixsock_recv_message(a, &m), EBADMSG);
    frame_error_is(a, EBADMSG, said[i]);
    close(raw);
    unixsock_close(a);
  }
}

TEST(test_fds_travel_with_their_frame) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  int p1[2], p2[2];
  CHECK(pipe2(p1, O_CLOEXEC) == 0 && pipe2(p2, O_CLOEXEC) == 0);
  CHECK(write(p1[1], "one", 3) == 3 && write(p2[1], "two", 3) == 3);
  unixsock_message m[4] = {{0}};
  m[0].data = "plain";
  m[0].len = 5;
  m[1].data = "with one";
  m[1].len = 8;
  m[1].fds = &p1[0];
  m[1].nfds = 1;
  m[2].data = "plain again";
  m[2].len = 11;
  m[3].data = "with two";
  m[3].len = 8;
  m[3].fds = &p2[0];
  m[3].nfds = 1;
  for (int i = 0; i < 4; i++)
    CHECK_EQ(unixsock_send_message(a, &m[i]), (long long)m[i].len);
  const char *want[] = {NULL, "one", NULL, "two"};
  for (int i = 0; i < 4; i++) {
    unixsock_message in = {0};
    CHECK_EQ(unixsock_recv_message(b, &in), 1);
    CHECK_EQ(in.len, m[i].len);
    CHECK_EQ(in.nfds, want[i] ? 1 : 0);
    if (want[i]) {
      char buf[8];
      CHECK_EQ(read(in.fds[0], buf, sizeof(buf)), 3);
      CHECK(memcmp(buf, want[i], 3) == 0);
    }
    unixsock_message_release(&in);
  }
  for (int i = 0; i < 2; i++) {
    close(p1[i]);
    close(p2[i]);
  }
  unixsock_close(a);
  unixsock_close(b);
}

struct big_send {
  unixsock *s;
  char *data;
  size_t len;
};

static void *send_big(void *arg) {
  struct big_send *b = arg;
  unixsock_message m = {0};
  m.data = b->data;
  m.len = b->len;
  unixsock_send_message(b->s, &m);
  return NULL;
}

TEST(test_big_frame_crosses_intact) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  struct big_send bs = {a, malloc(5 << 20), 5 << 20};
  for (size_t i = 0; i < bs.len; i++)
    bs.data[i] = (char)(i * 31);
  pthread_t t;
  pthread_create(&t, NULL, send_big, &bs);
  unixsock_message in = {0};
  CHECK_EQ(unixsock_recv_message(b, &in), 1);
  pthread_join(t, NULL);
  CHECK_EQ(in.len, bs.len);
  CHECK(memcmp(in.data, bs.data, bs.len) == 0);
  unixsock_message_release(&in);
  free(bs.data);
  unixsock_close(a);
  unixsock_close(b);
}

/* ---- timeout 0: a started frame's end is kept, never waited for ---- */

enum { KEPT = 1 << 20 };

typedef ssize_t (*send_fn)(unixsock *, const unixsock_message *);

/* a sends a KEPT-byte frame (with one fd) by send, which must not wait: it goes
 * at once, its rest kept.  Returns the frame's bytes. */
static char *send_kept_frame(unixsock *a, send_fn send) {
  char *data = malloc(KEPT);
  for (size_t i = 0; i < KEPT; i++)
    data[i] = (char)(i * 7);
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  unixsock_message m = {0};
  m.data = data;
  m.len = KEPT;
  m.fds = &fd;
  m.nfds = 1;
  CHECK_EQ(send(a, &m), KEPT);
  close(fd);
  return data;
}

/* A stream pair where a has sent a KEPT-byte frame (with one fd) with timeout 0
 * that could not go whole.  Returns the frame's bytes. */
static char *start_kept_frame(unixsock **ret_a, unixsock **ret_b) {
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, ret_a, ret_b));
  CHECK_OK(unixsock_settimeout(*ret_a, 0));
  char *data = send_kept_frame(*ret_a, unixsock_send_message);
  CHECK_ERR(unixsock_flush(*ret_a), EAGAIN); /* nobody has read yet */
  return data;
}

/* After a kept frame was taken, the next message sent by send crosses whole. */
static void next_message_crosses(unixsock *a, unixsock *b, const char *text, send_fn send) {
  unixsock_message next = {0}, in = {0};
  next.data = (void *)text;
  next.len = strlen(text);
  CHECK_EQ(send(a, &next), (long long)next.len);
  CHECK_OK(unixsock_settimeout(b, 1000));
  CHECK_EQ(unixsock_recv_message(b, &in), 1);
  CHECK_EQ(in.len, next.len);
  CHECK(memcmp(in.data, text, next.len) == 0);
  unixsock_message_release(&in);
}

/* b takes the frame while a flushes; both non-blocking, like an event loop. */
static void take_kept_frame(unixsock *a, unixsock *b, const char *data) {
  unixsock_message in = {0};
  int got = -EAGAIN, flushed = -EAGAIN;
  CHECK_OK(unixsock_settimeout(b, 0));
  for (int i = 0; i < 100000 && got != 1; i++) {
    if (flushed != 0)
      flushed = unixsock_flush(a);
    got = unixsock_recv_message(b, &in);
    CHECK(got == 1 || got == -EAGAIN);
  }
  CHECK_EQ(got, 1);
  CHECK_EQ(unixsock_flush(a), 0);
  CHECK_EQ(in.len, KEPT);
  CHECK(memcmp(in.data, data, KEPT) == 0);
  CHECK_EQ(in.nfds, 1); /* the fd went with the frame's first bytes */
  unixsock_message_release(&in);
}

TEST(test_timeout_0_keeps_the_end_of_a_frame_and_flush_writes_it) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_EQ(unixsock_flush(a), 0); /* nothing kept: nothing to do */
  unixsock_close(a);
  unixsock_close(b);
  char *data = start_kept_frame(&a, &b);
  take_kept_frame(a, b, data);
  next_message_crosses(a, b, "next", unixsock_send_message);
  free(data);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_no_write_lands_inside_a_kept_frame) {
  unixsock *a, *b;
  char *data = start_kept_frame(&a, &b);
  unixsock_message small = {0};
  small.data = "zz";
  small.len = 2;
  CHECK_ERR(unixsock_send(a, "zz", 2), EAGAIN);
  CHECK_ERR(unixsock_try_send(a, "zz", 2), EAGAIN);
  CHECK_ERR(unixsock_send_message(a, &small), EAGAIN);
  CHECK_ERR(unixsock_send_batch(a, &small, 1), EAGAIN);
  CHECK_ERR(unixsock_shutdown(a, UNIXSOCK_SHUT_WR), EAGAIN);
  CHECK_OK(unixsock_settimeout(a, 50));
  CHECK_ERR(unixsock_flush(a), ETIMEDOUT); /* a timeout waits, then keeps it */
  CHECK_ERR(unixsock_send(a, "zz", 2), ETIMEDOUT);
  CHECK_OK(unixsock_settimeout(a, 0));
  take_kept_frame(a, b, data); /* whole: none of the "zz" got in */
  CHECK_OK(unixsock_shutdown(a, UNIXSOCK_SHUT_WR));
  unixsock_message in = {0};
  CHECK_EQ(unixsock_recv_message(b, &in), 0); /* then end of stream, nothing else */
  free(data);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_detach_waits_for_a_kept_frame) {
  unixsock *a, *b;
  char *data = start_kept_frame(&a, &b);
  CHECK_ERR(unixsock_detach(a), EBUSY);     /* a new owner's writes would splice */
  CHECK_ERR(unixsock_release(a, 0), EBUSY); /* and the handle is still usable */
  take_kept_frame(a, b, data);
  int fd = unixsock_detach(a);
  CHECK(fd >= 0);
  close(fd);
  free(data);
  unixsock_close(b);
}

TEST(test_close_with_a_kept_frame_cuts_it) {
  unixsock *a, *b;
  char *data = start_kept_frame(&a, &b);
  unixsock_close(a); /* the peer must see a cut frame, not a short one */
  unixsock_message in = {0};
  CHECK_OK(unixsock_settimeout(b, 1000));
  CHECK_ERR(unixsock_recv_message(b, &in), ECONNRESET);
  free(data);
  unixsock_close(b);
}

TEST(test_a_kept_frame_to_a_closed_peer_is_epipe_and_dropped) {
  unixsock *a, *b;
  char *data = start_kept_frame(&a, &b);
  unixsock_close(b);
  CHECK_ERR(unixsock_flush(a), EPIPE);
  CHECK_EQ(unixsock_flush(a), 0); /* dropped: it can never arrive */
  CHECK_ERR(unixsock_send(a, "x", 1), EPIPE);
  free(data);
  unixsock_close(a);
}

TEST(test_detach_after_the_peer_left_drops_the_kept_frame) {
  unixsock *a, *b;
  char *data = start_kept_frame(&a, &b);
  unixsock_close(b); /* the rest can never arrive: nothing to wait for */
  int fd = unixsock_detach(a);
  CHECK(fd >= 0);
  close(fd);
  free(data);
}

/* On a blocking stream a try_recv_message never waits: half a frame is -EAGAIN
 * (the frame's start is kept, not lost), and the try after the rest came returns
 * it whole.  With a timeout of 5 s, a try that waited would be -ETIMEDOUT. */
TEST(test_try_recv_message_on_a_blocking_stream_keeps_a_frame_begun) {
  unixsock *a, *b;
  char *data = start_kept_frame(&a, &b);
  CHECK_OK(unixsock_settimeout(b, 5000));
  unixsock_message in = {0};
  in.max_fds = 1;
  int got = unixsock_try_recv_message(b, &in), flushed = -EAGAIN, tries = 1;
  CHECK_ERR(got, EAGAIN); /* the frame is longer than the socket's buffer */
  CHECK_EQ(in.max_fds, 1); /* kept for the next call */
  for (; tries < 100000 && got != 1; tries++) {
    if (flushed != 0)
      flushed = unixsock_flush(a);
    got = unixsock_try_recv_message(b, &in);
    CHECK(got == 1 || got == -EAGAIN);
  }
  CHECK_EQ(got, 1);
  CHECK_EQ(in.len, KEPT);
  CHECK(memcmp(in.data, data, KEPT) == 0);
  CHECK_EQ(in.nfds, 1);
  CHECK_EQ(in.max_fds, 1);
  unixsock_message_release(&in);
  CHECK_EQ(unixsock_flush(a), 0);
  next_message_crosses(a, b, "after", unixsock_send_message);
  free(data);
  unixsock_close(a);
  unixsock_close(b);
}

/* On a blocking stream too, a try is timeout 0's send_message: the frame's end is
 * kept for flush, and a try behind a kept end writes nothing (-EAGAIN). */
TEST(test_try_send_message_on_a_blocking_stream_keeps_the_end_of_a_frame) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_OK(unixsock_settimeout(a, -1));
  char *data = send_kept_frame(a, unixsock_try_send_message); /* at once: the rest is kept */
  unixsock_message small = {0};
  small.data = "zz";
  small.len = 2;
  CHECK_ERR(unixsock_try_send_message(a, &small), EAGAIN);
  CHECK_OK(unixsock_settimeout(a, 0)); /* this thread also reads: flush must not wait */
  take_kept_frame(a, b, data);
  next_message_crosses(a, b, "zz", unixsock_try_send_message);
  free(data);
  unixsock_close(a);
  unixsock_close(b);
}

/* ---- a frame cut by a timeout, resumed by a later call ---- */

/* A recv_batch slot is the caller's only for that call: a frame whose payload
 * started in it and was cut by the timeout is finished elsewhere, never by
 * writing into the slot after the call returned (the caller may have freed it). */
TEST(test_a_frame_cut_in_a_batch_slot_never_writes_the_slot_later) {
  unixsock *a;
  int raw;
  raw_pair_never_waiting(&a, &raw);
  unsigned char wire[8 + 6];
  frame_of(wire, "abcdef");
  CHECK(write(raw, wire, 8 + 3) == 8 + 3); /* header and half the payload */
  char slot[16];
  unixsock_message m[1] = {{0}};
  m[0].data = slot;
  m[0].len = sizeof(slot);
  CHECK_ERR(unixsock_recv_batch(a, m, 1), EAGAIN);
  memset(slot, 'x', sizeof(slot)); /* the caller reuses its buffer */
  CHECK(write(raw, wire + 11, 3) == 3);
  unixsock_message whole = {0};
  CHECK_EQ(unixsock_recv_message(a, &whole), 1);
  CHECK_EQ(whole.len, 6);
  CHECK(whole.data != slot);
  CHECK(memcmp(whole.data, "abcdef", 6) == 0);
  for (size_t i = 0; i < sizeof(slot); i++)
    CHECK(slot[i] == 'x');
  unixsock_message_release(&whole);
  /* and a frame cut in recv_message finishes in a later batch's own slot */
  CHECK(write(raw, wire, 8 + 2) == 8 + 2);
  CHECK_ERR(unixsock_recv_message(a, &whole), EAGAIN);
  CHECK(write(raw, wire + 10, 4) == 4);
  char slot2[8];
  m[0].data = slot2;
  m[0].len = sizeof(slot2);
  CHECK_EQ(unixsock_recv_batch(a, m, 1), 1);
  CHECK(m[0].data == slot2);
  CHECK_EQ(m[0].len, 6);
  CHECK(memcmp(slot2, "abcdef", 6) == 0);
  unixsock_message_release(&m[0]);
  /* a resumed frame too big for the new slot stays whole for recv_message */
  CHECK(write(raw, wire, 8 + 1) == 8 + 1);
  CHECK_ERR(unixsock_recv_message(a, &whole), EAGAIN);
  CHECK(write(raw, wire + 9, 5) == 5);
  m[0].data = slot2;
  m[0].len = 4;
  CHECK_ERR(unixsock_recv_batch(a, m, 1), EMSGSIZE);
  CHECK_EQ(unixsock_recv_message(a, &whole), 1);
  CHECK(memcmp(whole.data, "abcdef", 6) == 0);
  unixsock_message_release(&whole);
  close(raw);
  unixsock_close(a);
}

/* Bytes after a frame the stream could not be read past are not the start of
 * anything: a plain read is refused as recv_message is, not handed them. */
TEST(test_a_plain_read_after_a_broken_frame_is_refused) {
  unixsock *a;
  int raw;
  raw_pair(&a, &raw);
  unsigned char bad[8] = {0, 0, 0, 1, 0, 0, 'X', 'S'};
  CHECK(write(raw, bad, 8) == 8);
  CHECK(write(raw, "queued", 6) == 6);
  unixsock_message m = {0};
  CHECK_ERR(unixsock_recv_message(a, &m), EBADMSG);
  char buf[16];
  CHECK_ERR(unixsock_recv(a, buf, sizeof(buf)), EBADMSG);
  CHECK_ERR(unixsock_try_recv(a, buf, sizeof(buf)), EBADMSG);
  size_t namelen = 0;
  CHECK_ERR(unixsock_recvfrom(a, buf, sizeof(buf), NULL, &namelen), EBADMSG);
  close(raw);
  unixsock_close(a);
}

/* A plain read in the middle of a frame would hand out its payload's bytes and
 * leave recv_message to read the next frame's header from the rest: refused
 * (-EBUSY) until recv_message has finished the frame. */
TEST(test_a_plain_read_inside_a_cut_frame_is_ebusy) {
  unixsock *a;
  int raw;
  raw_pair_never_waiting(&a, &raw);
  unsigned char wire[8 + 4];
  frame_of(wire, "wxyz");
  CHECK(write(raw, wire, 5) == 5); /* inside the header */
  unixsock_message m = {0};
  CHECK_ERR(unixsock_recv_message(a, &m), EAGAIN);
  char buf[16];
  CHECK_ERR(unixsock_recv(a, buf, sizeof(buf)), EBUSY);
  CHECK(write(raw, wire + 5, 5) == 5); /* inside the payload */
  CHECK_ERR(unixsock_recv_message(a, &m), EAGAIN);
  CHECK_ERR(unixsock_try_recv(a, buf, sizeof(buf)), EBUSY);
  CHECK(write(raw, wire + 10, 2) == 2);
  CHECK_EQ(unixsock_recv_message(a, &m), 1);
  CHECK(memcmp(m.data, "wxyz", 4) == 0);
  unixsock_message_release(&m);
  CHECK(write(raw, "raw", 3) == 3); /* between frames, plain reads are fine */
  CHECK_EQ(unixsock_recv(a, buf, sizeof(buf)), 3);
  close(raw);
  unixsock_close(a);
}

/* Handing the fd over inside a cut frame would lose the part already read. */
TEST(test_detach_inside_a_cut_frame_is_ebusy) {
  unixsock *a;
  int raw;
  raw_pair_never_waiting(&a, &raw);
  unsigned char wire[8 + 2];
  frame_of(wire, "hi");
  CHECK(write(raw, wire, 9) == 9);
  unixsock_message m = {0};
  CHECK_ERR(unixsock_recv_message(a, &m), EAGAIN);
  CHECK_ERR(unixsock_detach(a), EBUSY); /* the handle is still ours */
  CHECK(write(raw, wire + 9, 1) == 1);
  CHECK_EQ(unixsock_recv_message(a, &m), 1);
  CHECK(memcmp(m.data, "hi", 2) == 0);
  unixsock_message_release(&m);
  int fd = unixsock_detach(a);
  CHECK(fd >= 0);
  close(fd);
  close(raw);
}

/* With timeout 0 the end of a started frame is kept in memory; when there is no
 * memory for it, the call must still not wait: ENOMEM, and the frame is cut (the
 * stream shut for writing, as a deadline passing mid-frame does).  It used to wait
 * for room with no timeout at all. */
TEST(test_no_memory_to_keep_a_frame_end_is_enomem_at_once_and_cuts_it) {
  enum { LEN = 64 << 20 };
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_OK(unixsock_settimeout(a, 0));
  char *big = malloc(LEN);
  CHECK(big != NULL);
  memset(big, 'k', LEN);
  long pages = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  CHECK(f != NULL && fscanf(f, "%ld", &pages) == 1);
  fclose(f);
  /* room for what runs now and a little more, never for a copy of the rest */
  struct rlimit as = {(rlim_t)pages * 4096 + (16 << 20), RLIM_INFINITY};
  CHECK(setrlimit(RLIMIT_AS, &as) == 0);
  unixsock_message m = {0};
  m.data = big;
  m.len = LEN;
  CHECK_ERR(unixsock_send_message(a, &m), ENOMEM);
  as.rlim_cur = RLIM_INFINITY; /* the reader needs room for the payload */
  CHECK(setrlimit(RLIMIT_AS, &as) == 0);
  unixsock_message in = {0};
  CHECK_OK(unixsock_set_max_message(b, LEN));
  CHECK_ERR(unixsock_recv_message(b, &in), ECONNRESET); /* the frame was cut */
  free(big);
  unixsock_close(a);
  unixsock_close(b);
}

/* Plain bytes from socat or a shell read as "Connection reset by peer" or "Bad
 * message" alone; the error now says what came. */
TEST(test_frame_error_says_how_a_stream_broke) {
  unixsock *a;
  int raw;
  char buf[64] = "untouched";
  raw_pair(&a, &raw);
  CHECK_EQ(unixsock_frame_error(a, -EBADMSG, buf, sizeof(buf)), 0); /* nothing broke */
  CHECK(strcmp(buf, "untouched") == 0);
  CHECK_EQ(unixsock_frame_error(NULL, -EBADMSG, buf, sizeof(buf)), 0);
  CHECK(write(raw, "GET /\"\\\r\n", 9) == 9);
  unixsock_message m = {0};
  CHECK_ERR(unixsock_recv_message(a, &m), EBADMSG);
  frame_error_is(a, EBADMSG,
                 "not a unixsock frame header: \"GET /\\x22\\x5c\\x0d\" "
                 "(a peer that sends plain bytes, not frames?)");
  close(raw);
  unixsock_close(a);

  raw_pair(&a, &raw);
  CHECK(write(raw, "hey", 3) == 3);
  close(raw);
  CHECK_ERR(unixsock_recv_message(a, &m), ECONNRESET);
  frame_error_is(a, ECONNRESET,
                 "the stream ended 3 bytes into a frame header: \"hey\" "
                 "(a peer that sends plain bytes, not frames?)");
  unixsock_close(a);
}
