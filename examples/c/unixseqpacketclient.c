/* A seqpacket echo client over unixsock: one line of stdin, one packet. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unixsock.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: unixseqpacketclient <local_path>\n");
    return 2;
  }
  unixsock *conn;
  int r = unixsock_connect(argv[1], strlen(argv[1]), UNIXSOCK_SEQPACKET, 10000, &conn);
  if (r < 0) {
    fprintf(stderr, "connect %s failed: %s (%s)\n", argv[1], unixsock_strerror(r),
            unixsock_errname(r));
    char why[600]; /* what is there instead, when the errno leaves it unsaid */
    if (unixsock_address_error("connect", UNIXSOCK_SEQPACKET, argv[1], strlen(argv[1]), r, NULL, why,
                               sizeof(why)) > 0)
      fprintf(stderr, "%s\n", why);
    return 1;
  }
  unixsock_peer_info who;
  if (unixsock_peer(conn, 0, &who) == 0)
    fprintf(stderr, "server: pid=%d uid=%u gid=%u\n", (int)who.pid, (unsigned)who.uid,
            (unsigned)who.gid);
  static char reply[65540]; /* the servers answer up to 64 KiB */
  char *line = NULL;
  size_t cap = 0;
  ssize_t got;
  while ((got = getline(&line, &cap, stdin)) > 0) { /* a whole line, however long */
    size_t len = strcspn(line, "\n");
    ssize_t n = unixsock_send(conn, line, len);
    if (n >= 0)
      n = unixsock_recv(conn, reply, sizeof(reply));
    if (n <= 0) {
      fprintf(stderr, "echo via %s failed: %s\n", argv[1],
              n == 0 ? "server terminated prematurely" : unixsock_strerror((int)n));
      unixsock_close(conn);
      free(line);
      return 1;
    }
    printf("%.*s\n", (int)n, reply);
    fflush(stdout);
  }
  unixsock_close(conn);
  free(line);
  return 0;
}
