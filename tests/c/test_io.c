/* Bytes: send all, no SIGPIPE, EINTR, deadlines, non-blocking, EOF, no silent
 * truncation. */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct drain {
  unixsock *s;
  size_t total;
  unsigned char sum;
};

static void *drain_thread(void *arg) {
  struct drain *d = arg;
  char buf[65536];
  for (;;) {
    ssize_t n = unixsock_recv(d->s, buf, sizeof(buf));
    if (n <= 0)
      break;
    for (ssize_t i = 0; i < n; i++)
      d->sum = (unsigned char)(d->sum + (unsigned char)buf[i]);
    d->total += (size_t)n;
  }
  return NULL;
}

/* Seconds as every binding and the CLI take them -> the milliseconds a socket
 * keeps: rounded up (never down to "do not wait"), infinity waits for ever, a
 * finite time past INT_MAX ms is capped, NaN and negatives are EINVAL and leave
 * the output alone. */
TEST(test_timeout_ms_converts_seconds) {
  const struct {
    double seconds;
    int ms;
  } ok[] = {{0, 0}, {-0.0, 0}, {1e-9, 1}, {0.0001, 1}, {0.001, 1}, {0.0015, 2},
            {1.5, 1500}, {2147483.647, INT_MAX}, {1e10, INT_MAX}, {1e300, INT_MAX},
            {INFINITY, -1}};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    int ms = 12345;
    CHECK_OK(unixsock_timeout_ms(ok[i].seconds, &ms));
    CHECK_EQ(ms, ok[i].ms);
  }
  const double bad[] = {-1e-9, -1, -INFINITY, NAN};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int ms = 12345;
    CHECK_ERR(unixsock_timeout_ms(bad[i], &ms), EINVAL);
    CHECK_EQ(ms, 12345);
  }
  CHECK_ERR(unixsock_timeout_ms(1, NULL), EINVAL);
}

TEST(test_stream_send_writes_every_byte) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_OK(unixsock_set_send_buffer(a, 4096));
  size_t len = 8 << 20;
  unsigned char *big = malloc(len), sum = 0;
  for (size_t i = 0; i < len; i++) {
    big[i] = (unsigned char)(i * 7);
    sum = (unsigned char)(sum + big[i]);
  }
  struct drain d = {b, 0, 0};
  pthread_t t;
  pthread_create(&t, NULL, drain_thread, &d);
  /* the deadline path writes all too; any timeout > 0 takes it, and this one is
   * long enough for valgrind on a slow machine (10 s was not: ETIMEDOUT) */
  CHECK_OK(unixsock_settimeout(a, 600000));
  CHECK_EQ(unixsock_send(a, big, len), (long long)len);
  CHECK_OK(unixsock_settimeout(a, -1));
  CHECK_EQ(unixsock_send(a, big, len), (long long)len);
  unixsock_close(a);
  pthread_join(t, NULL);
  CHECK_EQ(d.total, 2 * len);
  CHECK_EQ(d.sum, (unsigned char)(sum * 2));
  free(big);
  unixsock_close(b);
}

TEST(test_send_to_closed_peer_is_epipe_not_sigpipe) {
  signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill this test */
  for (int k = UNIXSOCK_STREAM; k <= UNIXSOCK_SEQPACKET; k += 2) {
    unixsock *a, *b;
    CHECK_OK(unixsock_pair(k, &a, &b));
    unixsock_close(b);
    CHECK_ERR(unixsock_send(a, "x", 1), EPIPE);
    unixsock_close(a);
  }
}

TEST(test_recv_returns_zero_at_end_of_stream) {
  unixsock *a, *b;
  char buf[4];
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_EQ(unixsock_send(a, "z", 1), 1);
  unixsock_close(a);
  CHECK_EQ(unixsock_recv(b, buf, sizeof(buf)), 1);
  CHECK_EQ(unixsock_recv(b, buf, sizeof(buf)), 0);
  unixsock_close(b);
}

TEST(test_recv_of_zero_bytes_returns_at_once_and_consumes_nothing) {
  for (int k = UNIXSOCK_STREAM; k <= UNIXSOCK_SEQPACKET; k++) {
    unixsock *a, *b;
    char buf[8];
    CHECK_OK(unixsock_pair(k, &a, &b));
    /* blocking, nothing queued: the kernel would wait for a byte */
    CHECK_EQ(unixsock_recv(b, buf, 0), 0);
    CHECK_EQ(unixsock_try_recv(b, buf, 0), 0);
    CHECK_EQ(unixsock_send(a, "hello", 5), 5);
    /* queued: a datagram is not taken to report EMSGSIZE, nor a byte skipped */
    CHECK_EQ(unixsock_recv(b, NULL, 0), 0);
    CHECK_EQ(unixsock_recv(b, buf, sizeof(buf)), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    unixsock_close(a);
    unixsock_close(b);
  }
}

TEST(test_nonblocking_recv_is_eagain) {
  unixsock *a, *b;
  char buf[4];
  CHECK_OK(unixsock_pair(UNIXSOCK_DGRAM, &a, &b));
  CHECK_OK(unixsock_settimeout(b, 0));
  CHECK_EQ(unixsock_gettimeout(b), 0);
  CHECK_ERR(unixsock_recv(b, buf, sizeof(buf)), EAGAIN);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_nonblocking_stream_send_returns_what_fits) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_OK(unixsock_settimeout(a, 0));
  static char big[1 << 22];
  ssize_t n = unixsock_send(a, big, sizeof(big));
  CHECK(n > 0 && n < (ssize_t)sizeof(big));
  CHECK_ERR(unixsock_send(a, big, sizeof(big)), EAGAIN);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_recv_timeout_is_etimedout) {
  unixsock *a, *b;
  char buf[4];
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_OK(unixsock_settimeout(b, 100));
  long long t0 = now_ms();
  CHECK_ERR(unixsock_recv(b, buf, sizeof(buf)), ETIMEDOUT);
  long long dt = now_ms() - t0;
  CHECK(dt >= 95);
  unixsock_close(a);
  unixsock_close(b);
}

static volatile sig_atomic_t interrupts;
static void on_alarm(int sig) {
  (void)sig;
  interrupts++;
}

static void interrupt_every_ms(int ms) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_alarm; /* no SA_RESTART: every blocking call sees EINTR */
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, ms * 1000}, {0, ms * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void stop_interrupts(void) {
  struct itimerval it = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
  signal(SIGALRM, SIG_IGN);
}

/* A timeout bounds the whole call: an EINTR storm must neither end it early nor
 * restart the clock. */
TEST(test_timeout_is_a_deadline_under_eintr_storm) {
  unixsock *a, *b;
  char buf[4];
  CHECK_OK(unixsock_pair(UNIXSOCK_DGRAM, &a, &b));
  CHECK_OK(unixsock_settimeout(b, 300));
  interrupt_every_ms(7);
  long long t0 = now_ms();
  CHECK_ERR(unixsock_recv(b, buf, sizeof(buf)), ETIMEDOUT);
  long long dt = now_ms() - t0;
  stop_interrupts();
  CHECK(interrupts > 10);
  CHECK(dt >= 295 && dt < 2000);
  unixsock_close(a);
  unixsock_close(b);
}

struct delayed {
  unixsock *s;
  int ms;
};

static void *send_later(void *arg) {
  struct delayed *d = arg;
  usleep((useconds_t)d->ms * 1000);
  unixsock_send(d->s, "late", 4);
  return NULL;
}

TEST(test_blocking_recv_retries_eintr) {
  unixsock *a, *b;
  char buf[8];
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  struct delayed d = {a, 200};
  pthread_t t;
  /* block SIGALRM in the sender thread so the receiver takes every signal */
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  pthread_create(&t, NULL, send_later, &d);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  interrupt_every_ms(5);
  CHECK_EQ(unixsock_recv(b, buf, sizeof(buf)), 4);
  stop_interrupts();
  CHECK(interrupts > 5);
  CHECK(memcmp(buf, "late", 4) == 0);
  pthread_join(t, NULL);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_message_longer_than_buffer_is_emsgsize_not_truncated) {
  for (int k = UNIXSOCK_DGRAM; k <= UNIXSOCK_SEQPACKET; k++) {
    unixsock *a, *b;
    char buf[4];
    CHECK_OK(unixsock_pair(k, &a, &b));
    CHECK_EQ(unixsock_send(a, "too long", 8), 8);
    CHECK_ERR(unixsock_recv(b, buf, sizeof(buf)), EMSGSIZE);
    CHECK_EQ(unixsock_send(a, "ok", 2), 2);
    CHECK_EQ(unixsock_recv(b, buf, sizeof(buf)), 2);
    unixsock_close(a);
    unixsock_close(b);
  }
}

TEST(test_message_kinds_keep_boundaries) {
  for (int k = UNIXSOCK_DGRAM; k <= UNIXSOCK_SEQPACKET; k++) {
    unixsock *a, *b;
    char buf[16];
    CHECK_OK(unixsock_pair(k, &a, &b));
    CHECK_EQ(unixsock_send(a, "one", 3), 3);
    CHECK_EQ(unixsock_send(a, "two!", 4), 4);
    CHECK_EQ(unixsock_recv(b, buf, sizeof(buf)), 3);
    CHECK_EQ(unixsock_recv(b, buf, sizeof(buf)), 4);
    unixsock_close(a);
    unixsock_close(b);
  }
}

TEST(test_accept_timeout_is_etimedout) {
  const char *addr = check_abstract("accept-timeout");
  unixsock *l, *c;
  CHECK_OK(unixsock_listen(addr, strlen(addr), UNIXSOCK_SEQPACKET, NULL, &l));
  CHECK_OK(unixsock_settimeout(l, 50));
  CHECK_ERR(unixsock_accept(l, &c), ETIMEDOUT);
  CHECK_OK(unixsock_settimeout(l, 0));
  CHECK_ERR(unixsock_accept(l, &c), EAGAIN);
  unixsock_close(l);
}

struct accepting {
  unixsock *listener;
  int result;
};

static void *accept_one(void *arg) {
  struct accepting *a = arg;
  unixsock *c = NULL;
  a->result = unixsock_accept(a->listener, &c);
  unixsock_close(c);
  return NULL;
}

TEST(test_shutdown_read_ends_an_accept_waiting_in_another_thread) {
  /* a threaded server's way to stop its accept loop: close() would not wake it */
  const char *addr = check_abstract("accept-shutdown");
  unixsock *l, *c;
  CHECK_OK(unixsock_listen(addr, strlen(addr), UNIXSOCK_STREAM, NULL, &l));
  CHECK_OK(unixsock_settimeout(l, 10000)); /* before: woken, it spun till then */
  struct accepting a = {.listener = l, .result = 1};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, accept_one, &a) == 0);
  usleep(100 * 1000); /* into its wait (if not yet, it sees the shutdown at once) */
  long long t0 = now_ms();
  CHECK_OK(unixsock_shutdown(l, UNIXSOCK_SHUT_RD));
  CHECK(pthread_join(t, NULL) == 0);
  CHECK_EQ(a.result, -EINVAL);
  CHECK(now_ms() - t0 < 5000);
  /* what a blocking accept(2) says, never EAGAIN: an event loop would spin */
  CHECK_OK(unixsock_settimeout(l, 0));
  CHECK_ERR(unixsock_accept(l, &c), EINVAL);
  unixsock_close(l);
}

/* CPU time the calling thread has used, in ms. */
static long long thread_cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return ((long long)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static void *receive_one_later(void *arg) {
  usleep(300 * 1000);
  char buf[16];
  return (void *)(unixsock_recv(arg, buf, sizeof(buf)) == 4 ? "ok" : NULL);
}

/* The kernel queues max_dgram_qlen datagrams from a sender the receiver is not
 * connected to, and says nothing of that queue to the sender's poll(), which
 * reports writable at once: a send to an address used to spin in poll and send,
 * at full CPU, until the receiver read or the timeout ran out. */
/* A receiver at addr, and a sender (not connected to it) that has filled its
 * queue; the sender's timeout is then 5 s. */
static void full_receiver(const char *addr, unixsock **ret_rx, unixsock **ret_tx) {
  CHECK_OK(unixsock_bind(addr, strlen(addr), UNIXSOCK_DGRAM, NULL, ret_rx));
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, ret_tx));
  CHECK_OK(unixsock_settimeout(*ret_tx, 0));
  for (int queued = 0; queued < 1000; queued++)
    if (unixsock_sendto(*ret_tx, "fill", 4, addr, strlen(addr)) != 4)
      break;
  CHECK_ERR(unixsock_sendto(*ret_tx, "fill", 4, addr, strlen(addr)), EAGAIN); /* full */
  CHECK_OK(unixsock_settimeout(*ret_tx, 5000));
}

/* Sends "next" to the full receiver at addr (how: 0 sendto, 1 send_message,
 * 2 send_batch) while another thread reads one datagram 300 ms later, and checks
 * that it went once there was room, having slept meanwhile. */
static void send_once_there_is_room(unixsock *rx, unixsock *tx, const char *addr, int how,
                                    bool out_of_fds) {
  unixsock_message m = {.data = "next", .len = 4, .addrlen = strlen(addr)};
  memcpy(m.address, addr, m.addrlen);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, receive_one_later, rx) == 0);
  struct rlimit old;
  if (out_of_fds)
    old = check_fds_exhaust();
  long long cpu = thread_cpu_ms(), t0 = now_ms();
  ssize_t n = how == 0   ? unixsock_sendto(tx, "next", 4, addr, strlen(addr))
              : how == 1 ? unixsock_send_message(tx, &m)
                         : unixsock_send_batch(tx, &m, 1);
  cpu = thread_cpu_ms() - cpu;
  if (out_of_fds)
    check_fds_restore(&old);
  CHECK_EQ(n, how == 2 ? 1 : 4);
  CHECK(now_ms() - t0 < 4000);
  CHECK(cpu < 100); /* spinning, it took all 300 ms */
  void *res;
  CHECK(pthread_join(t, &res) == 0);
  CHECK(res != NULL);
}

TEST(test_a_datagram_to_a_full_receiver_waits_without_spinning) {
  const char *addr = check_abstract("full-receiver");
  unixsock *rx, *tx;
  full_receiver(addr, &rx, &tx);
  for (int how = 0; how < 3; how++)
    send_once_there_is_room(rx, tx, addr, how, false);
  unixsock_close(tx);
  unixsock_close(rx);
}

/* With no descriptor left for the socket it waits on, it paces its tries. */
TEST(test_a_datagram_to_a_full_receiver_waits_even_out_of_descriptors) {
  const char *addr = check_abstract("full-no-fds");
  unixsock *rx, *tx;
  full_receiver(addr, &rx, &tx);
  send_once_there_is_room(rx, tx, addr, 0, true);
  unixsock_close(tx);
  unixsock_close(rx);
}

TEST(test_connect_to_full_backlog_times_out) {
  const char *addr = check_abstract("backlog");
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.backlog = 1;
  unixsock *l, *c[8];
  CHECK_OK(unixsock_listen(addr, strlen(addr), UNIXSOCK_STREAM, &o, &l));
  int n = 0, r = 0;
  long long t0 = now_ms();
  for (; n < 8; n++) {
    r = unixsock_connect(addr, strlen(addr), UNIXSOCK_STREAM, 100, &c[n]);
    if (r < 0)
      break;
  }
  CHECK_EQ(r, -ETIMEDOUT);
  CHECK(now_ms() - t0 >= 95);
  CHECK_ERR(unixsock_connect(addr, strlen(addr), UNIXSOCK_STREAM, 0, &c[n]), EAGAIN);
  for (int i = 0; i < n; i++)
    unixsock_close(c[i]);
  unixsock_close(l);
}

TEST(test_bad_arguments_are_einval) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_ERR(unixsock_send(NULL, "x", 1), EINVAL);
  CHECK_ERR(unixsock_send(a, NULL, 1), EINVAL);
  CHECK_ERR(unixsock_recv(a, NULL, 1), EINVAL);
  CHECK_ERR(unixsock_settimeout(a, -5), EINVAL);
  CHECK_ERR(unixsock_accept(a, &b), EINVAL); /* not a listener */
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_shutdown_write_gives_the_peer_end_of_stream) {
  unixsock *a, *b;
  char buf[8];
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_EQ(unixsock_send(a, "last", 4), 4);
  CHECK_OK(unixsock_shutdown(a, UNIXSOCK_SHUT_WR));
  CHECK_EQ(unixsock_recv(b, buf, sizeof(buf)), 4);
  CHECK_EQ(unixsock_recv(b, buf, sizeof(buf)), 0);
  CHECK_EQ(unixsock_send(b, "back", 4), 4); /* the other direction still works */
  CHECK_EQ(unixsock_recv(a, buf, sizeof(buf)), 4);
  CHECK_ERR(unixsock_shutdown(a, 0), EINVAL);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_try_send_never_waits) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_OK(unixsock_settimeout(a, -1)); /* even on a blocking socket */
  CHECK_EQ(unixsock_try_send(a, "now", 3), 3);
  static char big[1 << 22];
  ssize_t n = unixsock_try_send(a, big, sizeof(big));
  CHECK(n > 0 && n < (ssize_t)sizeof(big)); /* a stream takes what fits */
  CHECK_ERR(unixsock_try_send(a, big, sizeof(big)), EAGAIN);
  unixsock_close(b);
  CHECK_ERR(unixsock_try_send(a, "x", 1), EPIPE);
  unixsock_close(a);
}

TEST(test_try_recv_never_waits) {
  unixsock *a, *b;
  char buf[8];
  CHECK_OK(unixsock_pair(UNIXSOCK_SEQPACKET, &a, &b));
  CHECK_OK(unixsock_settimeout(b, -1)); /* even on a blocking socket */
  CHECK_ERR(unixsock_try_recv(b, buf, sizeof(buf)), EAGAIN);
  CHECK_EQ(unixsock_send(a, "now", 3), 3);
  CHECK_EQ(unixsock_try_recv(b, buf, sizeof(buf)), 3);
  CHECK(memcmp(buf, "now", 3) == 0);
  CHECK_EQ(unixsock_send(a, "too long!", 9), 9);
  CHECK_ERR(unixsock_try_recv(b, buf, sizeof(buf)), EMSGSIZE); /* as recv: never cut */
  CHECK_ERR(unixsock_try_recv(NULL, buf, sizeof(buf)), EINVAL);
  unixsock_close(a);
  CHECK_EQ(unixsock_try_recv(b, buf, sizeof(buf)), 0); /* end of stream */
  unixsock_close(b);
}
