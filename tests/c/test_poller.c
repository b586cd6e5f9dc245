/* The poller: readiness over sockets and raw fds, with timeouts. */
#include <time.h>
#include <unistd.h>

#include "check.h"

TEST(test_poller_reports_readable_with_data) {
  unixsock_poller *p;
  CHECK_OK(unixsock_poller_new(&p));
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  int tag = 7;
  CHECK_OK(unixsock_poller_set(p, unixsock_fd(b), UNIXSOCK_READABLE, &tag));
  unixsock_event ev[4];
  CHECK_EQ(unixsock_poller_wait(p, ev, 4, 0), 0);
  CHECK_EQ(unixsock_send(a, "x", 1), 1);
  CHECK_EQ(unixsock_poller_wait(p, ev, 4, 1000), 1);
  CHECK_EQ(ev[0].fd, unixsock_fd(b));
  CHECK(ev[0].events & UNIXSOCK_READABLE);
  CHECK(ev[0].data == &tag);
  /* change interest to writable, then remove */
  CHECK_OK(unixsock_poller_set(p, unixsock_fd(b), UNIXSOCK_WRITABLE, NULL));
  CHECK_EQ(unixsock_poller_wait(p, ev, 4, 1000), 1);
  CHECK(ev[0].events & UNIXSOCK_WRITABLE);
  CHECK(!(ev[0].events & UNIXSOCK_READABLE));
  CHECK_OK(unixsock_poller_remove(p, unixsock_fd(b)));
  CHECK_ERR(unixsock_poller_remove(p, unixsock_fd(b)), ENOENT);
  CHECK_EQ(unixsock_poller_wait(p, ev, 4, 0), 0);
  unixsock_close(a);
  unixsock_close(b);
  unixsock_poller_free(p);
}

TEST(test_poller_reports_hangup) {
  unixsock_poller *p;
  CHECK_OK(unixsock_poller_new(&p));
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_SEQPACKET, &a, &b));
  CHECK_OK(unixsock_poller_set(p, unixsock_fd(b), UNIXSOCK_READABLE, NULL));
  unixsock_close(a);
  unixsock_event ev[2];
  CHECK_EQ(unixsock_poller_wait(p, ev, 2, 1000), 1);
  CHECK(ev[0].events & UNIXSOCK_HANGUP);
  unixsock_close(b);
  unixsock_poller_free(p);
}

TEST(test_poller_timeout_and_raw_fds) {
  unixsock_poller *p;
  CHECK_OK(unixsock_poller_new(&p));
  int pp[2];
  CHECK(pipe(pp) == 0);
  CHECK_OK(unixsock_poller_set(p, pp[0], UNIXSOCK_READABLE, NULL));
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  unixsock_event ev[1];
  CHECK_EQ(unixsock_poller_wait(p, ev, 1, 100), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
  CHECK(ms >= 95);
  CHECK(write(pp[1], "y", 1) == 1);
  CHECK_EQ(unixsock_poller_wait(p, ev, 1, -1), 1);
  CHECK_EQ(ev[0].fd, pp[0]);
  CHECK(unixsock_poller_fd(p) >= 0);
  /* a negative fd was EINVAL here and EBADF in every other call taking an fd */
  CHECK_ERR(unixsock_poller_set(p, -1, UNIXSOCK_READABLE, NULL), EBADF);
  CHECK_ERR(unixsock_poller_remove(p, -1), EBADF);
  CHECK_ERR(unixsock_poller_set(p, pp[0], 99, NULL), EINVAL);
  close(pp[0]);
  close(pp[1]);
  unixsock_poller_free(p);
}

TEST(test_poller_serves_many_sockets) {
  enum { N = 200 };
  unixsock_poller *p;
  CHECK_OK(unixsock_poller_new(&p));
  unixsock *a[N], *b[N];
  for (int i = 0; i < N; i++) {
    CHECK_OK(unixsock_pair(UNIXSOCK_DGRAM, &a[i], &b[i]));
    CHECK_OK(unixsock_poller_set(p, unixsock_fd(b[i]), UNIXSOCK_READABLE, b[i]));
  }
  for (int i = 0; i < N; i += 2)
    CHECK_EQ(unixsock_send(a[i], "m", 1), 1);
  int seen = 0;
  unixsock_event ev[32];
  for (;;) {
    int n = unixsock_poller_wait(p, ev, 32, 0);
    CHECK(n >= 0);
    if (n == 0)
      break;
    for (int i = 0; i < n; i++) {
      char c;
      CHECK_EQ(unixsock_recv(ev[i].data, &c, 1), 1);
      seen++;
    }
  }
  CHECK_EQ(seen, N / 2);
  for (int i = 0; i < N; i++) {
    unixsock_poller_remove(p, unixsock_fd(b[i]));
    unixsock_close(a[i]);
    unixsock_close(b[i]);
  }
  unixsock_poller_free(p);
}
