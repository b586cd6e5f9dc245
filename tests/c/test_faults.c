/* Faults the real world brings: peers killed mid-frame and mid-batch, signals
 * during every blocking call, out of descriptors at accept, a full dgram queue,
 * the socket file removed or its directory locked under a running listener. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

TEST(test_peer_killed_mid_frame_is_econnreset) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  pid_t pid = fork();
  if (pid == 0) {
    unixsock_close(b);
    unsigned char h[8] = {0, 0, 0x10, 0, 0, 0, 'U', 'S'}; /* 4096 bytes promised */
    unixsock_send(a, h, 8);
    unixsock_send(a, "only part", 9);
    kill(getpid(), SIGKILL);
  }
  unixsock_close(a);
  unixsock_message m = {0};
  CHECK_ERR(unixsock_recv_message(b, &m), ECONNRESET);
  waitpid(pid, NULL, 0);
  unixsock_close(b);
}

TEST(test_peer_killed_mid_batch_leaves_only_whole_messages) {
  for (int k = UNIXSOCK_STREAM; k <= UNIXSOCK_SEQPACKET; k += 2) {
    unixsock *a, *b;
    CHECK_OK(unixsock_pair(k, &a, &b));
    CHECK_OK(unixsock_set_send_buffer(a, 8192));
    pid_t pid = fork();
    if (pid == 0) {
      unixsock_close(b);
      static char payload[1000];
      unixsock_message ms[64];
      memset(ms, 0, sizeof(ms));
      for (int i = 0; i < 64; i++) {
        ms[i].data = payload;
        ms[i].len = sizeof(payload);
      }
      memset(payload, 'p', sizeof(payload));
      for (;;)
        unixsock_send_batch(a, ms, 64); /* until killed, mid-write */
    }
    unixsock_close(a);
    /* the child sending before it is killed: slow to start under valgrind, it
     * had sent nothing 20 ms after the fork once */
    struct pollfd pfd = {.fd = unixsock_fd(b), .events = POLLIN};
    CHECK_EQ(poll(&pfd, 1, 10000), 1);
    usleep(20000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    long whole = 0;
    int r;
    for (;;) {
      unixsock_message m = {0};
      r = unixsock_recv_message(b, &m);
      if (r <= 0)
        break;
      CHECK_EQ(m.len, 1000);
      for (size_t i = 0; i < m.len; i++)
        CHECK(((char *)m.data)[i] == 'p');
      whole++;
      unixsock_message_release(&m);
    }
    CHECK(whole > 0);
    /* a stream may end inside a frame; a seqpacket ends between packets */
    CHECK(r == 0 || (k == UNIXSOCK_STREAM && r == -ECONNRESET));
    unixsock_close(b);
  }
}

static volatile sig_atomic_t signals;
static void on_signal(int sig) {
  (void)sig;
  signals++;
}

/* Every blocking call, under a storm of signals, still honours its timeout. */
TEST(test_eintr_storm_during_every_blocking_call) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 3000}, {0, 3000}};
  setitimer(ITIMER_REAL, &it, NULL);
  const char *addr = check_abstract("storm");
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.backlog = 1;
  unixsock *l, *a, *b, *c[8];
  CHECK_OK(unixsock_listen(addr, strlen(addr), UNIXSOCK_STREAM, &o, &l));
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  unixsock_settimeout(l, 100);
  unixsock_settimeout(a, 100);
  unixsock_settimeout(b, 100);
  char buf[64];
  long long t0 = now_ms();
  CHECK_ERR(unixsock_accept(l, &c[0]), ETIMEDOUT);
  CHECK(now_ms() - t0 >= 95);
  t0 = now_ms();
  CHECK_ERR(unixsock_recv(b, buf, sizeof(buf)), ETIMEDOUT);
  CHECK(now_ms() - t0 >= 95);
  unixsock_message m = {0};
  t0 = now_ms();
  CHECK_ERR(unixsock_recv_message(b, &m), ETIMEDOUT);
  CHECK(now_ms() - t0 >= 95);
  static char big[1 << 20];
  t0 = now_ms();
  CHECK_ERR(unixsock_send(a, big, sizeof(big)), ETIMEDOUT); /* nobody reads */
  CHECK(now_ms() - t0 >= 95);
  int n = 0, r = 0;
  t0 = now_ms();
  for (; n < 8; n++) { /* fill the backlog, then one connect waits */
    r = unixsock_connect(addr, strlen(addr), UNIXSOCK_STREAM, 100, &c[n]);
    if (r < 0)
      break;
  }
  CHECK_EQ(r, -ETIMEDOUT);
  unixsock_poller *p;
  CHECK_OK(unixsock_poller_new(&p));
  unixsock_event ev[1];
  t0 = now_ms();
  CHECK_EQ(unixsock_poller_wait(p, ev, 1, 100), 0);
  CHECK(now_ms() - t0 >= 95);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  CHECK(signals > 50);
  unixsock_poller_free(p);
  for (int i = 0; i < n; i++)
    unixsock_close(c[i]);
  unixsock_close(a);
  unixsock_close(b);
  unixsock_close(l);
}

/* Out of descriptors at accept: EMFILE, and the connection is still there to be
 * accepted once descriptors are free. */
TEST(test_accept_out_of_fds_recovers_when_fds_free_up) {
  const char *addr = check_abstract("emfile");
  unixsock *l, *c, *s;
  CHECK_OK(unixsock_listen(addr, strlen(addr), UNIXSOCK_STREAM, NULL, &l));
  CHECK_OK(unixsock_connect(addr, strlen(addr), UNIXSOCK_STREAM, 1000, &c));
  struct rlimit old = check_fds_exhaust();
  int r = unixsock_accept(l, &s);
  check_fds_restore(&old);
  CHECK_EQ(r, -EMFILE);
  unixsock_settimeout(l, 1000);
  CHECK_OK(unixsock_accept(l, &s)); /* the same client, served now */
  CHECK_EQ(unixsock_send(c, "still here", 10), 10);
  char buf[16];
  CHECK_EQ(unixsock_recv(s, buf, sizeof(buf)), 10);
  unixsock_close(s);
  unixsock_close(c);
  unixsock_close(l);
}

/* A full dgram queue: EAGAIN without waiting, ETIMEDOUT with a timeout, and
 * every datagram the kernel took arrives, in order, intact. */
TEST(test_dgram_queue_full_loses_nothing_accepted) {
  const char *addr = check_abstract("full");
  unixsock *srv, *cli;
  CHECK_OK(unixsock_bind(addr, strlen(addr), UNIXSOCK_DGRAM, NULL, &srv));
  CHECK_OK(unixsock_connect(addr, strlen(addr), UNIXSOCK_DGRAM, 1000, &cli));
  CHECK_OK(unixsock_settimeout(cli, 0));
  int accepted = 0;
  char msg[32];
  for (;;) {
    int len = snprintf(msg, sizeof(msg), "datagram %d", accepted);
    ssize_t r = unixsock_send(cli, msg, (size_t)len);
    if (r == -EAGAIN)
      break;
    CHECK_EQ(r, len);
    accepted++;
  }
  CHECK(accepted > 0);
  CHECK_OK(unixsock_settimeout(cli, 50));
  CHECK_ERR(unixsock_send(cli, "late", 4), ETIMEDOUT);
  CHECK_OK(unixsock_settimeout(srv, 0));
  for (int i = 0; i < accepted; i++) {
    char buf[32];
    int len = snprintf(msg, sizeof(msg), "datagram %d", i);
    CHECK_EQ(unixsock_recv(srv, buf, sizeof(buf)), len);
    CHECK(memcmp(buf, msg, (size_t)len) == 0);
  }
  char buf[32];
  CHECK_ERR(unixsock_recv(srv, buf, sizeof(buf)), EAGAIN); /* nothing more, nothing less */
  unixsock_close(cli);
  unixsock_close(srv);
}

TEST(test_socket_file_removed_under_a_running_listener) {
  const char *path = check_path("removed.sock");
  unixsock *l, *c, *s;
  CHECK_OK(unixsock_listen(path, strlen(path), UNIXSOCK_STREAM, NULL, &l));
  CHECK_OK(unixsock_connect(path, strlen(path), UNIXSOCK_STREAM, 1000, &c));
  CHECK(unlink(path) == 0);
  CHECK_ERR(unixsock_connect(path, strlen(path), UNIXSOCK_STREAM, 1000, &s), ENOENT);
  unixsock_settimeout(l, 1000);
  CHECK_OK(unixsock_accept(l, &s)); /* the one already queued is still served */
  unixsock_close(s);
  unixsock_close(c);
  unixsock_close(l); /* nothing to unlink: no error, nothing else touched */
  struct stat st;
  CHECK(lstat(path, &st) < 0 && errno == ENOENT);
}

static int listen_then_lock_dir(void *arg) {
  const char *dir = arg;
  char path[4200];
  snprintf(path, sizeof(path), "%s/locked.sock", dir);
  unixsock *l;
  if (unixsock_listen(path, strlen(path), UNIXSOCK_STREAM, NULL, &l) < 0)
    return 1;
  if (chmod(dir, 0500) < 0) /* the directory is no longer writable */
    return 2;
  unixsock_close(l); /* cannot unlink: must not crash, must close the fd */
  struct stat st;
  return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) ? 0 : 3;
}

TEST(test_listener_directory_not_writable_at_close) {
  if (geteuid() != 0)
    return;
  const char *dir = check_path("lockable");
  CHECK(mkdir(dir, 0755) == 0);
  CHECK(chown(dir, 65534, 65534) == 0);
  CHECK_EQ(check_as_user(65534, listen_then_lock_dir, (void *)dir), 0);
  chmod(dir, 0755);
}
