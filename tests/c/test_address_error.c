/* unixsock_address_error: what a failed call's errno leaves unsaid about the
 * address it named.  Each case makes the call for real, checks the kernel's
 * errno, then the sentence. */
#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

/* A raw socket of type bound to name ("@x" abstract), listening or not: what a
 * program that is not ours leaves at an address. */
static int raw_bound(int type, const char *name, int listening) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t len = strlen(name);
  memcpy(sa.sun_path, name, len);
  if (name[0] == '@')
    sa.sun_path[0] = '\0';
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  CHECK(fd >= 0);
  CHECK(bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) == 0);
  if (listening)
    CHECK(listen(fd, 1) == 0);
  return fd;
}

/* An empty regular file at path. */
static void make_file(const char *path) {
  int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  CHECK(fd >= 0);
  close(fd);
}

/* op (connect, listen, bind) at name as kind fails with err, and
 * unixsock_address_error then says want, with other as the other kind. */
static void check_says(const char *op, int kind, const char *name, int err, const char *want,
                       int other) {
  unixsock *s = NULL;
  size_t len = strlen(name);
  int r = strcmp(op, "connect") == 0 ? unixsock_connect(name, len, kind, 1000, &s)
          : strcmp(op, "listen") == 0 ? unixsock_listen(name, len, kind, NULL, &s)
                                      : unixsock_bind(name, len, kind, NULL, &s);
  if (r != -err)
    check_fail(__FILE__, __LINE__, "%s %s: %s, expected %s", op, name,
               r < 0 ? unixsock_errname(r) : "success", unixsock_errname(-err));
  char buf[700];
  int got_other = -1;
  size_t n = unixsock_address_error(op, kind, name, len, r, &got_other, buf, sizeof(buf));
  if (n != strlen(want) || strcmp(buf, want) != 0 || got_other != other)
    check_fail(__FILE__, __LINE__, "%s %s (%s) said \"%s\" (other %d), expected \"%s\" (other %d)",
               op, name, unixsock_errname(r), buf, got_other, want, other);
  /* the length alone, and a text cut to fit */
  CHECK_EQ(unixsock_address_error(op, kind, name, len, r, NULL, NULL, 0), n);
  char small[6];
  CHECK_EQ(unixsock_address_error(op, kind, name, len, r, NULL, small, sizeof(small)), n);
  CHECK(n == 0 || strlen(small) == sizeof(small) - 1);
}

/* ECONNREFUSED said the same of a file that is not a socket, a stale socket
 * file, a socket that does not listen, and a path of another kind. */
TEST(test_a_refused_connect_says_what_is_at_a_path) {
  char file[512], stale[512], idle[512], dgram[512], both[512], want[1200];
  snprintf(file, sizeof(file), "%s", check_path("file"));
  snprintf(stale, sizeof(stale), "%s", check_path("stale.sock"));
  snprintf(idle, sizeof(idle), "%s", check_path("idle.sock"));
  snprintf(dgram, sizeof(dgram), "%s", check_path("dgram.sock"));
  snprintf(both, sizeof(both), "%s", check_path("both.sock"));
  make_file(file);
  close(raw_bound(SOCK_STREAM, stale, 0)); /* its file stays */
  int idle_fd = raw_bound(SOCK_STREAM, idle, 0), dgram_fd = raw_bound(SOCK_DGRAM, dgram, 0);
  snprintf(want, sizeof(want), "%s is a regular file, not a socket", file);
  check_says("connect", UNIXSOCK_STREAM, file, ECONNREFUSED, want, 0);
  snprintf(want, sizeof(want), "%s is a directory, not a socket", check_tmpdir());
  check_says("connect", UNIXSOCK_STREAM, check_tmpdir(), ECONNREFUSED, want, 0);
  snprintf(want, sizeof(want), "%s is a stale socket file: nobody answers there", stale);
  check_says("connect", UNIXSOCK_STREAM, stale, ECONNREFUSED, want, 0);
  snprintf(want, sizeof(want), "the stream socket bound to %s does not listen", idle);
  check_says("connect", UNIXSOCK_STREAM, idle, ECONNREFUSED, want, 0);
  snprintf(want, sizeof(want), "%s is a dgram socket, not a seqpacket one", dgram);
  check_says("connect", UNIXSOCK_SEQPACKET, dgram, EPROTOTYPE, want, UNIXSOCK_DGRAM);
  snprintf(want, sizeof(want), "%s is a stream socket, not a dgram one", idle);
  check_says("connect", UNIXSOCK_DGRAM, idle, EPROTOTYPE, want, UNIXSOCK_STREAM);
  /* a relative path is looked up by the absolute name it was bound to */
  char cwd[512];
  CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
  CHECK(chdir(check_tmpdir()) == 0);
  check_says("connect", UNIXSOCK_STREAM, "dgram.sock", EPROTOTYPE,
             "dgram.sock is a dgram socket, not a stream one", UNIXSOCK_DGRAM);
  CHECK(chdir(cwd) == 0);
  close(dgram_fd);
  close(idle_fd);
}

/* The kernel looks an abstract name up by kind: a server of another kind is
 * ECONNREFUSED, as if nobody were there. */
TEST(test_a_refused_connect_says_which_kinds_hold_an_abstract_name) {
  char both[200], one[200], idle[200], none[200], want[600];
  snprintf(both, sizeof(both), "%s", check_abstract("both"));
  snprintf(one, sizeof(one), "%s", check_abstract("one"));
  snprintf(idle, sizeof(idle), "%s", check_abstract("idle"));
  snprintf(none, sizeof(none), "%s", check_abstract("none"));
  int fds[] = {raw_bound(SOCK_DGRAM, both, 0), raw_bound(SOCK_SEQPACKET, both, 1),
               raw_bound(SOCK_DGRAM, one, 0), raw_bound(SOCK_STREAM, idle, 0)};
  snprintf(want, sizeof(want), "no stream socket holds %s; a dgram and a seqpacket socket do", both);
  check_says("connect", UNIXSOCK_STREAM, both, ECONNREFUSED, want, 0);
  snprintf(want, sizeof(want), "no seqpacket socket holds %s; a dgram socket does", one);
  check_says("connect", UNIXSOCK_SEQPACKET, one, ECONNREFUSED, want, UNIXSOCK_DGRAM);
  snprintf(want, sizeof(want), "the stream socket bound to %s does not listen", idle);
  check_says("connect", UNIXSOCK_STREAM, idle, ECONNREFUSED, want, 0);
  snprintf(want, sizeof(want), "no socket holds %s", none);
  check_says("connect", UNIXSOCK_STREAM, none, ECONNREFUSED, want, 0);
  for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
    close(fds[i]);
}

/* EADDRINUSE and EEXIST said neither what was there nor that it stays. */
TEST(test_a_refused_listen_says_what_holds_the_address) {
  char file[512], link[512], live[512], name[200], want[1200];
  snprintf(file, sizeof(file), "%s", check_path("file"));
  snprintf(link, sizeof(link), "%s", check_path("link.sock"));
  snprintf(live, sizeof(live), "%s", check_path("live.sock"));
  snprintf(name, sizeof(name), "%s", check_abstract("taken"));
  make_file(file);
  CHECK(symlink(file, link) == 0);
  int fds[] = {raw_bound(SOCK_SEQPACKET, live, 1), raw_bound(SOCK_DGRAM, name, 0)};
  snprintf(want, sizeof(want), "%s is a regular file, which listen never replaces", file);
  check_says("listen", UNIXSOCK_STREAM, file, EEXIST, want, 0);
  snprintf(want, sizeof(want), "%s is a symbolic link, which bind never replaces", link);
  check_says("bind", UNIXSOCK_DGRAM, link, EEXIST, want, 0);
  snprintf(want, sizeof(want), "%s is in use by a seqpacket socket", live);
  check_says("listen", UNIXSOCK_STREAM, live, EADDRINUSE, want, 0);
  snprintf(want, sizeof(want), "%s is in use by a dgram socket", name);
  check_says("bind", UNIXSOCK_DGRAM, name, EADDRINUSE, want, 0);
  close(fds[0]);
  close(fds[1]);
}

/* "No such file or directory" and "Not a directory" did not say which part of
 * the path was missing, or was a file. */
TEST(test_a_missing_path_says_which_part_is_missing) {
  char gone[512], link[512], in_gone[600], file[512], in_file[600], want[1400];
  snprintf(gone, sizeof(gone), "%s", check_path("gone"));
  snprintf(link, sizeof(link), "%s", check_path("moved.sock"));
  snprintf(file, sizeof(file), "%s", check_path("file"));
  snprintf(in_gone, sizeof(in_gone), "%s/app.sock", gone);
  snprintf(in_file, sizeof(in_file), "%s/app.sock", file);
  make_file(file);
  CHECK(symlink(in_gone, link) == 0); /* a server that moved its socket */
  snprintf(want, sizeof(want), "%s is a symbolic link to %s, which does not exist", link, in_gone);
  check_says("connect", UNIXSOCK_STREAM, link, ENOENT, want, 0);
  snprintf(want, sizeof(want), "the directory %s does not exist", gone);
  check_says("listen", UNIXSOCK_STREAM, in_gone, ENOENT, want, 0);
  check_says("connect", UNIXSOCK_SEQPACKET, in_gone, ENOENT, want, 0);
  snprintf(want, sizeof(want), "%s is a regular file, not a directory", file);
  check_says("bind", UNIXSOCK_DGRAM, in_file, ENOTDIR, want, 0);
  /* nothing at a path whose directory is there: the errno says it all */
  char missing[512];
  snprintf(missing, sizeof(missing), "%s", check_path("missing.sock"));
  check_says("connect", UNIXSOCK_STREAM, missing, ENOENT, "", 0);
}

/* A dgram socket connected to another takes datagrams from that one alone: the
 * kernel says EPERM, "Operation not permitted", as if it were a permission. */
TEST(test_a_dgram_send_refused_by_a_connected_socket_says_why) {
  char taken[512], other[512], want[1200];
  snprintf(taken, sizeof(taken), "%s", check_path("taken.sock"));
  snprintf(other, sizeof(other), "%s", check_path("other.sock"));
  unixsock *t, *o, *me;
  CHECK_OK(unixsock_bind(taken, strlen(taken), UNIXSOCK_DGRAM, NULL, &t));
  CHECK_OK(unixsock_bind(other, strlen(other), UNIXSOCK_DGRAM, NULL, &o));
  CHECK_OK(unixsock_connect(other, strlen(other), UNIXSOCK_DGRAM, 1000, &me));
  unixsock_close(me);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, other, strlen(other) + 1);
  CHECK(connect(unixsock_fd(t), (struct sockaddr *)&sa, sizeof(sa)) == 0);
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &me));
  int r = (int)unixsock_sendto(me, "x", 1, taken, strlen(taken));
  CHECK_EQ(r, -EPERM);
  char buf[700];
  snprintf(want, sizeof(want),
           "the dgram socket at %s is connected to another socket, and takes datagrams from "
           "that one alone", taken);
  unixsock_address_error("sendto", UNIXSOCK_DGRAM, taken, strlen(taken), r, NULL, buf, sizeof(buf));
  CHECK(strcmp(buf, want) == 0);
  unixsock_close(me);
  unixsock_close(o);
  unixsock_close(t);
}

TEST(test_an_empty_address_says_it_names_no_socket) {
  unixsock *s;
  char buf[200];
  int r = unixsock_connect("", 0, UNIXSOCK_STREAM, 1000, &s);
  CHECK_EQ(r, -EINVAL);
  CHECK(unixsock_address_error("connect", UNIXSOCK_STREAM, "", 0, r, NULL, buf, sizeof(buf)) > 0);
  CHECK(strcmp(buf, "an empty address names no socket: give a path, or @name for an abstract "
                    "one") == 0);
}

/* A NUL in a path was a bare EINVAL; an abstract name may hold NULs. */
TEST(test_a_nul_in_a_path_is_said) {
  unixsock *s;
  char buf[200];
  int r = unixsock_connect("/tmp/a\0b", 8, UNIXSOCK_STREAM, 1000, &s);
  CHECK_EQ(r, -EINVAL);
  CHECK(unixsock_address_error("connect", UNIXSOCK_STREAM, "/tmp/a\0b", 8, r, NULL, buf,
                               sizeof(buf)) > 0);
  CHECK(strcmp(buf, "a path cannot hold a NUL byte (an abstract @name can)") == 0);
  CHECK_EQ(unixsock_address_error("listen", UNIXSOCK_STREAM, "@a\0b", 4, -EINVAL, NULL, buf,
                                  sizeof(buf)), 0);
  /* the leading NUL of sun_path (and of Python's socket) is not how one is written here */
  CHECK_EQ(unixsock_connect("\0name", 5, UNIXSOCK_STREAM, 1000, &s), -EINVAL);
  unixsock_address_error("connect", UNIXSOCK_STREAM, "\0name", 5, -EINVAL, NULL, buf, sizeof(buf));
  CHECK(strcmp(buf, "an abstract name is written @name here, not with a leading NUL byte") == 0);
}

/* Errors it has nothing to add to, and input it cannot explain, leave buf empty. */
TEST(test_address_error_says_nothing_it_does_not_know) {
  char buf[64] = "x";
  CHECK_EQ(unixsock_address_error("sendto", UNIXSOCK_DGRAM, "/x", 2, -EAGAIN, NULL, buf,
                                  sizeof(buf)), 0); /* a full receiver: the errno says it */
  CHECK_EQ(unixsock_address_error("connect", UNIXSOCK_STREAM, "/x", 2, -EIO, NULL, buf,
                                  sizeof(buf)), 0);
  CHECK(buf[0] == '\0');
  CHECK_EQ(unixsock_address_error(NULL, UNIXSOCK_STREAM, "/x", 2, -ENOENT, NULL, buf,
                                  sizeof(buf)), 0);
  CHECK_EQ(unixsock_address_error("connect", UNIXSOCK_STREAM, NULL, 2, -ENOENT, NULL, buf,
                                  sizeof(buf)), 0);
  CHECK_EQ(unixsock_address_error("connect", UNIXSOCK_STREAM, "/a\0b", 4, -ENOENT, NULL, buf,
                                  sizeof(buf)), 0); /* no file has a NUL in its name */
  CHECK_EQ(unixsock_address_error("connect", UNIXSOCK_STREAM, "@x", 2, -EACCES, NULL, buf,
                                  sizeof(buf)), 0); /* abstract: no permissions to blame */
}

/* "File name too long" did not say which limit: an abstract name's 107 bytes, a
 * file name's 255, a path's 4095, or the socket file's own name's, which a long
 * path reaches through /proc/self/fd/N/. */
TEST(test_a_name_too_long_says_which_limit) {
  char abstract[120] = "@", own[200], part[400], path[5000], want[200];
  memset(abstract + 1, 'a', 108);
  abstract[109] = '\0';
  check_says("listen", UNIXSOCK_STREAM, abstract, ENAMETOOLONG,
             "an abstract name holds at most 107 bytes after the @; this one has 108", 0);
  snprintf(own, sizeof(own), "%s/", check_tmpdir());
  size_t dirlen = strlen(own);
  memset(own + dirlen, 'o', 100);
  own[dirlen + 100] = '\0';
  check_says("listen", UNIXSOCK_STREAM, own, ENAMETOOLONG,
             "a socket file's own name (after the last /) holds at most about 90 bytes; this "
             "one has 100 (the directories before it may be as long as you like)", 0);
  snprintf(part, sizeof(part), "%s/", check_tmpdir());
  memset(part + dirlen, 'p', 256);
  snprintf(part + dirlen + 256, sizeof(part) - dirlen - 256, "/x.sock");
  check_says("connect", UNIXSOCK_STREAM, part, ENAMETOOLONG,
             "a file name holds at most 255 bytes; one in this path has 256", 0);
  for (size_t i = 0; i < 2100; i++)
    memcpy(path + 2 * i, "/d", 2);
  snprintf(path + 4200, sizeof(path) - 4200, "/x.sock");
  snprintf(want, sizeof(want), "a path holds at most 4095 bytes; this one has %zu", strlen(path));
  check_says("connect", UNIXSOCK_STREAM, path, ENAMETOOLONG, want, 0);
  /* a message's address field is the binding's limit, before any call */
  char buf[200];
  CHECK(unixsock_address_error("send_message", UNIXSOCK_DGRAM, path, 200, -ENAMETOOLONG, NULL,
                               buf, sizeof(buf)) > 0);
  CHECK(strcmp(buf, "a message's address holds at most 112 bytes; this one has 200 (sendto "
                    "takes a longer path)") == 0);
}

/* A connect that timed out said "Connection timed out" alone: the kernel makes
 * it wait only while the listener's backlog is full. */
TEST(test_a_connect_that_waited_says_the_backlog_is_full) {
  const char *a = check_abstract("full");
  int l = raw_bound(SOCK_STREAM, a, 0);
  CHECK(listen(l, 0) == 0);
  unixsock *first, *c;
  CHECK_OK(unixsock_connect(a, strlen(a), UNIXSOCK_STREAM, 1000, &first));
  char want[400];
  snprintf(want, sizeof(want),
           "the stream socket at %s listens, but did not take the connection in time: its "
           "backlog of connections waiting for accept is full (its server accepts too slowly, "
           "or not at all)", a);
  int r = unixsock_connect(a, strlen(a), UNIXSOCK_STREAM, 50, &c);
  CHECK_EQ(r, -ETIMEDOUT);
  char buf[400];
  CHECK(unixsock_address_error("connect", UNIXSOCK_STREAM, a, strlen(a), r, NULL, buf,
                               sizeof(buf)) > 0);
  CHECK(strcmp(buf, want) == 0);
  r = unixsock_connect(a, strlen(a), UNIXSOCK_STREAM, 0, &c);
  CHECK_EQ(r, -EAGAIN);
  CHECK(unixsock_address_error("connect", UNIXSOCK_STREAM, a, strlen(a), r, NULL, buf,
                               sizeof(buf)) > 0);
  CHECK(strcmp(buf, want) == 0);
  /* a send's EAGAIN is a full receiver, said by no one: nothing to add */
  CHECK_EQ(unixsock_address_error("sendto", UNIXSOCK_DGRAM, a, strlen(a), -EAGAIN, NULL, buf,
                                  sizeof(buf)), 0);
  unixsock_close(first);
  close(l);
}

/* A dgram send that timed out said "Connection timed out": there is no
 * connection; the receiver has not read what came before. */
TEST(test_a_dgram_send_that_timed_out_says_the_receiver_does_not_read) {
  const char *a = check_abstract("slow");
  unixsock *r, *me;
  CHECK_OK(unixsock_bind(a, strlen(a), UNIXSOCK_DGRAM, NULL, &r));
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &me));
  unixsock_settimeout(me, 20);
  long n;
  while ((n = unixsock_sendto(me, "x", 1, a, strlen(a))) > 0) {
  }
  CHECK_EQ(n, -ETIMEDOUT);
  FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "re");
  int qlen;
  CHECK(f != NULL && fscanf(f, "%d", &qlen) == 1);
  fclose(f);
  char want[300], buf[300];
  snprintf(want, sizeof(want), "the dgram socket at %s did not take the datagram in time: it has "
           "not read those before it (the kernel queues %d per receiver: "
           "net.unix.max_dgram_qlen)", a, qlen);
  CHECK(unixsock_address_error("sendto", UNIXSOCK_DGRAM, a, strlen(a), (int)n, NULL, buf,
                               sizeof(buf)) > 0);
  CHECK(strcmp(buf, want) == 0);
  unixsock_close(me);
  unixsock_close(r);
}
