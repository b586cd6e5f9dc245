/* listen and connect: make the socket, then relay or echo. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

bool cli_stopping(void) {
  return stopping;
}

static int wait_for(int fd, short events) {
  for (;;) {
    struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = signal_pipe[0], .events = POLLIN}};
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

int cli_wait_readable(int fd) {
  return wait_for(fd, POLLIN);
}

int cli_wait_writable(int fd) {
  return wait_for(fd, POLLOUT);
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

void cli_show_peer(int r, const unixsock_peer_info *p) {
  if (r < 0) {
    cli_error("peer", NULL, r);
    return;
  }
  fprintf(stderr, "peer: pid=%d uid=%u gid=%u", (int)p->pid, (unsigned)p->uid, (unsigned)p->gid);
  if (p->ngroups > 0) {
    fprintf(stderr, " groups=");
    for (size_t i = 0; i < p->ngroups; i++)
      fprintf(stderr, "%s%u", i ? "," : "", (unsigned)p->groups[i]);
  }
  if (p->label[0])
    fprintf(stderr, " label=%s", p->label);
  fputc('\n', stderr);
}

/* What can be read through a received descriptor now, on stderr: the first 4
 * KiB of a file; of a pipe or socket, what is there already, since a read that
 * waited for its writer would stop the tool (it did, for as long as the peer
 * kept the pipe's other end).  Bytes as they are, NULs too. */
static void show_received_fd(int fd, size_t i, size_t n) {
  char buf[4096];
  fprintf(stderr, "fd %zu of %zu: ", i + 1, n);
  ssize_t got = pread(fd, buf, sizeof(buf), 0);
  if (got < 0 && errno == ESPIPE) { /* no offset: a pipe, a socket, a terminal */
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, 0) == 0) {
      fprintf(stderr, "(nothing to read yet)\n");
      return;
    }
    got = read(fd, buf, sizeof(buf));
  }
  if (got < 0) {
    fprintf(stderr, "(unreadable: %s)\n", strerror(errno));
    return;
  }
  fwrite(buf, 1, (size_t)got, stderr); /* printf's %s stopped at the first NUL */
  if (got == (ssize_t)sizeof(buf))
    fprintf(stderr, "\n(the first %zu bytes)\n", sizeof(buf));
  else if (got == 0 || buf[got - 1] != '\n')
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
    show_received_fd(m->fds[i], i, m->nfds);
  }
}

int cli_open_send_fd(const struct cli_options *o) {
  if (o->send_fd == NULL)
    return -1;
  /* O_NONBLOCK: a FIFO nobody writes to yet opens at once instead of holding the
   * tool until a writer comes; then cleared, as the receiver shares it */
  int fd = open(o->send_fd, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  int flags = fd < 0 ? -1 : fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
    int err = errno;
    struct stat st;
    cli_error("open", o->send_fd, -err);
    if (err == ENXIO && stat(o->send_fd, &st) == 0 && S_ISSOCK(st.st_mode))
      fprintf(stderr, "unixsock: %s is a socket, which open() cannot open: --send-fd passes "
              "files, fifos and devices\n", o->send_fd);
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

enum { LINE_MAX_BYTES = 65536 }; /* a longer line is answered in pieces this long */

/* One served connection.  Replies are never waited for: what the client has not
 * read yet waits in out, and the connection is not read again until it has gone,
 * so one client that reads nothing holds up nobody else. */
struct conn {
  unixsock *sock;
  char *pending;      /* pending[0, have): a line not complete yet */
  size_t have, cap;
  char *out;          /* a reply not taken yet: bytes, or one whole message */
  size_t out_off, out_len;
  bool writing;       /* the poller waits for room to write, not for requests */
  bool ended;         /* the client has sent its last: close once out has gone */
  pid_t pid;          /* the client's, as the kernel saw it connect (0: unknown) */
  struct conn *prev, *next; /* every open connection, to close them all at the end */
};

void cli_call_hint(const unixsock *sock, const char *op, int result) {
  char why[256];
  if (unixsock_frame_error(sock, result, why, sizeof(why)) > 0 ||
      unixsock_call_error(sock, op, result, why, sizeof(why)) > 0)
    fprintf(stderr, "unixsock: %s\n", why);
}

/* Says why k was dropped, naming it by pid: its socket has no address, and a
 * server with many clients must tell which one failed. */
static void conn_lost(const struct conn *k, int err) {
  if (k->pid > 0)
    fprintf(stderr, "unixsock: client pid %d lost: %s (%s)\n", (int)k->pid,
            unixsock_strerror(err), unixsock_errname(err));
  else
    cli_error("client lost", NULL, err);
  cli_call_hint(k->sock, "send", err); /* send or recv: the sentences it may add fit both */
}

/* Closes k's connection, takes it off the poller and the list, and frees it. */
static void conn_close(unixsock_poller *p, struct conn **all, struct conn *k) {
  unixsock_poller_remove(p, unixsock_fd(k->sock));
  unixsock_close(k->sock);
  if (k->prev != NULL)
    k->prev->next = k->next;
  else
    *all = k->next;
  if (k->next != NULL)
    k->next->prev = k->prev;
  free(k->pending);
  free(k->out);
  free(k);
}

/* Append prefix + data to the reply waiting to go. */
static int add_reply(struct conn *k, const char *prefix, const char *data, size_t len) {
  size_t plen = strlen(prefix), need = k->out_len + plen + len;
  char *grown = realloc(k->out, need);
  if (grown == NULL)
    return -ENOMEM;
  memcpy(grown + k->out_len, prefix, plen);
  memcpy(grown + k->out_len + plen, data, len);
  k->out = grown;
  k->out_len = need;
  return 0;
}

/* Send what waits in out as far as the client takes it now: 1 when all of it has
 * gone, 0 when the client must read first, < 0 on failure. */
static int send_replies(struct conn *k, const struct cli_options *o, bool lines) {
  int f = unixsock_flush(k->sock); /* the end of a framed reply taken in part */
  if (f < 0)
    return f == -EAGAIN ? 0 : f;
  while (k->out_off < k->out_len) {
    ssize_t n;
    if (lines) {
      n = unixsock_send(k->sock, k->out + k->out_off, k->out_len - k->out_off);
    } else {
      unixsock_message m = {0};
      m.data = k->out;
      m.len = k->out_len;
      m.flags = o->cred ? UNIXSOCK_MSG_CREDS : 0;
      n = unixsock_send_message(k->sock, &m); /* the whole message, or nothing */
      if (n >= 0)
        n = (ssize_t)k->out_len;
    }
    if (n < 0)
      return n == -EAGAIN ? 0 : (int)n;
    k->out_off += (size_t)n;
  }
  k->out_off = k->out_len = 0;
  f = unixsock_flush(k->sock); /* a framed reply the socket took in part */
  return f == 0 ? 1 : f == -EAGAIN ? 0 : f;
}

/* Read once and queue the answers: 1 to go on, 0 at end of stream, or a negative
 * errno (-EAGAIN: nothing there).  A stream without --messages is line-based,
 * like the seeds' server; a line longer than LINE_MAX_BYTES is answered in pieces. */
static int read_requests(struct conn *k, const struct cli_options *o, bool lines) {
  if (!lines) {
    unixsock_message m = {0};
    int r = unixsock_recv_message(k->sock, &m);
    if (r <= 0)
      return r;
    cli_report(&m, o);
    r = add_reply(k, o->prefix, m.data, m.len);
    unixsock_message_release(&m);
    return r < 0 ? r : 1;
  }
  if (k->have == k->cap) { /* room grows with the line, up to LINE_MAX_BYTES */
    size_t cap = k->cap ? 2 * k->cap : 4096;
    char *grown = realloc(k->pending, cap);
    if (grown == NULL)
      return -ENOMEM;
    k->pending = grown;
    k->cap = cap;
  }
  ssize_t n = unixsock_recv(k->sock, k->pending + k->have, k->cap - k->have);
  if (n == 0 && k->have > 0) { /* a last line without its newline is a line too */
    if (add_reply(k, o->prefix, k->pending, k->have) < 0)
      return -ENOMEM;
    k->have = 0;
  }
  if (n <= 0)
    return (int)n;
  k->have += (size_t)n;
  size_t used = 0;
  char *nl;
  while ((nl = memchr(k->pending + used, '\n', k->have - used)) != NULL) {
    size_t line = (size_t)(nl - (k->pending + used)) + 1;
    if (add_reply(k, o->prefix, k->pending + used, line) < 0)
      return -ENOMEM;
    used += line;
  }
  if (used == 0 && k->have == LINE_MAX_BYTES) {
    if (add_reply(k, o->prefix, k->pending, k->have) < 0)
      return -ENOMEM;
    used = k->have;
  }
  memmove(k->pending, k->pending + used, k->have - used);
  k->have -= used;
  return 1;
}

/* An event on a connection: 1 to keep it, <= 0 to close it. */
static int serve_conn(unixsock_poller *p, struct conn *k, const struct cli_options *o) {
  bool lines = !o->messages && o->kind == UNIXSOCK_STREAM;
  int w = send_replies(k, o, lines);
  if (w == 1 && !k->ended) {
    int r = read_requests(k, o, lines);
    if (r == 0 && k->out_len > 0) /* that last line's answer */
      k->ended = true;
    else if (r == 0 || (r < 0 && r != -EAGAIN))
      return r;
    if (r > 0 || k->ended)
      w = send_replies(k, o, lines);
  }
  if (w == 1 && k->ended)
    return 0; /* the answer to its last line has gone */
  if (w < 0)
    return w;
  /* with replies waiting, hear only when the client has read them */
  if (k->writing != (w == 0)) {
    k->writing = w == 0;
    unixsock_poller_set(p, unixsock_fd(k->sock), k->writing ? UNIXSOCK_WRITABLE : UNIXSOCK_READABLE, k);
  }
  return 1;
}

/* The dgram echo: one socket answers every sender.  A sender whose queue is full
 * gets a bounded wait (its reply is dropped after it), since holding the reply
 * would stop this socket for every other sender.  A reply that cannot go (the
 * sender left, or stayed full) is reported and dropped: it ends nothing else. */
static int echo_datagram(unixsock *s, const struct cli_options *o) {
  size_t plen = strlen(o->prefix);
  unixsock_message m = {0};
  int r = unixsock_recv_message(s, &m);
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
  out.addrlen = m.addrlen;
  ssize_t sent = 0;
  if (m.addrlen == 0) {
    fprintf(stderr, "unixsock: sender has no address to answer (it did not bind one)\n");
  } else {
    unixsock_settimeout(s, 5000);
    sent = unixsock_send_message(s, &out);
    unixsock_settimeout(s, 0);
    if (sent < 0)
      cli_error_at("reply to", m.address, m.addrlen, (int)sent);
  }
  unixsock_message_release(&m);
  free(reply);
  return 1;
}

static int echo_server(unixsock *listener, const struct cli_options *o) {
  if (o->kind == UNIXSOCK_DGRAM) {
    unixsock_settimeout(listener, 0);
    for (;;) {
      int r = cli_wait_readable(unixsock_fd(listener));
      if (r == 0)
        r = echo_datagram(listener, o);
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
  struct conn *all = NULL;
  /* Out of descriptors, accept fails and leaves the connection queued, so the
   * listener stays readable: watched, it spun at full CPU.  It is set aside
   * until a client leaves or 100 ms pass, and that is said once a backlog. */
  bool accept_paused = false, out_of_fds_said = false;
  for (;;) {
    unixsock_event ev[64];
    int n = unixsock_poller_wait(p, ev, 64, accept_paused ? 100 : -1);
    if (accept_paused) { /* a client left, or time passed: try again */
      unixsock_poller_set(p, unixsock_fd(listener), UNIXSOCK_READABLE, NULL);
      accept_paused = false;
    }
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
        int got;
        while ((got = unixsock_accept(listener, &c)) == 0) {
          struct conn *k = calloc(1, sizeof(*k));
          if (k == NULL) {
            unixsock_close(c);
            continue;
          }
          k->sock = c;
          unixsock_peer_info peer;
          int asked = unixsock_peer(c, 0, &peer);
          if (asked == 0)
            k->pid = peer.pid;
          k->next = all;
          if (all != NULL)
            all->prev = k;
          all = k;
          unixsock_settimeout(c, 0);
          if (o->show_peer)
            cli_show_peer(asked, &peer);
          unixsock_poller_set(p, unixsock_fd(c), UNIXSOCK_READABLE, k);
        }
        if (got == -EAGAIN) {
          out_of_fds_said = false; /* every client waiting was taken */
        } else if (got == -EMFILE || got == -ENFILE || got == -ENOBUFS || got == -ENOMEM) {
          if (!out_of_fds_said) {
            cli_error("accept", o->address, got);
            cli_call_hint(listener, "accept", got); /* whose limit, and how high */
            fprintf(stderr, "unixsock: the next clients wait until one leaves\n");
            out_of_fds_said = true;
          }
          unixsock_poller_remove(p, unixsock_fd(listener));
          accept_paused = true;
        }
        continue;
      }
      struct conn *k = ev[i].data;
      int served = serve_conn(p, k, o);
      if (served < 0) /* it left with replies due, or reset: the others go on */
        conn_lost(k, served);
      if (served <= 0)
        conn_close(p, &all, k);
    }
  }
  while (all != NULL) /* the clients still connected when it stops */
    conn_close(p, &all, all);
  unixsock_poller_free(p);
  return status;
}

int cli_listen(const struct cli_options *o) {
  catch_signals();
  unixsock_options opts = UNIXSOCK_OPTIONS_INIT;
  opts.mode = o->mode;
  unixsock *s;
  size_t alen = strlen(o->address);
  /* unixsock_bind autobinds for "": a dgram listener bound to a name nobody is
   * told; listen refuses it for every kind alike */
  int r = alen == 0                 ? -EINVAL
          : o->kind == UNIXSOCK_DGRAM ? unixsock_bind(o->address, alen, o->kind, &opts, &s)
                                      : unixsock_listen(o->address, alen, o->kind, &opts, &s);
  if (r < 0) {
    cli_error(o->kind == UNIXSOCK_DGRAM ? "bind" : "listen", o->address, r);
    cli_address_hint(o->kind == UNIXSOCK_DGRAM ? "bind" : "listen", o->kind, o->address, r);
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
    if (o->show_peer) {
      unixsock_peer_info peer;
      cli_show_peer(unixsock_peer(c, 0, &peer), &peer);
    }
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
    cli_address_hint("connect", o->kind, o->address, r);
    return EXIT_FAIL;
  }
  unixsock_settimeout(s, -1);
  if (o->show_peer && o->kind != UNIXSOCK_DGRAM) {
    unixsock_peer_info peer;
    cli_show_peer(unixsock_peer(s, 0, &peer), &peer);
  }
  int status = cli_relay(s, o);
  unixsock_close(s);
  return status;
}
