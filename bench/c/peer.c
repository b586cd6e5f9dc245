/* The far end of every benchmark, in raw syscalls so that it costs the same
 * whichever client is measured:
 *   peer echo KIND ADDRESS    answer every message (stream: every read) as it is
 *   peer spin-echo KIND ADDRESS  the same, busy-polling (give it a CPU of its own)
 *   peer sink KIND ADDRESS N  swallow N bytes (stream) or N messages, closing any
 *                             fds that arrive, then answer one byte
 *   peer spin-sink KIND ADDRESS N  the same, busy-polling (give it a CPU of its own)
 *   peer fd-source KIND ADDRESS N  send N one-byte messages with one fd each
 *                             (dgram: to the client's first datagram's sender),
 *                             then wait for the client's byte
 *   peer source ADDRESS BYTES CHUNK   (stream) write BYTES in CHUNK-sized writes,
 *                             then wait for the client's byte (or its end)
 *   peer source-eof ADDRESS BYTES CHUNK  the same, then close: the end of the data
 *                             is end of stream (for relays, such as the CLI and socat)
 *   peer tcp-echo PORT        TCP echo with TCP_NODELAY, for the loopback row
 * ADDRESS is @name (abstract), or a scratch path (replaced without asking).  It prints "ready" once listening. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "raw_fds.h"

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int kind_type(const char *k) {
  if (strcmp(k, "stream") == 0)
    return SOCK_STREAM;
  if (strcmp(k, "dgram") == 0)
    return SOCK_DGRAM;
  return SOCK_SEQPACKET;
}

/* "@name" (abstract) or a path (for peers that cannot name abstract sockets). */
static socklen_t abstract(const char *name, struct sockaddr_un *sa) {
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  if (name[0] != '@') {
    unlink(name); /* benchmark scratch paths only */
    snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", name);
    return (socklen_t)sizeof(*sa);
  }
  size_t n = strlen(name) - 1; /* skip '@' */
  memcpy(sa->sun_path + 1, name + 1, n);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* A connected socket for stream/seqpacket (accepting one client), the bound
 * socket for dgram. */
static int serve_one(int type, const char *addr) {
  struct sockaddr_un sa;
  socklen_t len = abstract(addr, &sa);
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0)
    die("bind");
  if (type == SOCK_DGRAM) {
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    printf("ready\n");
    fflush(stdout);
    return fd;
  }
  if (listen(fd, 16) < 0)
    die("listen");
  printf("ready\n");
  fflush(stdout);
  int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0)
    die("accept");
  close(fd);
  return c;
}

/* spin: poll with non-blocking reads, so that neither end of a round trip waits
 * for a wake-up and the time left is the two ends' own work. */
static void echo(int type, const char *addr, int spin) {
  int fd = serve_one(type, addr);
  static char buf[1 << 20];
  for (;;) {
    struct sockaddr_un from;
    socklen_t flen = sizeof(from);
    ssize_t n = recvfrom(fd, buf, sizeof(buf), spin ? MSG_DONTWAIT : 0, (struct sockaddr *)&from, &flen);
    if (n <= 0) {
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (type == SOCK_DGRAM && n == 0)
        continue;
      break;
    }
    if (type == SOCK_DGRAM)
      sendto(fd, buf, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&from, flen);
    else
      send(fd, buf, (size_t)n, MSG_NOSIGNAL);
  }
}

/* spin: drain with non-blocking calls in a busy loop (on its own CPU), so that the
 * sender never pays for waking the sink and the sender's own cost is what shows. */
static void sink(int type, const char *addr, long long want, int spin) {
  int fd = serve_one(type, addr);
  int nowait = spin ? MSG_DONTWAIT : 0;
  enum { B = 64 };
  static char bufs[B][65536];
  static char ctl[B][1024];
  struct mmsghdr mm[B];
  struct iovec iov[B];
  struct sockaddr_un from;
  socklen_t flen = sizeof(from);
  long long got = 0;
  while (got < want) {
    if (type == SOCK_STREAM) {
      struct msghdr mh = {0};
      iov[0].iov_base = bufs[0];
      iov[0].iov_len = sizeof(bufs);
      mh.msg_iov = iov;
      mh.msg_iovlen = 1;
      mh.msg_control = ctl[0];
      mh.msg_controllen = sizeof(ctl);
      ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | nowait);
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        continue;
      if (n <= 0)
        break;
      raw_close_fds(&mh);
      got += n;
      continue;
    }
    for (int i = 0; i < B; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = sizeof(bufs[i]);
      memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
      mm[i].msg_hdr.msg_control = ctl[i];
      mm[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
      if (type == SOCK_DGRAM) {
        mm[i].msg_hdr.msg_name = &from;
        mm[i].msg_hdr.msg_namelen = sizeof(from);
      }
    }
    int n = recvmmsg(fd, mm, B, MSG_CMSG_CLOEXEC | (spin ? MSG_DONTWAIT : MSG_WAITFORONE), NULL);
    if (n <= 0) {
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      break;
    }
    for (int i = 0; i < n; i++) {
      struct msghdr *mh = &mm[i].msg_hdr;
      raw_close_fds(mh);
      if (type == SOCK_DGRAM) {
        from = *(struct sockaddr_un *)mh->msg_name;
        flen = mh->msg_namelen;
      }
    }
    got += n;
  }
  /* "k" once all came; "!" when the stream ended short (a relay that stopped) */
  const char *answer = got >= want ? "k" : "!";
  if (type == SOCK_DGRAM)
    sendto(fd, answer, 1, 0, (struct sockaddr *)&from, flen);
  else
    send(fd, answer, 1, MSG_NOSIGNAL);
  sleep(1); /* let the client read the answer before the socket goes */
}

static void fd_source(int type, const char *addr, long long n) {
  int fd = serve_one(type, addr);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  struct sockaddr_un to;
  socklen_t tolen = sizeof(to);
  char c;
  if (type == SOCK_DGRAM && recvfrom(fd, &c, 1, 0, (struct sockaddr *)&to, &tolen) != 1)
    die("hello");
  const struct sockaddr *dest = type == SOCK_DGRAM ? (struct sockaddr *)&to : NULL;
  for (long long i = 0; i < n; i++) {
    if (raw_send_one_fd(fd, devnull, dest, tolen) != 1) {
      if (errno == EINTR)
        i--;
      else
        die("sendmsg");
    }
  }
  recv(fd, &c, 1, 0); /* the client says it has them all */
}

static void source(const char *addr, long long bytes, size_t chunk, int wait_for_client) {
  int fd = serve_one(SOCK_STREAM, addr);
  char *buf = calloc(1, chunk);
  long long sent = 0;
  while (sent < bytes) {
    size_t n = (size_t)(bytes - sent) < chunk ? (size_t)(bytes - sent) : chunk;
    ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
    if (w <= 0)
      break;
    sent += w;
  }
  char c;
  if (wait_for_client)
    recv(fd, &c, 1, 0); /* the client says it has it all */
  close(fd);
}

static void tcp_echo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 4) < 0)
    die("tcp bind");
  printf("ready\n");
  fflush(stdout);
  int c = accept(fd, NULL, NULL);
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  static char buf[1 << 16];
  for (;;) {
    ssize_t n = recv(c, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    send(c, buf, (size_t)n, MSG_NOSIGNAL);
  }
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "echo") == 0)
    echo(kind_type(argv[2]), argv[3], 0);
  else if (argc == 4 && strcmp(argv[1], "spin-echo") == 0)
    echo(kind_type(argv[2]), argv[3], 1);
  else if (argc == 5 && strcmp(argv[1], "sink") == 0)
    sink(kind_type(argv[2]), argv[3], atoll(argv[4]), 0);
  else if (argc == 5 && strcmp(argv[1], "spin-sink") == 0)
    sink(kind_type(argv[2]), argv[3], atoll(argv[4]), 1);
  else if (argc == 5 && strcmp(argv[1], "fd-source") == 0)
    fd_source(kind_type(argv[2]), argv[3], atoll(argv[4]));
  else if (argc == 5 && strcmp(argv[1], "source") == 0)
    source(argv[2], atoll(argv[3]), (size_t)atoll(argv[4]), 1);
  else if (argc == 5 && strcmp(argv[1], "source-eof") == 0)
    source(argv[2], atoll(argv[3]), (size_t)atoll(argv[4]), 0);
  else if (argc == 3 && strcmp(argv[1], "tcp-echo") == 0)
    tcp_echo(atoi(argv[2]));
  else {
    fprintf(stderr, "usage: see the comment at the top of bench/c/peer.c\n");
    return 2;
  }
  return 0;
}
