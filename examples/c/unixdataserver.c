/* The seeds' datagram echo server over unixsock: answers each datagram with
 * "Hi, <message>" to the sender's (autobound) address. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "unixsock.h"

static volatile sig_atomic_t stopping;
static void on_signal(int sig) { (void)sig; stopping = 1; }
static int stop_requested(void *arg) { (void)arg; return stopping; }

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: unixdataserver <local_path>\n");
    return 2;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  unixsock_set_interrupt_hook(stop_requested, NULL);
  unixsock *sock;
  int r = unixsock_bind(argv[1], strlen(argv[1]), UNIXSOCK_DGRAM, NULL, &sock);
  if (r < 0) {
    fprintf(stderr, "bind %s failed: %s (%s)\n", argv[1], unixsock_strerror(r),
            unixsock_errname(r));
    char why[600]; /* what is there instead, when the errno leaves it unsaid */
    if (unixsock_address_error("bind", UNIXSOCK_DGRAM, argv[1], strlen(argv[1]), r, NULL, why,
                               sizeof(why)) > 0)
      fprintf(stderr, "%s\n", why);
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  static char buf[65536], reply[65540]; /* a datagram up to 64 KiB, as the others take */
  char from[UNIXSOCK_ADDRESS_MAX];
  while (!stopping) {
    size_t fromlen = sizeof(from);
    ssize_t n = unixsock_recvfrom(sock, buf, sizeof(buf), from, &fromlen);
    if (n < 0) {
      if (n == -EINTR)
        break;
      fprintf(stderr, "recvfrom failed: %s (%s)\n", unixsock_strerror((int)n),
              unixsock_errname((int)n));
      continue; /* one bad datagram does not stop the server */
    }
    printf("Receive: %.*s\n", (int)n, buf);
    memcpy(reply, "Hi, ", 4);
    memcpy(reply + 4, buf, (size_t)n);
    printf("now sending: %.*s\n", (int)n + 4, reply);
    if (fromlen == 0) {
      fprintf(stderr, "sender has no address to answer\n");
      continue;
    }
    ssize_t s = unixsock_sendto(sock, reply, (size_t)n + 4, from, fromlen);
    if (s < 0)
      fprintf(stderr, "sendto %.*s failed: %s (%s)\n", (int)fromlen, from,
              unixsock_strerror((int)s), unixsock_errname((int)s));
  }
  unixsock_close(sock);
  return 0;
}
