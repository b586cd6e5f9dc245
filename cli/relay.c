/* Relay stdin <-> socket.  On a stream (without --messages) bytes are bytes; on
 * dgram, seqpacket and framed streams every line of stdin is one message and every
 * message received is printed on its own line. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

enum { LINGER_MS = 500 }; /* dgram client: how long replies may still come after stdin ends */

struct relay {
  unixsock *sock;
  const struct cli_options *o;
  bool messages;
  int send_fd; /* passed with the first message, then closed */
  char reply_to[UNIXSOCK_ADDRESS_MAX];
  size_t reply_len;
  bool listening_dgram;
};

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int send_one(struct relay *r, const char *data, size_t len) {
  unixsock_message m = {0};
  m.data = (void *)data;
  m.len = len;
  m.flags = r->o->cred ? UNIXSOCK_MSG_CREDS : 0;
  if (r->send_fd >= 0) {
    m.fds = &r->send_fd;
    m.nfds = 1;
  }
  if (r->listening_dgram) {
    if (r->reply_len == 0) {
      fprintf(stderr, "unixsock: nobody to send to yet (no datagram received)\n");
      return 0;
    }
    memcpy(m.address, r->reply_to, r->reply_len);
    m.addrlen = r->reply_len;
  }
  unixsock_settimeout(r->sock, -1); /* stdin waits on the peer, as nc does */
  ssize_t n = (r->messages || r->o->kind != UNIXSOCK_STREAM) ? unixsock_send_message(r->sock, &m)
                                                            : unixsock_send(r->sock, data, len);
  unixsock_settimeout(r->sock, 0);
  if (n < 0) {
    cli_error("send", r->o->address, (int)n);
    return (int)n;
  }
  if (r->send_fd >= 0) {
    close(r->send_fd);
    r->send_fd = -1;
  }
  return 0;
}

/* Everything readable now; 0 at end of stream, 1 to go on, < 0 on failure. */
static int drain_socket(struct relay *r) {
  for (;;) {
    if (!r->messages && r->o->kind == UNIXSOCK_STREAM) {
      char buf[65536];
      ssize_t n = unixsock_recv(r->sock, buf, sizeof(buf));
      if (n == -EAGAIN)
        return 1;
      if (n <= 0)
        return (int)n;
      if (write_all(1, buf, (size_t)n) < 0)
        return -EPIPE;
      continue;
    }
    unixsock_message m = {0};
    int n = unixsock_recv_message(r->sock, &m);
    if (n == -EAGAIN)
      return 1;
    if (n <= 0)
      return n;
    if (r->listening_dgram && m.addrlen > 0) {
      memcpy(r->reply_to, m.address, m.addrlen);
      r->reply_len = m.addrlen;
    }
    int w = write_all(1, m.data, m.len);
    if (w == 0)
      w = write_all(1, "\n", 1);
    cli_report(&m, r->o);
    unixsock_message_release(&m);
    if (w < 0)
      return -EPIPE;
  }
}

int cli_relay(unixsock *sock, const struct cli_options *o) {
  struct relay r = {.sock = sock, .o = o, .messages = o->messages, .send_fd = -1};
  if (o->send_fd != NULL && (r.send_fd = cli_open_send_fd(o)) < 0)
    return EXIT_FAIL;
  char sockname[UNIXSOCK_ADDRESS_MAX];
  size_t slen = sizeof(sockname);
  /* a dgram socket that is not connected listens: it answers the last sender */
  r.listening_dgram = o->kind == UNIXSOCK_DGRAM &&
                      unixsock_peer_address(sock, sockname, &slen) < 0;
  unixsock_settimeout(sock, 0);
  bool stdin_open = true, sock_open = true; /* each direction ends on its own */
  char line[65536];
  size_t have = 0;
  int status = EXIT_OK;
  for (;;) {
    if (!stdin_open && !sock_open)
      break;
    struct pollfd p[3] = {{.fd = sock_open ? unixsock_fd(sock) : -1, .events = POLLIN},
                          {.fd = stdin_open ? 0 : -1, .events = POLLIN},
                          {.fd = cli_signal_fd(), .events = POLLIN}};
    /* A dgram client whose stdin ended waits a little for replies; a listener
     * has no end of stream to wait for, so it receives until a signal. */
    int timeout = (!stdin_open && o->kind == UNIXSOCK_DGRAM && !r.listening_dgram) ? LINGER_MS : -1;
    int n = poll(p, 3, timeout);
    if (n > 0 && p[2].revents)
      break; /* SIGINT/SIGTERM */
    if (n < 0) {
      if (errno == EINTR)
        break; /* SIGINT/SIGTERM */
      status = EXIT_FAIL;
      break;
    }
    if (n == 0)
      break; /* the linger after stdin ended is over */
    if (p[0].revents) {
      int d = drain_socket(&r);
      if (d < 0 && d != -EMSGSIZE && d != -ENOBUFS) {
        if (d != -EPIPE)
          cli_error("recv", o->address, d);
        status = d == -EPIPE ? EXIT_OK : EXIT_FAIL;
        break;
      }
      if (d == 0)
        sock_open = false; /* the peer is done sending; we may still send */
    }
    if (p[1].revents) {
      ssize_t got = read(0, line + have, sizeof(line) - have);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0) {
        stdin_open = false;
        if (have > 0 && send_one(&r, line, have) < 0) /* a last line without newline */
          return EXIT_FAIL;
        have = 0;
        if (o->kind != UNIXSOCK_DGRAM)
          unixsock_shutdown(sock, UNIXSOCK_SHUT_WR); /* the peer sees the end */
        continue;
      }
      if (!r.messages && o->kind == UNIXSOCK_STREAM) {
        if (send_one(&r, line, (size_t)got) < 0)
          return EXIT_FAIL;
        continue;
      }
      have += (size_t)got;
      char *nl;
      while ((nl = memchr(line, '\n', have)) != NULL) {
        size_t len = (size_t)(nl - line);
        if (send_one(&r, line, len) < 0)
          return EXIT_FAIL;
        memmove(line, nl + 1, have - len - 1);
        have -= len + 1;
      }
      if (have == sizeof(line)) { /* a longer line is sent in pieces */
        if (send_one(&r, line, have) < 0)
          return EXIT_FAIL;
        have = 0;
      }
    }
  }
  if (r.send_fd >= 0)
    close(r.send_fd);
  return status;
}
