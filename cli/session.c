/* listen and connect: make the socket, then relay or echo. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t stopping;
static int signal_pipe[2] = {-1, -1};

/* A signal that lands between two syscalls would be missed by an EINTR check
 * alone, so the handler also writes to a pipe that every wait watches. */
static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
  int saved = errno;
  if (signal_pipe[1] >= 0 && write(signal_pipe[1], "x", 1) < 0) {
  }
  errno = saved;
}

int cli_signal_fd(void) {
  return signal_pipe[0];
}

int cli_wait_readable(int fd) {
  for (;;) {
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = signal_pipe[0], .events = POLLIN}};
    if (stopping)
      return -EINTR;
    int n = poll(p, 2, -1);
    if (n < 0 && errno != EINTR)
      return -errno;
    if (stopping || (n > 0 && p[1].revents))
      return -EINTR;
    if (n > 0 && p[0].revents)
      return 0;
  }
}

static int stop_requested(void *arg) {
  (void)arg;
  return stopping;
}

/* SIGINT/SIGTERM end blocking calls (EINTR), so listeners close and remove their
 * files on the way out. */
static void catch_signals(void) {
  if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
    signal_pipe[0] = signal_pipe[1] = -1;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  unixsock_set_interrupt_hook(stop_requested, NULL);
}

void cli_show_peer(unixsock *sock) {
  unixsock_peer_info p;
  int r = unixsock_peer(sock, 0, &p);
  if (r < 0) {
    cli_error("peer", NULL, r);
    return;
  }
  fprintf(stderr, "peer: pid=%d uid=%u gid=%u", (int)p.pid, (unsigned)p.uid, (unsigned)p.gid);
  if (p.ngroups > 0) {
    fprintf(stderr, " groups=");
    for (size_t i = 0; i < p.ngroups; i++)
      fprintf(stderr, "%s%u", i ? "," : "", (unsigned)p.groups[i]);
  }
  if (p.label[0])
    fprintf(stderr, " label=%s", p.label);
  fputc('\n', stderr);
}

void cli_report(const unixsock_message *m, const struct cli_options *o) {
  if (o->cred || o->show_peer) {
    if (m->flags & UNIXSOCK_MSG_CREDS)
      fprintf(stderr, "creds: pid=%d uid=%u gid=%u\n", (int)m->creds.pid,
              (unsigned)m->creds.uid, (unsigned)m->creds.gid);
  }
  for (size_t i = 0; i < m->nfds; i++) {
    if (!o->recv_fds) {
      fprintf(stderr, "unixsock: closed a received descriptor (--recv-fds shows them)\n");
      continue;
    }
    char buf[4096];
    ssize_t n = pread(m->fds[i], buf, sizeof(buf), 0);
    if (n < 0)
      n = read(m->fds[i], buf, sizeof(buf)); /* pipes and sockets: no offset */
    fprintf(stderr, "fd %zu of %zu: ", i + 1, m->nfds);
    if (n < 0)
      fprintf(stderr, "(unreadable: %s)\n", strerror(errno));
    else
      fprintf(stderr, "%.*s%s", (int)n, buf, (n > 0 && buf[n - 1] == '\n') ? "" : "\n");
  }
}

int cli_open_send_fd(const struct cli_options *o) {
  if (o->send_fd == NULL)
    return -1;
  int fd = open(o->send_fd, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    cli_error("open", o->send_fd, -errno);
  return fd;
}

/* One reply in one write, so a reader gets the whole line at once. */
static int echo_line(unixsock *c, const char *prefix, size_t plen, const char *line,
                     size_t len) {
  char *reply = malloc(plen + len);
  if (reply == NULL)
    return -ENOMEM;
  memcpy(reply, prefix, plen);
  memcpy(reply + plen, line, len);
  unixsock_settimeout(c, 5000); /* a slow reader gets a bounded wait, not a lost line */
  ssize_t n = unixsock_send(c, reply, plen + len);
  unixsock_settimeout(c, 0);
  free(reply);
  return n < 0 ? (int)n : 0;
}

/* The echo server: every message gets PREFIX + message back (framed on a stream).
 * 1 to go on, 0 at end of stream, or a negative errno. */
static int echo_message(unixsock *c, const struct cli_options *o) {
  size_t plen = strlen(o->prefix);
  unixsock_message m = {0};
  int r = unixsock_recv_message(c, &m);
  if (r <= 0)
    return r == -EAGAIN ? 1 : r;
  cli_report(&m, o);
  char *reply = malloc(plen + m.len + 1);
  if (reply == NULL) {
    unixsock_message_release(&m);
    return -ENOMEM;
  }
  memcpy(reply, o->prefix, plen);
  memcpy(reply + plen, m.data, m.len);
  unixsock_message out = {0};
  out.data = reply;
  out.len = plen + m.len;
  out.flags = o->cred ? UNIXSOCK_MSG_CREDS : 0;
  memcpy(out.address, m.address, m.addrlen);
  out.addrlen = o->kind == UNIXSOCK_DGRAM ? m.addrlen : 0;
  ssize_t s = 0;
  if (o->kind != UNIXSOCK_DGRAM || m.addrlen > 0) {
    unixsock_settimeout(c, 5000); /* as for lines: a slow reader gets a bounded wait */
    s = unixsock_send_message(c, &out);
    unixsock_settimeout(c, 0);
  }
  unixsock_message_release(&m);
  free(reply);
  return s < 0 ? (int)s : 1;
}

/* A stream without --messages is line-based, like the seeds' server: pending holds
 * cap bytes, *have of them a line not yet complete. */
static int echo_conn(unixsock *c, const struct cli_options *o, char *pending, size_t *have,
                     size_t cap) {
  if (o->messages || o->kind != UNIXSOCK_STREAM)
    return echo_message(c, o);
  size_t plen = strlen(o->prefix);
  ssize_t n = unixsock_recv(c, pending + *have, cap - *have);
  if (n <= 0)
    return n == -EAGAIN ? 1 : (int)n;
  *have += (size_t)n;
  char *nl;
  while ((nl = memchr(pending, '\n', *have)) != NULL) {
    size_t line = (size_t)(nl - pending) + 1;
    if (echo_line(c, o->prefix, plen, pending, line) < 0)
      return -EPIPE;
    memmove(pending, pending + line, *have - line);
    *have -= line;
  }
  if (*have == cap) { /* a line longer than the buffer: answer it in pieces */
    if (echo_line(c, o->prefix, plen, pending, *have) < 0)
      return -EPIPE;
    *have = 0;
  }
  return 1;
}

struct conn {
  unixsock *sock;
  size_t have;
  char pending[4096];
};

static int echo_server(unixsock *listener, const struct cli_options *o) {
  if (o->kind == UNIXSOCK_DGRAM) {
    unixsock_settimeout(listener, 0);
    for (;;) {
      int r = cli_wait_readable(unixsock_fd(listener));
      if (r == 0)
        r = echo_message(listener, o);
      if (r == -EINTR)
        return EXIT_OK;
      if (r < 0 && r != -EMSGSIZE && r != -ENOBUFS) {
        cli_error("recv_message", o->address, r);
        return EXIT_FAIL;
      }
    }
  }
  unixsock_poller *p;
  int r = unixsock_poller_new(&p);
  if (r < 0) {
    cli_error("poller", NULL, r);
    return EXIT_FAIL;
  }
  static int stop_marker;
  unixsock_settimeout(listener, 0);
  unixsock_poller_set(p, unixsock_fd(listener), UNIXSOCK_READABLE, NULL);
  if (cli_signal_fd() >= 0)
    unixsock_poller_set(p, cli_signal_fd(), UNIXSOCK_READABLE, &stop_marker);
  int status = EXIT_OK;
  for (;;) {
    unixsock_event ev[64];
    int n = unixsock_poller_wait(p, ev, 64, -1);
    if (n == -EINTR)
      break;
    if (n < 0) {
      cli_error("poller_wait", NULL, n);
      status = EXIT_FAIL;
      break;
    }
    if (stopping)
      break;
    for (int i = 0; i < n; i++) {
      if (ev[i].data == &stop_marker)
        continue; /* stopping is set: the loop ends */
      if (ev[i].data == NULL) { /* the listener */
        unixsock *c;
        while (unixsock_accept(listener, &c) == 0) {
          struct conn *k = calloc(1, sizeof(*k));
          if (k == NULL) {
            unixsock_close(c);
            continue;
          }
          k->sock = c;
          unixsock_settimeout(c, 0);
          if (o->show_peer)
            cli_show_peer(c);
          unixsock_poller_set(p, unixsock_fd(c), UNIXSOCK_READABLE, k);
        }
        continue;
      }
      struct conn *k = ev[i].data;
      int rr = echo_conn(k->sock, o, k->pending, &k->have, sizeof(k->pending));
      if (rr <= 0) {
        unixsock_poller_remove(p, unixsock_fd(k->sock));
        unixsock_close(k->sock);
        free(k);
      }
    }
  }
  unixsock_poller_free(p);
  return status; /* connections still open are closed at exit */
}

int cli_listen(const struct cli_options *o) {
  catch_signals();
  unixsock_options opts = UNIXSOCK_OPTIONS_INIT;
  opts.mode = o->mode;
  unixsock *s;
  size_t alen = strlen(o->address);
  int r = o->kind == UNIXSOCK_DGRAM ? unixsock_bind(o->address, alen, o->kind, &opts, &s)
                                    : unixsock_listen(o->address, alen, o->kind, &opts, &s);
  if (r < 0) {
    cli_error(o->kind == UNIXSOCK_DGRAM ? "bind" : "listen", o->address, r);
    return EXIT_FAIL;
  }
  int status;
  if (o->echo) {
    status = echo_server(s, o);
  } else if (o->kind == UNIXSOCK_DGRAM) {
    status = cli_relay(s, o);
  } else {
    unixsock *c = NULL;
    unixsock_settimeout(s, 0);
    do {
      r = cli_wait_readable(unixsock_fd(s));
      if (r == 0)
        r = unixsock_accept(s, &c);
    } while (r == -EAGAIN);
    if (r < 0) {
      if (r != -EINTR)
        cli_error("accept", o->address, r);
      unixsock_close(s);
      return r == -EINTR ? EXIT_OK : EXIT_FAIL;
    }
    if (o->show_peer)
      cli_show_peer(c);
    status = cli_relay(c, o);
    unixsock_close(c);
  }
  unixsock_close(s);
  return status;
}

int cli_connect(const struct cli_options *o) {
  catch_signals();
  unixsock *s;
  int r = unixsock_connect(o->address, strlen(o->address), o->kind, o->timeout_ms, &s);
  if (r < 0) {
    cli_error("connect", o->address, r);
    return EXIT_FAIL;
  }
  unixsock_settimeout(s, -1);
  if (o->show_peer && o->kind != UNIXSOCK_DGRAM)
    cli_show_peer(s);
  int status = cli_relay(s, o);
  unixsock_close(s);
  return status;
}
