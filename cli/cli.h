/* The unixsock command-line tool: shared declarations.  Written on the public
 * C API only (unixsock.h). */
#ifndef UNIXSOCK_CLI_H
#define UNIXSOCK_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "unixsock.h"

/* Exit codes (documented in docs/unixsock.1). */
enum {
  EXIT_OK = 0,
  EXIT_FAIL = 1,      /* an operation failed */
  EXIT_USAGE = 2,     /* bad command line */
  EXIT_MISSING = 3,   /* probe: nothing at the path */
  EXIT_NOT_SOCKET = 4,/* probe: a file that is not a socket */
  EXIT_STALE = 5,     /* probe: a socket file nobody answers on */
  EXIT_DENIED = 6     /* probe: not allowed to connect */
};

enum { WAIT_DEFAULT = -2 };

struct cli_options {
  const char *address;
  const char *shown;     /* the address as messages show it (cli_shown) */
  int kind;
  int mode;              /* -1: default */
  bool echo;
  const char *prefix;    /* echo prefix, "Hi, " by default */
  bool show_peer;
  bool recv_fds;
  bool cred;
  const char *send_fd;   /* file to pass with the first message */
  bool messages;         /* use send_message/recv_message (framed on stream) */
  int timeout_ms;        /* connect timeout */
  int wait_ms;           /* once stdin ended: how long to wait with nothing arriving
                            (-1 for ever); WAIT_DEFAULT: the relay's own choice */
};

/* After result, the error of op on sock, what the errno alone does not say, on
 * a line of its own: how its stream's frame broke (unixsock_frame_error), or
 * what the call met (unixsock_call_error: a peer that closed with data unread). */
void cli_call_hint(const unixsock *sock, const char *op, int result);
/* Print "unixsock: <op> <address>: <strerror> (<ERRNAME>)" to stderr. */
void cli_error(const char *op, const char *address, int result);
/* The same for an address of len bytes as the library gives them (an abstract
 * name may hold any byte), shown as unixsock_address_text shows it. */
void cli_error_at(const char *op, const char *address, size_t len, int result);
/* address (len bytes) as unixsock_address_text shows it, control bytes as \xNN:
 * malloc'ed, NULL when memory ran out. */
char *cli_shown(const char *address, size_t len);
/* Where a symbolic link at path points, shown as cli_shown does, when it leads
 * nowhere (a server that moved its socket): malloc'ed, else NULL. */
char *cli_dangling_target(const char *path);
/* Print "unixsock: " + the printf-style reason and the --help hint; EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* After result, the error of op ("connect", "listen", "bind") at address as a
 * kind socket (0: any), print to stderr, on a line of its own, what result
 * leaves unsaid (unixsock_address_error: a file that is not a socket, a stale
 * one, another kind there, why EACCES...), and "try -k KIND" when one other kind
 * holds the address; nothing when the errno says all. */
void cli_address_hint(const char *op, int kind, const char *address, int result);

int cli_listen(const struct cli_options *o);
int cli_connect(const struct cli_options *o);
int cli_probe(const struct cli_options *o);

/* Whether a relay can read stdin and write stdout: 0, or -1 after saying which
 * cannot (EBADF: closed, or open the other way, as a pipe's write end given as
 * stdin, which poll never says readable: the relay waited for the peer). */
int cli_check_stdio(void);
/* Relay stdin <-> sock until either side ends. */
int cli_relay(unixsock *sock, const struct cli_options *o);
/* Open --send-fd's file read-only; -1 (after saying why) when it cannot be. */
int cli_open_send_fd(const struct cli_options *o);
/* Report what arrived beside a message (peer creds, fds) as the options ask. */
void cli_report(const unixsock_message *m, const struct cli_options *o);
/* Print a peer to stderr ("peer: pid=… uid=… gid=…"), or r, the error asking gave. */
void cli_show_peer(int r, const unixsock_peer_info *p);
/* The read end of the pipe SIGINT/SIGTERM write to (-1 before listen/connect). */
int cli_signal_fd(void);
/* Wait until fd is readable: 0, or -EINTR once a signal asked to stop. */
int cli_wait_readable(int fd);
/* The same until fd is writable. */
int cli_wait_writable(int fd);
/* Whether SIGINT or SIGTERM asked to stop. */
bool cli_stopping(void);

#endif
