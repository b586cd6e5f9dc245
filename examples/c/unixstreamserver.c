/* The seeds' stream echo server over unixsock: answers each line with
 * "Hi, <line>".  Serves one client after another until SIGINT/SIGTERM, then
 * removes its socket file (only if it is still its own). */
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

static int fail(const char *what, const char *addr, int r) {
  fprintf(stderr, "%s %s failed: %s (%s)\n", what, addr, unixsock_strerror(r),
          unixsock_errname(r));
  char why[600]; /* what holds the address, when the errno leaves it unsaid */
  if (unixsock_address_error(what, UNIXSOCK_STREAM, addr, strlen(addr), r, NULL, why,
                             sizeof(why)) > 0)
    fprintf(stderr, "%s\n", why);
  return 1;
}

/* Lines up to this long are answered whole; a longer one in pieces this long. */
#define LINE_MAX_BYTES 65536

static int answer(unixsock *conn, const char *line, size_t len) {
  static char reply[4 + LINE_MAX_BYTES];
  printf("Receive: %.*s", (int)len, line);
  memcpy(reply, "Hi, ", 4);
  memcpy(reply + 4, line, len);
  ssize_t r = unixsock_send(conn, reply, len + 4); /* one write: one whole reply */
  if (r < 0) /* that client left: the next one is served */
    fprintf(stderr, "client lost: send: %s (%s)\n", unixsock_strerror((int)r),
            unixsock_errname((int)r));
  return r < 0 ? -1 : 0;
}

static void serve(unixsock *conn) {
  static char buf[LINE_MAX_BYTES];
  size_t have = 0;
  while (!stopping) {
    ssize_t n = unixsock_recv(conn, buf + have, sizeof(buf) - have);
    if (n == 0 && have > 0) { /* a last line without its newline is answered as it is */
      if (answer(conn, buf, have) < 0)
        return;
      printf("\n");
    }
    if (n <= 0) {
      if (n == 0)
        printf("client quit\n");
      else if (n != -EINTR) /* a signal: we are stopping */
        fprintf(stderr, "client lost: recv: %s (%s)\n", unixsock_strerror((int)n),
                unixsock_errname((int)n));
      return;
    }
    have += (size_t)n;
    char *nl;
    while ((nl = memchr(buf, '\n', have)) != NULL) {
      size_t line = (size_t)(nl - buf) + 1;
      if (answer(conn, buf, line) < 0)
        return;
      memmove(buf, buf + line, have - line);
      have -= line;
    }
    if (have == sizeof(buf)) { /* a line longer than the buffer: answer this piece */
      if (answer(conn, buf, have) < 0)
        return;
      printf("\n");
      have = 0;
    }
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: unixstreamserver <local_path>\n");
    return 2;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  unixsock_set_interrupt_hook(stop_requested, NULL);
  unixsock *listener;
  int r = unixsock_listen(argv[1], strlen(argv[1]), UNIXSOCK_STREAM, NULL, &listener);
  if (r < 0)
    return fail("listen", argv[1], r);
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (!stopping) {
    unixsock *conn;
    r = unixsock_accept(listener, &conn);
    if (r < 0) {
      if (r != -EINTR)
        fail("accept", argv[1], r);
      break;
    }
    show_peer(conn);
    serve(conn);
    unixsock_close(conn);
  }
  unixsock_close(listener);
  return 0;
}
