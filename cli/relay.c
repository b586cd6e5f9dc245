/* Relay stdin <-> socket.  On a stream (without --messages) bytes are bytes; on
 * dgram, seqpacket and framed streams every line of stdin is one message and every
 * message received is printed on its own line (ended by a newline, unless it ends
 * in one). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h> /* splice */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { LINGER_MS = 500 }; /* dgram client: how long replies may still come after stdin ends */

/* A dgram listener answers the last sender with sendto, where its own socket's
 * poll cannot say when that sender has room again: a socket connected to the
 * sender can (it polls writable once there is room), and when none can be
 * connected the listener tries again this often. */
enum { RETRY_MS = 10 };

/* Nothing here ever waits on the socket: both directions go through one poll,
 * so the tool never sits in a write while the peer sits in its own write back
 * (a peer that echoes would never be read again). */
struct relay {
  unixsock *sock;
  const struct cli_options *o;
  bool lines; /* every line of stdin is one message (dgram, seqpacket, --messages) */
  int send_fd; /* passed with the first message, then closed */
  char reply_to[UNIXSOCK_ADDRESS_MAX];
  size_t reply_len; /* 0: no sender yet, or the last had no address */
  bool heard;       /* a datagram came (reply_len 0: from an unbound sender) */
  unixsock *room; /* connected to reply_to while that sender is full */
  bool listening_dgram;
  bool splice_out; /* bytes go to stdout, a pipe, by splice (until it is refused) */
  bool splice_in;  /* bytes come from stdin, a pipe or a file, by splice or sendfile
                      (until it is refused) */
  bool stdin_file; /* stdin is a regular file: sendfile, not splice */
  bool sock_full;  /* a splice from stdin found the socket full: wait until it is writable */
  bool stdin_open;
  bool stdout_failed; /* drain_socket's error was writing to stdout, not reading */
  char in[65536]; /* from stdin: in[off, have) is not sent yet */
  size_t off, have;
};

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Said once when what stdin gave has waited -t for the peer to make room: the
 * relay goes on waiting (the peer sets the pace), but not in silence. */
static void say_stuck(const struct relay *r) {
  char why[600];
  size_t n = r->listening_dgram
                 ? unixsock_address_error("sendto", UNIXSOCK_DGRAM, r->reply_to, r->reply_len,
                                          -ETIMEDOUT, NULL, why, sizeof(why))
                 : unixsock_call_error(r->sock, "send", -ETIMEDOUT, why, sizeof(why));
  if (n > 0)
    fprintf(stderr, "unixsock: still waiting to send: %s (Ctrl-C to stop)\n", why);
}

static bool own_writable(unixsock *sock) {
  struct pollfd p = {.fd = unixsock_fd(sock), .events = POLLOUT};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/* The peer closed, not just shut its writing (POLLHUP: both directions are
 * down), so nothing sent from here on would be read. */
static bool peer_gone(unixsock *sock) {
  struct pollfd p = {.fd = unixsock_fd(sock), .events = 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

static void room_close(struct relay *r) {
  unixsock_close(r->room);
  r->room = NULL;
}

/* -EINTR once a signal asked to stop: a reader that never reads again must not
 * hold the tool (and a listener's socket file) for ever. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    if (cli_stopping())
      return -EINTR;
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

/* One line as one message: 1 when sent (or dropped, said why), 0 when the socket
 * cannot take it now, < 0 on failure. */
static int send_line(struct relay *r, const char *data, size_t len) {
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
      fprintf(stderr, r->heard ? "unixsock: the last sender has no address to answer (it did "
                                 "not bind one): line dropped\n"
                               : "unixsock: nobody to send to yet (no datagram received)\n");
      return 1;
    }
    memcpy(m.address, r->reply_to, r->reply_len);
    m.addrlen = r->reply_len;
  }
  ssize_t n = unixsock_send_message(r->sock, &m);
  if (n == -EAGAIN)
    return 0;
  if (n < 0 && r->listening_dgram) {
    /* that sender left (or cannot take it): the listener goes on for the next */
    cli_error_at("send to", r->reply_to, r->reply_len, (int)n);
    return 1;
  }
  if (n < 0)
    return (int)n;
  if (r->send_fd >= 0) {
    close(r->send_fd);
    r->send_fd = -1;
  }
  return 1;
}

/* Send what stdin gave, as far as the socket takes it now (its timeout is 0):
 * 1 when all of it is out, 0 when the peer must read first, < 0 on failure.  A
 * line not ended yet waits for the rest, unless stdin ended or it fills in. */
static int send_pending(struct relay *r) {
  int f = unixsock_flush(r->sock); /* the end of a frame the socket took in part */
  int done = 1;
  if (f < 0) {
    done = f == -EAGAIN ? 0 : f;
  } else if (!r->lines) {
    if (r->sock_full)
      done = 0;
    while (r->off < r->have) {
      ssize_t n = unixsock_send(r->sock, r->in + r->off, r->have - r->off);
      if (n < 0) {
        done = n == -EAGAIN ? 0 : (int)n;
        break;
      }
      r->off += (size_t)n;
    }
  } else {
    while (r->off < r->have) {
      char *start = r->in + r->off;
      size_t left = r->have - r->off, len = left, used = left;
      char *nl = memchr(start, '\n', left);
      if (nl != NULL)
        len = (size_t)(nl - start), used = len + 1;
      else if (r->stdin_open && left < sizeof(r->in))
        break; /* the rest of the line is still to come */
      done = send_line(r, start, len); /* a line longer than in[] goes in pieces */
      if (done <= 0)
        break;
      r->off += used;
    }
  }
  memmove(r->in, r->in + r->off, r->have - r->off);
  r->have -= r->off;
  r->off = 0;
  if (done == 1 && r->lines && (f = unixsock_flush(r->sock)) < 0)
    done = f == -EAGAIN ? 0 : f; /* the message just sent was taken in part */
  return done;
}

enum { SPLICE_REFUSED = 2 };

/* Moves from `from` to `to` by splice (or, from a regular file, sendfile: the
 * same in the kernel, where splice needs a pipe on one side), non-blocking on
 * both sides, as long as the kernel can: 0 at the end of `from`, -EAGAIN once one
 * side must wait (which one, the caller asks), SPLICE_REFUSED where the kernel
 * will not move between these two (what moved before is through, in order: the
 * rest can follow by read and write), else -errno. */
static int splice_while_ready(int from, int to, bool from_file) {
  for (;;) {
    ssize_t n = from_file ? sendfile(to, from, NULL, 1 << 20)
                          : splice(from, NULL, to, NULL, 1 << 20, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0)
      continue;
    if (n == 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
      return SPLICE_REFUSED;
    return -errno;
  }
}

/* Bytes from stdin, a pipe or a file, by splice or sendfile: the kernel moves the
 * pipe's (or the page cache's) pages into the socket instead of copying them in
 * to this process and out again.  Called when
 * stdin is readable: 1 when it moved what the socket took (r->sock_full when that
 * was not all), 0 at the end of stdin, < 0 on failure to send, SPLICE_REFUSED. */
static int splice_from_stdin(struct relay *r) {
  /* the socket is non-blocking (cli_relay), so the splice never waits for it */
  int s = splice_while_ready(0, unixsock_fd(r->sock), r->stdin_file);
  if (s != -EAGAIN)
    return s;
  /* stdin is empty (poll said readable, another reader took it), or the socket
   * is full: then stdin waits until it is writable again */
  r->sock_full = !own_writable(r->sock);
  return 1;
}

/* Bytes into stdout, a pipe, by splice: the kernel moves the socket's data into
 * the pipe (its pages, where the sender's were whole) instead of copying it out
 * to this process and back in.  Like drain_socket: 0 at end of stream, 1 once the
 * socket is empty, < 0 on failure; SPLICE_REFUSED. */
static int splice_to_stdout(struct relay *r) {
  int fd = unixsock_fd(r->sock);
  for (;;) {
    int s = splice_while_ready(fd, 1, false);
    if (s != -EAGAIN)
      return s;
    /* the socket is empty, or the pipe full: then wait for the pipe, as a
     * blocking write to it would (until a signal asks to stop), and go on */
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = 1, .events = POLLOUT}};
    if (poll(p, 2, 0) < 0 && errno != EINTR)
      return -errno;
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
      return 1;
    if (!(p[1].revents & (POLLOUT | POLLERR)) && (s = cli_wait_writable(1)) < 0)
      return s;
  }
}

/* Everything readable now; 0 at end of stream, 1 to go on, < 0 on failure. */
static int drain_socket(struct relay *r) {
  if (r->splice_out) {
    int s = splice_to_stdout(r);
    /* a pipe fails a splice into it only when its reader has left */
    r->stdout_failed = s == -EPIPE;
    if (s != SPLICE_REFUSED)
      return s;
    r->splice_out = false; /* read and write from now on */
  }
  for (;;) {
    if (!r->lines) {
      static char buf[1 << 20]; /* one read takes what the socket holds (~200 KiB by default) */
      ssize_t n = unixsock_recv(r->sock, buf, sizeof(buf));
      if (n == -EAGAIN)
        return 1;
      if (n <= 0)
        return (int)n;
      int w = write_all(1, buf, (size_t)n);
      if (w < 0) {
        r->stdout_failed = true;
        return w;
      }
      continue;
    }
    unixsock_message m = {0};
    int n = unixsock_recv_message(r->sock, &m);
    if (n == -EAGAIN)
      return 1;
    if (n <= 0)
      return n;
    if (r->listening_dgram) { /* the next line goes to this sender, if it can be answered */
      memcpy(r->reply_to, m.address, m.addrlen);
      r->reply_len = m.addrlen;
      r->heard = true;
      room_close(r); /* wait for this one's room, if at all */
    }
    /* a peer that sends lines (socat) sends their newline: no blank line after */
    const char *data = m.data;
    int w = write_all(1, data, m.len);
    if (w == 0 && (m.len == 0 || data[m.len - 1] != '\n'))
      w = write_all(1, "\n", 1);
    cli_report(&m, r->o);
    unixsock_message_release(&m);
    if (w < 0) {
      r->stdout_failed = true;
      return w;
    }
  }
}

int cli_check_stdio(void) {
  int in = fcntl(0, F_GETFL), out = fcntl(1, F_GETFL);
  if (in < 0 || (in & O_PATH) || (in & O_ACCMODE) == O_WRONLY) {
    cli_error("read from", "stdin", -EBADF);
    return -1;
  }
  if (out < 0 || (out & O_PATH) || (out & O_ACCMODE) == O_RDONLY) {
    cli_error("write to", "stdout", -EBADF);
    return -1;
  }
  return 0;
}

int cli_relay(unixsock *sock, const struct cli_options *o) {
  struct relay r = {.sock = sock, .o = o, .send_fd = -1, .stdin_open = true};
  r.lines = o->messages || o->kind != UNIXSOCK_STREAM;
  struct stat out;
  r.splice_out = !r.lines && fstat(1, &out) == 0 && S_ISFIFO(out.st_mode);
  struct stat in;
  r.splice_in = !r.lines && fstat(0, &in) == 0 && (S_ISFIFO(in.st_mode) || S_ISREG(in.st_mode));
  r.stdin_file = r.splice_in && S_ISREG(in.st_mode);
  if (o->send_fd != NULL && (r.send_fd = cli_open_send_fd(o)) < 0)
    return EXIT_FAIL;
  char sockname[UNIXSOCK_ADDRESS_MAX];
  size_t slen = sizeof(sockname);
  /* a dgram socket that is not connected listens: it answers the last sender */
  r.listening_dgram = o->kind == UNIXSOCK_DGRAM &&
                      unixsock_peer_address(sock, sockname, &slen) < 0;
  unixsock_settimeout(sock, 0);
  /* splice and sendfile send without MSG_DONTWAIT, so only the socket's own
   * O_NONBLOCK keeps them from waiting for room; every other call on the socket
   * never waits already (timeout 0), so this changes nothing else.  (Nor does the
   * SIGPIPE they raise on a closed socket: main ignores it.) */
  if (r.splice_in) {
    int fl = fcntl(unixsock_fd(sock), F_GETFL);
    r.splice_in = fl >= 0 && fcntl(unixsock_fd(sock), F_SETFL, fl | O_NONBLOCK) == 0;
  }
  /* Once stdin ended: a stream or seqpacket peer says it is done by closing; a
   * dgram client waits a little for replies; a dgram listener has no end of
   * stream to wait for, so it receives until a signal.  -w says otherwise. */
  int wait_ms = o->wait_ms != WAIT_DEFAULT                         ? o->wait_ms
                : o->kind == UNIXSOCK_DGRAM && !r.listening_dgram ? LINGER_MS
                                                                   : -1;
  bool sock_open = true, shut = false; /* each direction ends on its own */
  long long waiting_since = -1; /* when what stdin gave began to wait for the peer */
  bool told = false;            /* say_stuck said so */
  int status = EXIT_OK;
  for (;;) {
    int out = send_pending(&r);
    if (out != 0)
      waiting_since = -1, told = false;
    else if (waiting_since < 0)
      waiting_since = now_ms();
    if (out < 0) {
      cli_error("send", o->address, out);
      cli_call_hint(sock, "send", out);
      status = EXIT_FAIL;
      break;
    }
    if (out == 1 && !r.stdin_open && !shut) {
      shut = true;
      if (o->kind != UNIXSOCK_DGRAM)
        unixsock_shutdown(sock, UNIXSOCK_SHUT_WR); /* the peer sees the end */
    }
    if (shut && !sock_open)
      break;
    /* The last sender is full (its queue), or our own send buffer is: the
     * latter first, on our socket (the other socket would say ready at once). */
    bool retry = out == 0 && r.listening_dgram && own_writable(sock);
    if (!retry)
      room_close(&r);
    else if (r.room == NULL &&
             unixsock_connect(r.reply_to, r.reply_len, UNIXSOCK_DGRAM, 0, &r.room) < 0)
      r.room = NULL; /* then by time */
    short sock_events = (sock_open ? POLLIN : 0) | (out == 0 && !retry ? POLLOUT : 0);
    /* stdin is read only once what it gave is out: the peer sets the pace */
    struct pollfd p[4] = {{.fd = sock_events ? unixsock_fd(sock) : -1, .events = sock_events},
                          {.fd = r.stdin_open && out == 1 ? 0 : -1, .events = POLLIN},
                          {.fd = cli_signal_fd(), .events = POLLIN},
                          {.fd = r.room != NULL ? unixsock_fd(r.room) : -1, .events = POLLOUT}};
    int timeout = retry && r.room == NULL ? RETRY_MS : shut ? wait_ms : -1;
    bool telling = false; /* say_stuck's time, not another, bounds this wait (-t 0: never) */
    if (waiting_since >= 0 && !told && o->timeout_ms > 0) {
      long long tell_in = waiting_since + o->timeout_ms - now_ms();
      tell_in = tell_in < 0 ? 0 : tell_in;
      if ((telling = timeout < 0 || tell_in < timeout))
        timeout = (int)tell_in;
    }
    int n = poll(p, 4, timeout);
    if (n == 0 && telling) { /* (a wake-up a little early only goes round again) */
      if (now_ms() >= waiting_since + o->timeout_ms) {
        say_stuck(&r);
        told = true;
      }
      continue;
    }
    if (n > 0 && p[2].revents)
      break; /* SIGINT/SIGTERM */
    if (n < 0) {
      if (errno == EINTR)
        break; /* SIGINT/SIGTERM */
      status = EXIT_FAIL;
      break;
    }
    if (n == 0 && !retry)
      break; /* the wait after stdin ended is over */
    if (p[0].revents & ~POLLOUT) {
      int d = drain_socket(&r);
      if (d == -EINTR)
        break; /* SIGINT/SIGTERM while stdout was full */
      /* (a message too long, or with too many fds, is said and skipped) */
      if (d < 0 && (r.stdout_failed || (d != -EMSGSIZE && d != -ENOBUFS))) {
        /* a reader of stdout that left (`| head`) ends the relay quietly, as it
         * would a tool that SIGPIPE ended; any other failure is said */
        if (r.stdout_failed && d != -EPIPE)
          cli_error("write to", "stdout", d);
        else if (!r.stdout_failed) {
          cli_error("recv", o->address, d);
          cli_call_hint(sock, "recv", d);
        }
        status = r.stdout_failed && d == -EPIPE ? EXIT_OK : EXIT_FAIL;
        break;
      }
      if (d == 0) {
        sock_open = false; /* the peer is done sending; we may still send */
        if (out == 1 && r.have == 0 && peer_gone(sock))
          break; /* and it reads nothing either: what stdin still has could never go */
      }
    }
    if (p[0].revents & POLLOUT)
      r.sock_full = false;
    if (p[1].revents && r.splice_in) {
      int s = splice_from_stdin(&r);
      if (s < 0) {
        /* the socket is ours and open: a bad descriptor is stdin (opened for writing) */
        if (s == -EBADF)
          cli_error("read from", "stdin", s);
        else {
          cli_error("send", o->address, s);
          cli_call_hint(sock, "send", s);
        }
        status = EXIT_FAIL;
        break;
      }
      if (s == 0)
        r.stdin_open = false;
      if (s != SPLICE_REFUSED)
        continue;
      r.splice_in = false; /* read and write from now on */
    }
    if (p[1].revents) {
      ssize_t got = read(0, r.in + r.have, sizeof(r.in) - r.have);
      if (got < 0 && (errno == EINTR || errno == EAGAIN))
        continue; /* (EAGAIN: a stdin someone else made non-blocking) */
      if (got < 0) {
        cli_error("read from", "stdin", -errno); /* not an end: what it held is lost */
        status = EXIT_FAIL;
        break;
      }
      if (got == 0)
        r.stdin_open = false; /* what is left (a last line without newline) goes next */
      else
        r.have += (size_t)got;
    }
  }
  room_close(&r);
  if (r.send_fd >= 0)
    close(r.send_fd);
  return status;
}
