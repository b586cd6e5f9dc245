/* Batches: many messages per call, with fds and credentials, on every kind. */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static const int kinds[] = {UNIXSOCK_STREAM, UNIXSOCK_DGRAM, UNIXSOCK_SEQPACKET};

/* n outgoing messages "<prefix><i>", their text in texts */
static void label(unixsock_message *out, char (*texts)[16], int n, const char *prefix) {
  memset(out, 0, (size_t)n * sizeof(*out));
  for (int i = 0; i < n; i++) {
    snprintf(texts[i], sizeof(texts[i]), "%s%d", prefix, i);
    out[i].data = texts[i];
    out[i].len = strlen(texts[i]);
  }
}

TEST(test_batch_roundtrip_on_every_kind) {
  for (size_t k = 0; k < 3; k++) {
    unixsock *a, *b;
    CHECK_OK(unixsock_pair(kinds[k], &a, &b));
    enum { N = 100 };
    unixsock_message out[N];
    char texts[N][16];
    label(out, texts, N, "message ");
    CHECK_EQ(unixsock_send_batch(a, out, N), N);
    int got = 0;
    char bufs[N][32];
    while (got < N) {
      unixsock_message in[N];
      memset(in, 0, sizeof(in));
      for (int i = 0; i < N; i++) {
        in[i].data = bufs[i];
        in[i].len = sizeof(bufs[i]);
      }
      int n = unixsock_recv_batch(b, in, (size_t)(N - got));
      CHECK(n > 0);
      for (int i = 0; i < n; i++) {
        CHECK_EQ(in[i].len, strlen(texts[got + i]));
        CHECK(memcmp(in[i].data, texts[got + i], in[i].len) == 0);
        CHECK(!(in[i].flags & UNIXSOCK_MSG_TRUNCATED));
        unixsock_message_release(&in[i]);
      }
      got += n;
    }
    unixsock_close(a);
    unixsock_close(b);
  }
}

TEST(test_batch_carries_fds_and_credentials) {
  for (size_t k = 0; k < 3; k++) {
    unixsock *a, *b;
    CHECK_OK(unixsock_pair(kinds[k], &a, &b));
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK(write(p[1], "piped", 5) == 5);
    unixsock_message out[3] = {{0}};
    out[0].data = "no fd";
    out[0].len = 5;
    out[1].data = "fd";
    out[1].len = 2;
    out[1].fds = &p[0];
    out[1].nfds = 1;
    out[2].data = "creds";
    out[2].len = 5;
    out[2].flags = UNIXSOCK_MSG_CREDS;
    CHECK_EQ(unixsock_send_batch(a, out, 3), 3);
    close(p[0]);
    close(p[1]);
    unixsock_message in[3];
    char bufs[3][16];
    int got = 0;
    while (got < 3) {
      memset(in, 0, sizeof(in));
      for (int i = 0; i < 3; i++) {
        in[i].data = bufs[i];
        in[i].len = sizeof(bufs[i]);
      }
      int n = unixsock_recv_batch(b, in, (size_t)(3 - got));
      CHECK(n > 0);
      for (int i = 0; i < n; i++) {
        int idx = got + i;
        CHECK_EQ(in[i].len, out[idx].len);
        CHECK_EQ(in[i].nfds, idx == 1 ? 1 : 0);
        if (idx == 1) {
          char buf[8];
          CHECK_EQ(read(in[i].fds[0], buf, sizeof(buf)), 5);
          CHECK(memcmp(buf, "piped", 5) == 0);
        }
        if (idx == 2) {
          CHECK(in[i].flags & UNIXSOCK_MSG_CREDS);
          CHECK_EQ(in[i].creds.pid, getpid());
        }
        unixsock_message_release(&in[i]);
      }
      got += n;
    }
    unixsock_close(a);
    unixsock_close(b);
  }
}

TEST(test_batch_slot_too_small) {
  /* dgram: flagged, full length reported, never silent */
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_DGRAM, &a, &b));
  CHECK_EQ(unixsock_send(a, "0123456789", 10), 10);
  char small[4];
  unixsock_message in = {0};
  in.data = small;
  in.len = sizeof(small);
  CHECK_EQ(unixsock_recv_batch(b, &in, 1), 1);
  CHECK(in.flags & UNIXSOCK_MSG_TRUNCATED);
  CHECK_EQ(in.len, 10);
  unixsock_close(a);
  unixsock_close(b);
  /* stream: the frame stays whole for recv_message */
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  unixsock_message out = {0};
  out.data = "0123456789";
  out.len = 10;
  CHECK_EQ(unixsock_send_message(a, &out), 10);
  in.data = small;
  in.len = sizeof(small);
  CHECK_ERR(unixsock_recv_batch(b, &in, 1), EMSGSIZE);
  unixsock_message whole = {0};
  CHECK_EQ(unixsock_recv_message(b, &whole), 1);
  CHECK_EQ(whole.len, 10);
  unixsock_message_release(&whole);
  unixsock_close(a);
  unixsock_close(b);
}

/* Every message waiting comes back, up to count: a batch of 64 or more was
 * handed back 32 at a time (one recvmmsg of 32 slots per call). */
TEST(test_recv_batch_takes_every_waiting_packet_in_one_call) {
  enum { N = 100 };
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_SEQPACKET, &a, &b));
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (int i = 0; i < N; i++) {
    unixsock_message m = {0};
    m.data = &i;
    m.len = sizeof(i);
    m.fds = &fd;
    m.nfds = (size_t)(i % 2);
    CHECK_EQ(unixsock_send_message(a, &m), (long long)sizeof(i));
  }
  close(fd);
  static unixsock_message in[N + 8];
  int bufs[N + 8];
  for (int i = 0; i < N + 8; i++) {
    in[i] = (unixsock_message){0};
    in[i].data = &bufs[i];
    in[i].len = sizeof(bufs[i]);
  }
  CHECK_EQ(unixsock_recv_batch(b, in, N + 8), N);
  for (int i = 0; i < N; i++) {
    CHECK_EQ(bufs[i], i);
    CHECK_EQ(in[i].nfds, (size_t)(i % 2));
    unixsock_message_release(&in[i]);
  }
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_recv_batch_waits_only_for_the_first) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_SEQPACKET, &a, &b));
  CHECK_OK(unixsock_settimeout(b, 50));
  char buf[2][8];
  unixsock_message in[2] = {{0}};
  in[0].data = buf[0];
  in[0].len = 8;
  in[1].data = buf[1];
  in[1].len = 8;
  CHECK_ERR(unixsock_recv_batch(b, in, 2), ETIMEDOUT);
  CHECK_EQ(unixsock_send(a, "one", 3), 3);
  in[0].len = 8;
  in[1].len = 8;
  CHECK_EQ(unixsock_recv_batch(b, in, 2), 1);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_send_batch_refuses_too_many_fds_before_sending) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_DGRAM, &a, &b));
  int fds[254] = {0};
  unixsock_message out[2] = {{0}};
  out[0].data = "ok";
  out[0].len = 2;
  out[1].data = "too many";
  out[1].len = 8;
  out[1].fds = fds;
  out[1].nfds = 254;
  CHECK_ERR(unixsock_send_batch(a, out, 2), E2BIG);
  CHECK_OK(unixsock_settimeout(b, 0));
  char buf[8];
  CHECK_ERR(unixsock_recv(b, buf, sizeof(buf)), EAGAIN); /* nothing was sent */
  unixsock_close(a);
  unixsock_close(b);
}

/* A datagram queue holds only net.unix.max_dgram_qlen messages (10 by default)
 * from senders the receiver is not connected to; a batch larger than that fills
 * it part way through. */
static int drain_later(unixsock *srv, int count) {
  usleep(100 * 1000);
  char buf[16];
  for (int i = 0; i < count; i++) {
    char want[16];
    snprintf(want, sizeof(want), "m%d", i);
    ssize_t n = unixsock_recv(srv, buf, sizeof(buf));
    if (n != (ssize_t)strlen(want) || memcmp(buf, want, (size_t)n) != 0)
      return 1;
  }
  return 0;
}

TEST(test_send_batch_with_a_timeout_waits_for_room_for_the_rest) {
  enum { N = 64 };
  const char *addr = check_abstract("batch-room");
  unixsock *srv, *cli;
  CHECK_OK(unixsock_bind(addr, strlen(addr), UNIXSOCK_DGRAM, NULL, &srv));
  CHECK_OK(unixsock_connect(addr, strlen(addr), UNIXSOCK_DGRAM, 5000, &cli));
  CHECK_OK(unixsock_settimeout(srv, 5000));
  unixsock_message out[N];
  char texts[N][16];
  label(out, texts, N, "m");
  pid_t pid = fork();
  if (pid == 0)
    _exit(drain_later(srv, N));
  CHECK_EQ(unixsock_send_batch(cli, out, N), N); /* all of them, in order */
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  /* timeout 0: what fits, then the count (never -EAGAIN once some went) */
  CHECK_OK(unixsock_settimeout(cli, 0));
  int sent = unixsock_send_batch(cli, out, N);
  CHECK(sent > 0 && sent < N);
  CHECK_ERR(unixsock_send_batch(cli, out, N), EAGAIN);
  unixsock_close(cli);
  unixsock_close(srv);
}

/* A message whose address cannot be used ends the call after the ones before it
 * went (it used to take its whole chunk down with it: none sent, and the error
 * seemed to be the first message's); the next call starts with it and reports. */
TEST(test_send_batch_sends_up_to_a_message_that_fails_and_the_next_call_reports_it) {
  char name[64];
  int len = snprintf(name, sizeof(name), "@unixsock-test-batch-cut-%d", (int)getpid());
  unixsock *d, *c;
  CHECK_OK(unixsock_bind(name, (size_t)len, UNIXSOCK_DGRAM, NULL, &d));
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &c));
  unixsock_message out[3];
  char texts[3][16];
  label(out, texts, 3, "m");
  for (int i = 0; i < 3; i++) {
    memcpy(out[i].address, name, (size_t)len);
    out[i].addrlen = (size_t)len;
  }
  out[1].address[0] = '@'; /* an abstract name past what sun_path holds */
  memset(out[1].address + 1, 'z', UNIXSOCK_ADDRESS_MAX - 1);
  out[1].addrlen = UNIXSOCK_ADDRESS_MAX;
  CHECK_EQ(unixsock_send_batch(c, out, 3), 1);
  CHECK_ERR(unixsock_send_batch(c, out + 1, 2), ENAMETOOLONG);
  CHECK_EQ(unixsock_send_batch(c, out + 2, 1), 1);
  char buf[16];
  CHECK_OK(unixsock_settimeout(d, 1000));
  CHECK_EQ(unixsock_recv(d, buf, sizeof(buf)), 2);
  CHECK(memcmp(buf, "m0", 2) == 0);
  CHECK_EQ(unixsock_recv(d, buf, sizeof(buf)), 2);
  CHECK(memcmp(buf, "m2", 2) == 0);
  unixsock_close(c);
  unixsock_close(d);
}
