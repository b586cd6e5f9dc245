/* The seeds' datagram echo client over unixsock.  Instead of binding to a
 * tmpnam() path (a race, and a file left behind), the client autobinds: the
 * kernel gives it a unique abstract name the server's replies find. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unixsock.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: unixdataclient <local_path>\n");
    return 2;
  }
  unixsock *sock;
  int r = unixsock_connect(argv[1], strlen(argv[1]), UNIXSOCK_DGRAM, 10000, &sock);
  if (r < 0) {
    fprintf(stderr, "connect %s failed: %s (%s)\n", argv[1], unixsock_strerror(r),
            unixsock_errname(r));
    char why[600]; /* what is there instead, when the errno leaves it unsaid */
    if (unixsock_address_error("connect", UNIXSOCK_DGRAM, argv[1], strlen(argv[1]), r, NULL, why,
                               sizeof(why)) > 0)
      fprintf(stderr, "%s\n", why);
    return 1;
  }
  static char reply[65540]; /* the servers answer up to 64 KiB */
  char *line = NULL;
  size_t cap = 0;
  ssize_t got;
  while ((got = getline(&line, &cap, stdin)) > 0) { /* a whole line, however long */
    size_t len = strcspn(line, "\n");
    printf("now sending %.*s\n", (int)len, line);
    ssize_t n = unixsock_send(sock, line, len);
    if (n >= 0)
      n = unixsock_recv(sock, reply, sizeof(reply));
    if (n < 0) {
      fprintf(stderr, "echo via %s failed: %s (%s)\n", argv[1], unixsock_strerror((int)n),
              unixsock_errname((int)n));
      unixsock_close(sock);
      free(line);
      return 1;
    }
    printf("%.*s\n", (int)n, reply);
    fflush(stdout);
  }
  unixsock_close(sock);
  free(line);
  return 0;
}
