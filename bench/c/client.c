/* The measured end in C, in raw syscalls ("raw", the floor) or through unixsock
 * ("us").  Each run prints one number on stdout.
 *   client rtt raw|us KIND ADDRESS SIZE N          ns per round trip
 *   client spin raw|us KIND ADDRESS SIZE N         the same, busy-polling
 *   client poll raw|us KIND ADDRESS N              ns per try that finds nothing (would block)
 *   client tcp PORT SIZE N                         ns per TCP loopback round trip
 *   client rate raw|us|batch KIND ADDRESS N        64-byte messages per second
 *   client fds raw|us|batch KIND ADDRESS N         messages with one fd per second
 *   client fds-in raw|us|batch KIND ADDRESS N      the same received (from peer fd-source),
 *                                                  each fd closed
 *   client bulk raw|us ADDRESS TOTAL CHUNK BUF     MiB/s received (BUF: rcvbuf, 0 = default)
 *   client bulk-send ADDRESS TOTAL CHUNK          MiB/s sent in raw syscalls (to peer sink)
 *   client tcpbulk PORT TOTAL CHUNK                MiB/s received over TCP
 *   client scale N                                 N echo clients on one poller thread */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raw_fds.h"
#include "unixsock.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int err) {
  fprintf(stderr, "client: %s: %s\n", what, strerror(err < 0 ? -err : err));
  exit(1);
}

static int kind_of(const char *k) {
  return unixsock_kind_parse(k);
}

static int raw_connect(const char *kind, const char *addr) {
  static const int types[] = {0, SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
  int type = types[kind_of(kind)];
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t n = strlen(addr) - 1;
  memcpy(sa.sun_path + 1, addr + 1, n);
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (type == SOCK_DGRAM) {
    struct sockaddr_un any = {.sun_family = AF_UNIX};
    bind(fd, (struct sockaddr *)&any, sizeof(sa_family_t));
  }
  if (connect(fd, (struct sockaddr *)&sa, len) < 0)
    die("connect", errno);
  return fd;
}

static unixsock *us_connect(const char *kind, const char *addr) {
  unixsock *s;
  int r = unixsock_connect(addr, strlen(addr), kind_of(kind), 5000, &s);
  if (r < 0)
    die("unixsock_connect", r);
  unixsock_settimeout(s, -1);
  return s;
}

/* ---- round trips ---- */

/* Tries that find nothing to read: what a wake-up that was not one costs. */
static void poll_empty(int use, const char *kind, const char *addr, long n) {
  char in[64];
  double t0;
  if (!use) {
    int fd = raw_connect(kind, addr);
    t0 = now();
    for (long i = 0; i < n; i++)
      if (recv(fd, in, sizeof(in), MSG_DONTWAIT) >= 0 || errno != EAGAIN)
        die("recv", errno);
  } else {
    unixsock *s = us_connect(kind, addr);
    unixsock_settimeout(s, 0);
    t0 = now();
    for (long i = 0; i < n; i++) {
      ssize_t r = unixsock_recv(s, in, sizeof(in));
      if (r != -EAGAIN)
        die("unixsock_recv", r < 0 ? (int)-r : 0);
    }
  }
  printf("%.0f\n", (now() - t0) / (double)n * 1e9);
}

static void rtt(int use, const char *kind, const char *addr, size_t size, long n, int spin) {
  char *buf = calloc(1, size), *in = calloc(1, size);
  int stream = kind_of(kind) == UNIXSOCK_STREAM;
  if (!use) {
    int fd = raw_connect(kind, addr);
    int flags = spin ? MSG_DONTWAIT : 0;
    double t0 = now();
    for (long i = 0; i < n; i++) {
      send(fd, buf, size, MSG_NOSIGNAL);
      size_t got = 0;
      while (got < size) {
        ssize_t r = recv(fd, in + got, size - got, flags);
        if (r > 0)
          got += (size_t)r;
        else if (r == 0 || errno != EAGAIN)
          die("recv", errno);
        if (!stream && r > 0)
          break;
      }
    }
    printf("%.0f\n", (now() - t0) / (double)n * 1e9);
    return;
  }
  unixsock *s = us_connect(kind, addr);
  if (spin)
    unixsock_settimeout(s, 0);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    unixsock_send(s, buf, size);
    size_t got = 0;
    while (got < size) {
      ssize_t r = unixsock_recv(s, in + got, size - got);
      if (r > 0)
        got += (size_t)r;
      else if (r != -EAGAIN)
        die("unixsock_recv", (int)r);
      if (!stream && r > 0)
        break;
    }
  }
  printf("%.0f\n", (now() - t0) / (double)n * 1e9);
  unixsock_close(s);
}

static void tcp(int port, size_t size, long n) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
    die("tcp connect", errno);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  char *buf = calloc(1, size);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    send(fd, buf, size, 0);
    size_t got = 0;
    while (got < size) {
      ssize_t r = recv(fd, buf + got, size - got, 0);
      if (r <= 0)
        die("tcp recv", errno);
      got += (size_t)r;
    }
  }
  printf("%.0f\n", (now() - t0) / (double)n * 1e9);
}

/* ---- one-way rates ---- */

static void wait_ack_raw(int fd) {
  char c;
  if (recv(fd, &c, 1, 0) != 1)
    die("ack", errno);
}

/* n copies of m, 64 per unixsock_send_batch call */
static void send_in_batches(unixsock *s, const unixsock_message *m, long n) {
  enum { B = 64 };
  unixsock_message ms[B];
  for (int i = 0; i < B; i++)
    ms[i] = *m;
  for (long i = 0; i < n;) {
    size_t k = (size_t)(n - i) < B ? (size_t)(n - i) : B;
    int r = unixsock_send_batch(s, ms, k);
    if (r <= 0)
      die("send_batch", r);
    i += r;
  }
}

static void rate(const char *how, const char *kind, const char *addr, long n) {
  char buf[64] = {0};
  double t0;
  if (strcmp(how, "raw") == 0) {
    int fd = raw_connect(kind, addr);
    t0 = now();
    for (long i = 0; i < n; i++)
      if (send(fd, buf, sizeof(buf), MSG_NOSIGNAL) != sizeof(buf))
        die("send", errno);
    wait_ack_raw(fd);
  } else {
    unixsock *s = us_connect(kind, addr);
    t0 = now();
    if (strcmp(how, "us") == 0) {
      for (long i = 0; i < n; i++)
        if (unixsock_send(s, buf, sizeof(buf)) != sizeof(buf))
          die("unixsock_send", 0);
    } else { /* batch: sendmmsg of 64 at a time (stream: one write) */
      unixsock_message m = {0};
      m.data = buf;
      m.len = sizeof(buf);
      send_in_batches(s, &m, n);
    }
    char c;
    unixsock_recv(s, &c, 1);
  }
  printf("%.0f\n", (double)n / (now() - t0));
}

static void fds(const char *how, const char *kind, const char *addr, long n) {
  int use = strcmp(how, "raw") != 0;
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  char byte = 'x';
  double t0;
  if (!use) {
    int fd = raw_connect(kind, addr);
    t0 = now();
    for (long i = 0; i < n; i++)
      if (raw_send_one_fd(fd, devnull, NULL, 0) != 1)
        die("sendmsg", errno);
    wait_ack_raw(fd);
  } else {
    unixsock *s = us_connect(kind, addr);
    unixsock_message m = {0};
    m.data = &byte;
    m.len = 1;
    m.fds = &devnull;
    m.nfds = 1;
    t0 = now();
    if (strcmp(how, "batch") == 0) { /* 64 messages, one fd each, per call */
      send_in_batches(s, &m, n);
    } else {
      for (long i = 0; i < n; i++)
        if (unixsock_send_message(s, &m) != 1)
          die("send_message", 0);
    }
    char c;
    unixsock_recv(s, &c, 1);
  }
  printf("%.0f\n", (double)n / (now() - t0));
}

/* Receive n messages with one fd each, closing every fd; dgram says hello first,
 * so the source knows where to send. */
static void fds_in(const char *how, const char *kind, const char *addr, long n) {
  double t0;
  char byte = 'k';
  if (strcmp(how, "raw") == 0) {
    int fd = raw_connect(kind, addr);
    if (kind_of(kind) == UNIXSOCK_DGRAM && send(fd, &byte, 1, 0) != 1)
      die("hello", errno);
    t0 = now();
    for (long i = 0; i < n; i++) {
      union {
        struct cmsghdr h;
        char b[CMSG_SPACE(sizeof(int) * UNIXSOCK_MAX_FDS)];
      } cb;
      char buf[64];
      struct iovec iov = {buf, sizeof(buf)};
      struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b,
                          .msg_controllen = sizeof(cb.b)};
      if (recvmsg(fd, &mh, MSG_CMSG_CLOEXEC) != 1)
        die("recvmsg", errno);
      raw_close_fds(&mh);
    }
    send(fd, &byte, 1, MSG_NOSIGNAL);
  } else {
    unixsock *s = us_connect(kind, addr);
    if (kind_of(kind) == UNIXSOCK_DGRAM && unixsock_send(s, &byte, 1) != 1)
      die("hello", 0);
    t0 = now();
    if (strcmp(how, "batch") == 0) { /* up to 64 per call */
      enum { B = 64 };
      static unixsock_message ms[B];
      static char bufs[B][64];
      for (long got = 0; got < n;) {
        for (int i = 0; i < B; i++) {
          ms[i] = (unixsock_message){0};
          ms[i].data = bufs[i];
          ms[i].len = sizeof(bufs[i]);
        }
        int r = unixsock_recv_batch(s, ms, (size_t)(n - got) < B ? (size_t)(n - got) : B);
        if (r <= 0)
          die("recv_batch", r);
        for (int i = 0; i < r; i++)
          unixsock_message_release(&ms[i]); /* closes the fd */
        got += r;
      }
    } else {
      for (long i = 0; i < n; i++) {
        unixsock_message m = {0};
        int r = unixsock_recv_message(s, &m);
        if (r != 1 || m.nfds != 1)
          die("recv_message", r);
        unixsock_message_release(&m); /* closes the fd */
      }
    }
    unixsock_send(s, &byte, 1);
  }
  printf("%.0f\n", (double)n / (now() - t0));
}

/* ---- bulk ---- */

static void bulk(int use, const char *addr, long long total, size_t chunk, int rcvbuf) {
  char *buf = malloc(chunk);
  long long got = 0;
  double t0;
  if (!use) {
    int fd = raw_connect("stream", addr);
    if (rcvbuf)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    t0 = now();
    while (got < total) {
      ssize_t r = recv(fd, buf, chunk, 0);
      if (r <= 0)
        die("recv", errno);
      got += r;
    }
    send(fd, "k", 1, MSG_NOSIGNAL);
  } else {
    unixsock *s = us_connect("stream", addr);
    if (rcvbuf)
      unixsock_set_recv_buffer(s, rcvbuf);
    t0 = now();
    while (got < total) {
      ssize_t r = unixsock_recv(s, buf, chunk);
      if (r <= 0)
        die("unixsock_recv", (int)r);
      got += r;
    }
    unixsock_send(s, "k", 1);
  }
  printf("%.0f\n", (double)total / (now() - t0) / 1048576.0);
}

/* The floor of the CLI relay from a pipe: a stream written straight from memory,
 * timed until the sink says it has had all. */
static void bulk_send(const char *addr, long long total, size_t chunk) {
  char *buf = calloc(1, chunk);
  int fd = raw_connect("stream", addr);
  double t0 = now();
  for (long long sent = 0; sent < total;) {
    size_t want = total - sent < (long long)chunk ? (size_t)(total - sent) : chunk;
    ssize_t w = send(fd, buf, want, MSG_NOSIGNAL);
    if (w < 0 && errno != EINTR)
      die("send", errno);
    if (w > 0)
      sent += w;
  }
  char k;
  if (recv(fd, &k, 1, 0) != 1 || k != 'k')
    die("the sink's answer", EPROTO);
  printf("%.0f\n", (double)total / (now() - t0) / 1048576.0);
}

static void tcpbulk(int port, long long total, size_t chunk) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
    die("tcp connect", errno);
  /* the peer's tcp-echo answers what it gets: time the bytes coming back */
  char *buf = calloc(1, chunk), *in = malloc(chunk);
  long long got = 0, sent = 0;
  double t0 = now();
  while (got < total) {
    if (sent < total && sent - got < (long long)(4 * chunk)) {
      ssize_t w = send(fd, buf, chunk, MSG_DONTWAIT);
      if (w > 0)
        sent += w;
    }
    ssize_t r = recv(fd, in, chunk, MSG_DONTWAIT);
    if (r > 0)
      got += r;
    else if (r == 0)
      die("tcp closed", 0);
  }
  printf("%.0f\n", (double)total / (now() - t0) / 1048576.0);
}

/* ---- scale: N echo clients on one poller thread ---- */

struct server_arg {
  unixsock *listener;
  long n;
};

static void *serve_all(void *arg) {
  struct server_arg *a = arg;
  unixsock_poller *p;
  unixsock_poller_new(&p);
  unixsock_settimeout(a->listener, 0);
  unixsock_poller_set(p, unixsock_fd(a->listener), UNIXSOCK_READABLE, NULL);
  long closed = 0;
  unixsock_event ev[256];
  char buf[256];
  while (closed < a->n) {
    int k = unixsock_poller_wait(p, ev, 256, 10000);
    if (k <= 0)
      break;
    for (int i = 0; i < k; i++) {
      if (ev[i].data == NULL) {
        unixsock *c;
        while (unixsock_accept(a->listener, &c) == 0) {
          unixsock_settimeout(c, 0);
          unixsock_poller_set(p, unixsock_fd(c), UNIXSOCK_READABLE, c);
        }
        continue;
      }
      unixsock *c = ev[i].data;
      ssize_t r = unixsock_recv(c, buf, sizeof(buf));
      if (r > 0) {
        unixsock_send(c, buf, (size_t)r);
      } else if (r == 0 || r != -EAGAIN) {
        unixsock_poller_remove(p, unixsock_fd(c));
        unixsock_close(c);
        closed++;
      }
    }
  }
  unixsock_poller_free(p);
  return NULL;
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void scale(long n) {
  /* the server runs in a child process: each side needs one fd per client */
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t)(n + 64))
    die("RLIMIT_NOFILE hard limit too low for that many clients", EMFILE);
  char addr[64];
  snprintf(addr, sizeof(addr), "@unixsock-bench-scale-%d", (int)getpid());
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.backlog = 65535;
  unixsock *l;
  int r = unixsock_listen(addr, strlen(addr), UNIXSOCK_STREAM, &o, &l);
  if (r < 0)
    die("listen", r);
  pid_t child = fork();
  if (child == 0) {
    struct server_arg a = {l, n};
    serve_all(&a);
    _exit(0);
  }
  unixsock_close(l);
  long before = rss_kb();
  unixsock **cs = calloc((size_t)n, sizeof(*cs));
  long errors = 0;
  double t0 = now();
  for (long i = 0; i < n; i++) {
    r = unixsock_connect(addr, strlen(addr), UNIXSOCK_STREAM, 10000, &cs[i]);
    if (r < 0) {
      errors++;
      cs[i] = NULL;
    }
  }
  long during = rss_kb();
  /* every client sends, then every client reads its own answer back */
  for (long i = 0; i < n; i++) {
    char msg[32];
    int len = snprintf(msg, sizeof(msg), "client %ld", i);
    if (cs[i] && unixsock_send(cs[i], msg, (size_t)len) != len)
      errors++;
  }
  for (long i = 0; i < n; i++) {
    char msg[32], got[32];
    int len = snprintf(msg, sizeof(msg), "client %ld", i);
    if (!cs[i])
      continue;
    unixsock_settimeout(cs[i], 10000);
    ssize_t g = unixsock_recv(cs[i], got, sizeof(got));
    if (g != len || memcmp(got, msg, (size_t)len) != 0)
      errors++;
    unixsock_close(cs[i]);
  }
  double dt = now() - t0;
  int status;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    errors++;
  /* client side memory per connection (the handle and its bookkeeping) */
  printf("%.3f %ld %.1f\n", dt, errors, (double)(during - before) / (double)n);
}

int main(int argc, char **argv) {
  if (argc == 7 && (strcmp(argv[1], "rtt") == 0 || strcmp(argv[1], "spin") == 0))
    rtt(strcmp(argv[2], "us") == 0, argv[3], argv[4], (size_t)atol(argv[5]), atol(argv[6]),
        strcmp(argv[1], "spin") == 0);
  else if (argc == 6 && strcmp(argv[1], "poll") == 0)
    poll_empty(strcmp(argv[2], "us") == 0, argv[3], argv[4], atol(argv[5]));
  else if (argc == 5 && strcmp(argv[1], "tcp") == 0)
    tcp(atoi(argv[2]), (size_t)atol(argv[3]), atol(argv[4]));
  else if (argc == 6 && strcmp(argv[1], "rate") == 0)
    rate(argv[2], argv[3], argv[4], atol(argv[5]));
  else if (argc == 6 && strcmp(argv[1], "fds") == 0)
    fds(argv[2], argv[3], argv[4], atol(argv[5]));
  else if (argc == 6 && strcmp(argv[1], "fds-in") == 0)
    fds_in(argv[2], argv[3], argv[4], atol(argv[5]));
  else if (argc == 7 && strcmp(argv[1], "bulk") == 0)
    bulk(strcmp(argv[2], "us") == 0, argv[3], atoll(argv[4]), (size_t)atol(argv[5]),
         atoi(argv[6]));
  else if (argc == 5 && strcmp(argv[1], "bulk-send") == 0)
    bulk_send(argv[2], atoll(argv[3]), (size_t)atoll(argv[4]));
  else if (argc == 5 && strcmp(argv[1], "tcpbulk") == 0)
    tcpbulk(atoi(argv[2]), atoll(argv[3]), (size_t)atol(argv[4]));
  else if (argc == 3 && strcmp(argv[1], "scale") == 0)
    scale(atol(argv[2]));
  else {
    fprintf(stderr, "usage: see the comment at the top of bench/c/client.c\n");
    return 2;
  }
  return 0;
}
