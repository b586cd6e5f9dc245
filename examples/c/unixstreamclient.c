/* The seeds' stream echo client over unixsock: sends each line of stdin and
 * prints the server's answer. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unixsock.h"

/* A line is sent this much at a time, and what the server has answered so far is
 * read in between: the servers answer a long line 64 KiB at a time while it is
 * still coming, and a client that sent all of it first would stop both ends once
 * those answers filled its receive buffer and the server's send buffer. */
#define PIECE 65536

/* Print the server's answer from reply (holding *have bytes), a reply line
 * longer than the buffer in pieces.  wait: until the newline that ends the answer
 * to the line sent (what follows it stays in reply); else only what has come so
 * far.  0, or -1 once the failure is said. */
static int read_answer(unixsock *conn, char *reply, size_t size, size_t *have, int wait) {
  for (;;) {
    char *nl = wait && *have > 0 ? memchr(reply, '\n', *have) : NULL;
    if (nl != NULL) {
      size_t used = (size_t)(nl - reply) + 1;
      fwrite(reply, 1, used, stdout);
      fflush(stdout);
      memmove(reply, reply + used, *have - used);
      *have -= used;
      return 0;
    }
    if (*have == size) { /* a reply line longer than the buffer: print it in pieces */
      fwrite(reply, 1, *have, stdout);
      *have = 0;
    }
    ssize_t n = wait ? unixsock_recv(conn, reply + *have, size - *have)
                     : unixsock_try_recv(conn, reply + *have, size - *have);
    if (n == -EAGAIN && !wait)
      return 0;
    if (n <= 0) {
      if (n == 0)
        fprintf(stderr, "server terminated prematurely\n");
      else
        fprintf(stderr, "recv failed: %s (%s)\n", unixsock_strerror((int)n),
                unixsock_errname((int)n));
      return -1;
    }
    *have += (size_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: unixstreamclient <local_path>\n");
    return 2;
  }
  unixsock *conn;
  int r = unixsock_connect(argv[1], strlen(argv[1]), UNIXSOCK_STREAM, 5000, &conn);
  if (r < 0) {
    fprintf(stderr, "connect %s failed: %s (%s)\n", argv[1], unixsock_strerror(r),
            unixsock_errname(r));
    char why[600]; /* what is there instead, when the errno leaves it unsaid */
    if (unixsock_address_error("connect", UNIXSOCK_STREAM, argv[1], strlen(argv[1]), r, NULL, why,
                               sizeof(why)) > 0)
      fprintf(stderr, "%s\n", why);
    return 1;
  }
  unixsock_settimeout(conn, 10000); /* a server that never answers is not waited for for ever */
  unixsock_peer_info who;
  if (unixsock_peer(conn, 0, &who) == 0)
    fprintf(stderr, "server: pid=%d uid=%u gid=%u\n", (int)who.pid, (unsigned)who.uid,
            (unsigned)who.gid);
  char *line = NULL, reply[4200];
  size_t cap = 0, have = 0;
  ssize_t got;
  while ((got = getline(&line, &cap, stdin)) > 0) { /* a whole line, however long */
    size_t len = (size_t)got;
    if (line[len - 1] != '\n')
      line[len++] = '\n'; /* the last line, unended: end it (where getline put its NUL) */
    int failed = 0;
    for (size_t off = 0; off < len && r >= 0 && !failed; off += PIECE) {
      size_t piece = len - off < PIECE ? len - off : PIECE;
      r = (int)unixsock_send(conn, line + off, piece);
      if (r >= 0 && off + piece < len)
        failed = read_answer(conn, reply, sizeof(reply), &have, 0);
    }
    if (r < 0)
      break;
    /* then until the answer's newline: a stream has no message boundaries */
    if (failed || read_answer(conn, reply, sizeof(reply), &have, 1) < 0) {
      unixsock_close(conn);
      free(line);
      return 1;
    }
  }
  unixsock_close(conn);
  free(line);
  if (r < 0) {
    fprintf(stderr, "send failed: %s (%s)\n", unixsock_strerror(r), unixsock_errname(r));
    return 1;
  }
  return 0;
}
