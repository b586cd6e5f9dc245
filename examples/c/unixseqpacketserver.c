/* A seqpacket echo server over unixsock: like the stream server, but every
 * packet is one message, so no line splitting is needed. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "unixsock.h"

/* Who connected, as the kernel vouches for it. */
static void show_peer(unixsock *conn) {
  unixsock_peer_info p;
  if (unixsock_peer(conn, 0, &p) == 0)
    printf("peer: pid=%d uid=%u gid=%u\n", (int)p.pid, (unsigned)p.uid, (unsigned)p.gid);
}

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }
static int stop_requested(void *arg) { (void)arg; return stopping; }

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: unixseqpacketserver <local_path>\n");
    return 2;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  unixsock_set_interrupt_hook(stop_requested, NULL);
  unixsock *listener;
  int r = unixsock_listen(argv[1], strlen(argv[1]), UNIXSOCK_SEQPACKET, NULL, &listener);
  if (r < 0) {
    fprintf(stderr, "listen %s failed: %s (%s)\n", argv[1], unixsock_strerror(r),
            unixsock_errname(r));
    char why[600]; /* what is there instead, when the errno leaves it unsaid */
    if (unixsock_address_error("listen", UNIXSOCK_SEQPACKET, argv[1], strlen(argv[1]), r, NULL, why,
                               sizeof(why)) > 0)
      fprintf(stderr, "%s\n", why);
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  char buf[65536], reply[65540];
  while (!stopping) {
    unixsock *conn;
    if (unixsock_accept(listener, &conn) < 0)
      break;
    show_peer(conn);
    while (!stopping) {
      ssize_t n = unixsock_recv(conn, buf, sizeof(buf));
      if (n <= 0) {
        if (n == 0)
          printf("client quit\n");
        else if (n != -EINTR) /* a signal: we are stopping */
          fprintf(stderr, "client lost: recv: %s (%s)\n", unixsock_strerror((int)n),
                  unixsock_errname((int)n));
        break;
      }
      printf("Receive: %.*s\n", (int)n, buf);
      memcpy(reply, "Hi, ", 4);
      memcpy(reply + 4, buf, (size_t)n);
      ssize_t sent = unixsock_send(conn, reply, (size_t)n + 4);
      if (sent < 0) { /* that client left: the next one is served */
        fprintf(stderr, "client lost: send: %s (%s)\n", unixsock_strerror((int)sent),
                unixsock_errname((int)sent));
        break;
      }
    }
    unixsock_close(conn);
  }
  unixsock_close(listener);
  return 0;
}
