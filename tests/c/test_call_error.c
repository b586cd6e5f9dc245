/* unixsock_call_error: a call that does not fit what its socket is says so, where
 * the kernel says "Invalid argument" or "not connected"; unixsock_fd_error: what
 * a descriptor adopt or the poller refused is. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

/* result is what op returned on sock; unixsock_call_error must say want ("": nothing). */
static void check_call(const unixsock *sock, const char *op, long result, int err,
                       const char *want) {
  if (result != -err)
    check_fail(__FILE__, __LINE__, "%s returned %ld, expected -%s", op, result,
               unixsock_errname(-err));
  char buf[300];
  size_t n = unixsock_call_error(sock, op, (int)result, buf, sizeof(buf));
  if (n != strlen(want) || strcmp(buf, want) != 0)
    check_fail(__FILE__, __LINE__, "%s (%s) said \"%s\", expected \"%s\"", op,
               unixsock_errname((int)result), buf, want);
  CHECK_EQ(unixsock_call_error(sock, op, (int)result, NULL, 0), n); /* the length alone */
  char small[5];
  CHECK_EQ(unixsock_call_error(sock, op, (int)result, small, sizeof(small)), n);
  CHECK(n == 0 || strlen(small) == sizeof(small) - 1); /* cut to fit */
}

TEST(test_a_listener_says_it_only_accepts) {
  const char *a = check_abstract("listener");
  unixsock *l, *c;
  char buf[8];
  CHECK_OK(unixsock_listen(a, strlen(a), UNIXSOCK_STREAM, NULL, &l));
  CHECK_OK(unixsock_connect(a, strlen(a), UNIXSOCK_STREAM, 1000, &c));
  const char *recv_said = "this stream socket listens: it only accepts connections; recv on "
                          "one that accept returns";
  check_call(l, "recv", unixsock_recv(l, buf, sizeof(buf)), EINVAL, recv_said);
  check_call(l, "send", unixsock_send(l, "x", 1), ENOTCONN,
             "this stream socket listens: it only accepts connections; send on one that "
             "accept returns");
  unixsock_peer_info p;
  check_call(l, "peer", unixsock_peer(l, 0, &p), ENOTCONN,
             "this stream socket listens: it only accepts connections; peer on one that "
             "accept returns");
  /* another call's EINVAL is about its arguments, even on a listener */
  check_call(l, "shutdown", unixsock_shutdown(l, 99), EINVAL, "");
  unixsock_close(c);
  unixsock_close(l);
}

TEST(test_accept_on_what_does_not_listen_says_so) {
  const char *a = check_abstract("accepting");
  unixsock *l, *c, *d, *x, *y, *got;
  CHECK_OK(unixsock_listen(a, strlen(a), UNIXSOCK_SEQPACKET, NULL, &l));
  CHECK_OK(unixsock_connect(a, strlen(a), UNIXSOCK_SEQPACKET, 1000, &c));
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &d));
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &x, &y));
  check_call(c, "accept", unixsock_accept(c, &got), EINVAL,
             "this seqpacket socket is not a listener: only one made by listen accepts "
             "connections");
  check_call(x, "accept", unixsock_accept(x, &got), EINVAL,
             "this stream socket is not a listener: only one made by listen accepts "
             "connections");
  check_call(d, "accept", unixsock_accept(d, &got), EINVAL,
             "a dgram socket has no connections to accept: it receives datagrams itself "
             "(recv, recvfrom)");
  /* a listener's accept that fails otherwise (nobody waiting) is not its role */
  unixsock_settimeout(l, 0);
  CHECK_OK(unixsock_accept(l, &got));
  unixsock_close(got);
  check_call(l, "accept", unixsock_accept(l, &got), EAGAIN, "");
  unixsock_close(y);
  unixsock_close(x);
  unixsock_close(d);
  unixsock_close(c);
  unixsock_close(l);
}

TEST(test_sends_that_do_not_fit_the_kind_say_so) {
  const char *a = check_abstract("kinds"), *to = check_abstract("to");
  unixsock *x, *y, *d, *target;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &x, &y));
  CHECK_OK(unixsock_bind(a, strlen(a), UNIXSOCK_DGRAM, NULL, &d));
  CHECK_OK(unixsock_bind(to, strlen(to), UNIXSOCK_DGRAM, NULL, &target));
  check_call(x, "sendto", unixsock_sendto(x, "x", 1, to, strlen(to)), EISCONN,
             "a stream socket sends only to its peer: send without an address");
  check_call(d, "send", unixsock_send(d, "x", 1), ENOTCONN,
             "this dgram socket is not connected: give each datagram an address (sendto)");
  unixsock_peer_info p;
  check_call(d, "peer", unixsock_peer(d, 0, &p), ENOTCONN,
             "this dgram socket is not connected, so it has no peer: each datagram comes "
             "with its sender's address (recvfrom)");
  /* a call that fits: nothing to add, and no question asked of the kernel */
  check_call(x, "recv", -EAGAIN, EAGAIN, "");
  CHECK_EQ(unixsock_call_error(NULL, "recv", -EINVAL, NULL, 0), 0);
  CHECK_EQ(unixsock_call_error(x, NULL, -EINVAL, NULL, 0), 0);
  unixsock_close(target);
  unixsock_close(d);
  unixsock_close(y);
  unixsock_close(x);
}

/* A send that timed out said "Connection timed out", as if connecting: the peer
 * did not read.  A receive that timed out got nothing, which the errno says. */
TEST(test_a_send_that_timed_out_says_the_peer_does_not_read) {
  unixsock *x, *y, *d, *e;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &x, &y));
  CHECK_OK(unixsock_pair(UNIXSOCK_DGRAM, &d, &e));
  unixsock_settimeout(x, 20);
  unixsock_settimeout(d, 20);
  static char chunk[65536];
  long n;
  while ((n = unixsock_send(x, chunk, sizeof(chunk))) > 0) {
  }
  check_call(x, "send", n, ETIMEDOUT,
             "the peer has not read what was sent before: its receive buffer, and this "
             "socket's send buffer, are full");
  check_call(x, "flush", n, ETIMEDOUT, /* the end of a frame, kept, that did not go */
             "the peer has not read what was sent before: its receive buffer, and this "
             "socket's send buffer, are full");
  while ((n = unixsock_send(d, "x", 1)) > 0) {
  }
  check_call(d, "send", n, ETIMEDOUT,
             "the socket this one is connected to has not read the datagrams sent before");
  char buf[8];
  unixsock_settimeout(y, 0);
  unixsock_settimeout(e, 20);
  CHECK_OK(unixsock_recv(e, buf, sizeof(buf))); /* one came: room for one more */
  check_call(x, "recv", unixsock_recv(x, buf, sizeof(buf)), ETIMEDOUT, "");
  unixsock_close(e);
  unixsock_close(d);
  unixsock_close(y);
  unixsock_close(x);
}

/* A peer that closed with data unread resets the connection: "Connection reset
 * by peer", on a machine with no network, said nothing of what happened. */
TEST(test_a_reset_says_the_peer_closed_with_data_unread) {
  static const int kinds[] = {UNIXSOCK_STREAM, UNIXSOCK_SEQPACKET};
  char buf[8];
  for (size_t k = 0; k < 2; k++) {
    unixsock *x, *y;
    CHECK_OK(unixsock_pair(kinds[k], &x, &y));
    CHECK_EQ(unixsock_send(x, "unread", 6), 6);
    unixsock_close(y);
    check_call(x, "recv", unixsock_recv(x, buf, sizeof(buf)), ECONNRESET,
               "the peer closed before reading all that this socket sent it");
    CHECK_EQ(unixsock_recv(x, buf, sizeof(buf)), 0); /* then the end */
    unixsock_close(x);
    /* a send meets it first on seqpacket; a stream send says EPIPE, and who closed */
    CHECK_OK(unixsock_pair(kinds[k], &x, &y));
    CHECK_EQ(unixsock_send(x, "unread", 6), 6);
    unixsock_close(y);
    if (kinds[k] == UNIXSOCK_SEQPACKET)
      check_call(x, "send", unixsock_send(x, "more", 4), ECONNRESET,
                 "the peer closed before reading all that this socket sent it");
    else
      check_call(x, "send", unixsock_send(x, "more", 4), EPIPE,
                 "the peer closed its end, or shut down its reading: nothing more reaches it");
    unixsock_close(x);
  }
}

/* adopt's ENOTSOCK and EAFNOSUPPORT did not say what the descriptor was. */
/* A message too long said "Message too long", no more: not how long a send may
 * be, nor that a receive with too small a buffer dropped the message. */
TEST(test_a_message_too_long_says_the_limit_or_what_was_dropped) {
  static const int kinds[] = {UNIXSOCK_DGRAM, UNIXSOCK_SEQPACKET};
  static const char *const nouns[] = {"datagram", "seqpacket message"};
  static char big[30000];
  char buf[8], want[300];
  long wmem_max = 0;
  FILE *f = fopen("/proc/sys/net/core/wmem_max", "re");
  CHECK(f != NULL && fscanf(f, "%ld", &wmem_max) == 1);
  fclose(f);
  for (size_t k = 0; k < 2; k++) {
    unixsock *x, *y;
    CHECK_OK(unixsock_pair(kinds[k], &x, &y));
    CHECK_OK(unixsock_set_send_buffer(x, 10000)); /* the kernel makes it 20000 */
    snprintf(want, sizeof(want), "this socket sends a %s of at most 19968 bytes: its send buffer "
             "(20000 bytes) less 32; a larger send_buffer raises it (up to net.core.wmem_max, %ld "
             "bytes)", nouns[k], wmem_max);
    check_call(x, "send", unixsock_send(x, big, sizeof(big)), EMSGSIZE, want);
    CHECK_EQ(unixsock_send(x, big, 19968), 19968); /* the most, exactly */
    CHECK_EQ(unixsock_recv(y, big, sizeof(big)), 19968);
    CHECK_EQ(unixsock_send(x, "0123456789", 10), 10);
    snprintf(want, sizeof(want), "the %s that arrived had 10 bytes, more than recv asked for: it "
             "was dropped, not cut (ask for as many, or use recv_message)", nouns[k]);
    check_call(y, "recv", unixsock_recv(y, buf, sizeof(buf)), EMSGSIZE, want);
    CHECK_OK(unixsock_set_max_message(y, 5));
    CHECK_EQ(unixsock_send(x, "0123456789", 10), 10);
    unixsock_message m = {0};
    snprintf(want, sizeof(want), "a %s of 10 bytes, over this socket's max_message (5): it was "
             "dropped", nouns[k]);
    check_call(y, "recv_message", unixsock_recv_message(y, &m), EMSGSIZE, want);
    unixsock_close(y);
    unixsock_close(x);
  }
  /* a stream's frame over max_message says so itself (unixsock_frame_error); one
   * that a recv_batch slot cannot hold waits, whole, which was not said */
  unixsock *x, *y;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &x, &y));
  check_call(y, "recv_message", -EMSGSIZE, EMSGSIZE, "");
  unixsock_message m = {.data = big, .len = 100};
  CHECK_EQ(unixsock_send_message(x, &m), 100);
  unixsock_message slots[2] = {{.data = buf, .len = sizeof(buf)}, {.data = buf, .len = sizeof(buf)}};
  check_call(y, "recv_batch", unixsock_recv_batch(y, slots, 2), EMSGSIZE,
             "the next frame has 100 bytes, more than recv_batch's size lets one message hold: it "
             "waits, whole, for a larger size or recv_message");
  unixsock_message whole = {0};
  CHECK_EQ(unixsock_recv_message(y, &whole), 1);
  CHECK_EQ(whole.len, 100);
  unixsock_message_release(&whole);
  unixsock_close(y);
  unixsock_close(x);
}

/* A message whose descriptors were refused said "No buffer space available",
 * which reads as memory: neither how many came, nor the limit they met, nor
 * that the message was dropped. */
TEST(test_refused_descriptors_say_how_many_came_and_what_was_dropped) {
  static const int kinds[] = {UNIXSOCK_STREAM, UNIXSOCK_SEQPACKET, UNIXSOCK_DGRAM};
  int fds[3] = {0, 0, 0};
  char why[300];
  for (size_t k = 0; k < 3; k++) {
    unixsock *x, *y;
    CHECK_OK(unixsock_pair(kinds[k], &x, &y));
    unixsock_message m = {.data = "x", .len = 1, .fds = fds, .nfds = 3};
    CHECK_EQ(unixsock_send_message(x, &m), 1);
    unixsock_message in = {.max_fds = 2};
    int r = unixsock_recv_message(y, &in);
    if (kinds[k] == UNIXSOCK_STREAM) { /* the frame's own words */
      CHECK_EQ(r, -ENOBUFS);
      unixsock_frame_error(y, r, why, sizeof(why));
      CHECK(strcmp(why, "3 descriptors came with a message, more than max_fds (2) allows: they were "
                        "closed, and the stream is shut down for reading (a frame is delivered "
                        "whole or not at all)") == 0);
    } else {
      check_call(y, "recv_message", r, ENOBUFS,
                 "3 descriptors came with a message, more than max_fds (2) allows: they were "
                 "closed, and the message was dropped");
      m.nfds = 1;
      CHECK_EQ(unixsock_send_message(x, &m), 1);
      in = (unixsock_message){.max_fds = UNIXSOCK_NO_FDS};
      check_call(y, "recv_message", unixsock_recv_message(y, &in), ENOBUFS,
                 "1 descriptor came with a message, more than max_fds (0) allows: it was closed, "
                 "and the message was dropped");
    }
    unixsock_close(y);
    unixsock_close(x);
  }
}

/* Out of descriptors: "Too many open files" did not say whose limit, nor how
 * high it is; descriptors the kernel cut (MSG_CTRUNC) said "No buffer space". */
TEST(test_out_of_descriptors_says_the_limit) {
  unixsock *x, *y, *p, *q;
  CHECK_OK(unixsock_pair(UNIXSOCK_SEQPACKET, &x, &y));
  int fds[3] = {0, 0, 0};
  unixsock_message m = {.data = "x", .len = 1, .fds = fds, .nfds = 3};
  CHECK_EQ(unixsock_send_message(x, &m), 1);
  struct rlimit old = check_fds_exhaust(), now;
  getrlimit(RLIMIT_NOFILE, &now);
  char want[200], why[300];
  snprintf(want, sizeof(want), "this process holds as many descriptors as its limit allows "
           "(RLIMIT_NOFILE, ulimit -n: %llu)", (unsigned long long)now.rlim_cur);
  long r = unixsock_pair(UNIXSOCK_STREAM, &p, &q);
  size_t n = unixsock_call_error(NULL, "pair", (int)r, why, sizeof(why)); /* no socket needed */
  unixsock_message in = {0};
  long got = unixsock_recv_message(y, &in);
  size_t cut = unixsock_call_error(y, "recv_message", (int)got, NULL, 0);
  char said[400];
  unixsock_call_error(y, "recv_message", (int)got, said, sizeof(said));
  check_fds_restore(&old);
  CHECK_EQ(r, -EMFILE);
  CHECK(n == strlen(want) && strcmp(why, want) == 0);
  CHECK_EQ(got, -ENOBUFS);
  CHECK(cut > 0);
  const char *start = "the kernel cut the descriptors that came with a message (MSG_CTRUNC): this "
                      "process holds ";
  CHECK(strncmp(said, start, strlen(start)) == 0);
  CHECK(strstr(said, "; those that came were closed, and the message was dropped") != NULL);
  unixsock_close(y);
  unixsock_close(x);
}

/* "Broken pipe" did not say whose end was closed: this socket's own shutdown
 * for writing, or the peer's close. */
TEST(test_a_broken_pipe_says_whose_end_closed) {
  static const int kinds[] = {UNIXSOCK_STREAM, UNIXSOCK_SEQPACKET};
  for (size_t k = 0; k < 2; k++) {
    unixsock *x, *y;
    CHECK_OK(unixsock_pair(kinds[k], &x, &y));
    CHECK_OK(unixsock_shutdown(x, UNIXSOCK_SHUT_WR));
    check_call(x, "send", unixsock_send(x, "x", 1), EPIPE,
               "this socket was shut down for writing: it sends nothing more");
    unixsock_close(x);
    check_call(y, "send", unixsock_send(y, "x", 1), EPIPE,
               "the peer closed its end, or shut down its reading: nothing more reaches it");
    unixsock_close(y);
  }
}

TEST(test_fd_error_says_what_the_descriptor_is) {
  char buf[200];
  unixsock *s;
  int fds[2];
  CHECK(pipe(fds) == 0);
  int r = unixsock_adopt(fds[0], &s);
  CHECK_EQ(r, -ENOTSOCK);
  CHECK(unixsock_fd_error(fds[0], r, buf, sizeof(buf)) > 0);
  char want[100];
  snprintf(want, sizeof(want), "descriptor %d is a fifo, not a socket", fds[0]);
  CHECK(strcmp(buf, want) == 0);
  int inet = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(inet >= 0);
  r = unixsock_adopt(inet, &s);
  CHECK_EQ(r, -EAFNOSUPPORT);
  CHECK_EQ(unixsock_fd_error(inet, r, NULL, 0), unixsock_fd_error(inet, r, buf, sizeof(buf)));
  snprintf(want, sizeof(want), "descriptor %d is an AF_INET6 socket, not an AF_UNIX one", inet);
  CHECK(strcmp(buf, want) == 0);
  close(inet);
  close(fds[0]);
  close(fds[1]);
  r = unixsock_adopt(fds[0], &s);
  CHECK_EQ(r, -EBADF);
  unixsock_fd_error(fds[0], r, buf, sizeof(buf));
  snprintf(want, sizeof(want), "descriptor %d is not open", fds[0]);
  CHECK(strcmp(buf, want) == 0);
  CHECK_EQ(unixsock_adopt(-4, &s), -EBADF);
  unixsock_fd_error(-4, -EBADF, buf, sizeof(buf));
  CHECK(strcmp(buf, "a descriptor is 0 or more, not -4") == 0);
  CHECK_EQ(unixsock_fd_error(0, -EINVAL, buf, sizeof(buf)), 0); /* nothing to add */
  CHECK(buf[0] == '\0');
}

/* The poller's EPERM and ENOENT are epoll's words for a file it cannot watch and
 * for a descriptor it does not watch. */
TEST(test_fd_error_says_what_the_poller_refused) {
  char buf[200], want[120];
  unixsock_poller *p;
  CHECK_OK(unixsock_poller_new(&p));
  int file = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
  CHECK(file >= 0);
  int r = unixsock_poller_set(p, file, UNIXSOCK_READABLE, NULL);
  CHECK_EQ(r, -EPERM);
  unixsock_fd_error(file, r, buf, sizeof(buf));
  snprintf(want, sizeof(want), "descriptor %d is a regular file, which epoll cannot watch: it is "
                               "always ready", file);
  CHECK(strcmp(buf, want) == 0);
  r = unixsock_poller_remove(p, file);
  CHECK_EQ(r, -ENOENT);
  unixsock_fd_error(file, r, buf, sizeof(buf));
  snprintf(want, sizeof(want), "descriptor %d is not watched by this poller", file);
  CHECK(strcmp(buf, want) == 0);
  close(file);
  unixsock_poller_free(p);
}
