/* Addresses: paths, abstract names, autobind, long paths. */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

static void local_is(unixsock *s, const char *want, size_t wantlen) {
  char name[4096]; /* a long path is reported whole */
  size_t len = sizeof(name);
  CHECK_OK(unixsock_local_address(s, name, &len));
  CHECK_EQ(len, wantlen);
  CHECK(memcmp(name, want, wantlen) == 0);
}

static void echo_once(const char *addr, size_t addrlen, int kind) {
  unixsock *l, *c, *s;
  char buf[8];
  CHECK_OK(unixsock_listen(addr, addrlen, kind, NULL, &l));
  CHECK_OK(unixsock_connect(addr, addrlen, kind, 1000, &c));
  unixsock_settimeout(l, 1000);
  CHECK_OK(unixsock_accept(l, &s));
  CHECK_EQ(unixsock_send(c, "abc", 3), 3);
  CHECK_EQ(unixsock_recv(s, buf, sizeof(buf)), 3);
  local_is(l, addr, addrlen);
  local_is(s, addr, addrlen); /* an accepted connection: its listener's, long too */
  char peer[4096];
  size_t plen = sizeof(peer);
  CHECK_OK(unixsock_peer_address(c, peer, &plen));
  CHECK_EQ(plen, addrlen);
  CHECK(memcmp(peer, addr, addrlen) == 0);
  unixsock_close(s);
  unixsock_close(c);
  unixsock_close(l);
}

/* A datagram from a raw socket to the abstract name a ("@..."), exact length. */
static void raw_send_to_abstract(int fd, const char *data, const char *a) {
  struct sockaddr_un to = {.sun_family = AF_UNIX};
  memcpy(to.sun_path + 1, a + 1, strlen(a) - 1);
  CHECK(sendto(fd, data, strlen(data), 0, (struct sockaddr *)&to,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a))) ==
        (ssize_t)strlen(data));
}

TEST(test_absolute_path_listen_connect) {
  const char *p = check_path("abs.sock");
  echo_once(p, strlen(p), UNIXSOCK_STREAM);
}

TEST(test_relative_path_listen_connect) {
  CHECK(chdir(check_tmpdir()) == 0);
  echo_once("rel.sock", 8, UNIXSOCK_SEQPACKET);
  struct stat st;
  CHECK(lstat("rel.sock", &st) < 0); /* removed on close */
}

TEST(test_abstract_name_has_exact_length) {
  const char *a = check_abstract("exact");
  unixsock *l, *c;
  CHECK_OK(unixsock_listen(a, strlen(a), UNIXSOCK_STREAM, NULL, &l));
  /* the same name padded with NULs (what a sizeof(sockaddr_un) bind makes) is a
   * different name: nobody listens there */
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path + 1, a + 1, strlen(a) - 1);
  CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0);
  CHECK_EQ(errno, ECONNREFUSED);
  close(fd);
  /* the exact name connects */
  CHECK_OK(unixsock_connect(a, strlen(a), UNIXSOCK_STREAM, 1000, &c));
  local_is(l, a, strlen(a));
  unixsock_close(c);
  unixsock_close(l);
}

TEST(test_abstract_name_with_nul_bytes) {
  char name[] = "@nul\0in\0name-XXXXXXXX";
  size_t len = sizeof(name) - 1;
  snprintf(name + 13, 9, "%08d", (int)getpid());
  echo_once(name, len, UNIXSOCK_STREAM);
}

/* Linux has one abstract name of no bytes; a sender bound there is reported as
 * "@", and that "@" must reach it again. */
TEST(test_at_alone_is_the_empty_abstract_name) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  socklen_t empty = (socklen_t)offsetof(struct sockaddr_un, sun_path) + 1;
  CHECK(bind(fd, (struct sockaddr *)&sa, empty) == 0);
  const char *a = check_abstract("to-empty");
  unixsock *srv;
  CHECK_OK(unixsock_bind(a, strlen(a), UNIXSOCK_DGRAM, NULL, &srv));
  raw_send_to_abstract(fd, "hi", a);
  char buf[8], sender[UNIXSOCK_ADDRESS_MAX];
  size_t slen = sizeof(sender);
  CHECK_EQ(unixsock_recvfrom(srv, buf, sizeof(buf), sender, &slen), 2);
  CHECK_EQ(slen, 1);
  CHECK(sender[0] == '@');
  CHECK_EQ(unixsock_sendto(srv, "back", 4, sender, slen), 4);
  CHECK(recv(fd, buf, sizeof(buf), 0) == 4);
  CHECK(memcmp(buf, "back", 4) == 0);
  unixsock_close(srv);
  close(fd);
  /* and it is a name to listen on, and to connect to */
  echo_once("@", 1, UNIXSOCK_SEQPACKET);
}

TEST(test_nul_byte_in_path_is_einval) {
  unixsock *s;
  CHECK_ERR(unixsock_listen("/tmp/a\0b", 8, UNIXSOCK_STREAM, NULL, &s), EINVAL);
}

TEST(test_autobind_gets_a_unique_abstract_name) {
  unixsock *a, *b;
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &a));
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &b));
  char n1[UNIXSOCK_ADDRESS_MAX], n2[UNIXSOCK_ADDRESS_MAX];
  size_t l1 = sizeof(n1), l2 = sizeof(n2);
  CHECK_OK(unixsock_local_address(a, n1, &l1));
  CHECK_OK(unixsock_local_address(b, n2, &l2));
  CHECK(l1 == 6 && n1[0] == '@'); /* Linux autobind: 5 hex digits */
  CHECK(l1 != l2 || memcmp(n1, n2, l1) != 0);
  /* the autobound name is reachable */
  CHECK_EQ(unixsock_sendto(b, "x", 1, n1, l1), 1);
  char buf[4], from[UNIXSOCK_ADDRESS_MAX];
  size_t flen = sizeof(from);
  CHECK_EQ(unixsock_recvfrom(a, buf, sizeof(buf), from, &flen), 1);
  CHECK_EQ(flen, l2);
  CHECK(memcmp(from, n2, l2) == 0);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_recvfrom_reports_unnamed_sender_as_empty) {
  unixsock *srv;
  const char *a = check_abstract("unnamed");
  CHECK_OK(unixsock_bind(a, strlen(a), UNIXSOCK_DGRAM, NULL, &srv));
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  raw_send_to_abstract(fd, "y", a);
  char buf[4], from[UNIXSOCK_ADDRESS_MAX];
  size_t flen = sizeof(from);
  CHECK_EQ(unixsock_recvfrom(srv, buf, sizeof(buf), from, &flen), 1);
  CHECK_EQ(flen, 0);
  close(fd);
  unixsock_close(srv);
}

static char *long_dir(void) {
  static char dir[4096];
  snprintf(dir, sizeof(dir), "%s", check_tmpdir());
  while (strlen(dir) < 150) {
    strcat(dir, "/a-rather-long-directory-name");
    CHECK(mkdir(dir, 0755) == 0);
  }
  return dir;
}

TEST(test_long_path_works_through_the_directory) {
  char path[4200];
  snprintf(path, sizeof(path), "%s/long.sock", long_dir());
  CHECK(strlen(path) > 108);
  echo_once(path, strlen(path), UNIXSOCK_STREAM);
  struct stat st;
  CHECK(lstat(path, &st) < 0 && errno == ENOENT); /* and is cleaned up */
}

TEST(test_long_path_dgram_bind_and_sendto) {
  char path[4200];
  snprintf(path, sizeof(path), "%s/long-dgram.sock", long_dir());
  unixsock *srv, *cli;
  CHECK_OK(unixsock_bind(path, strlen(path), UNIXSOCK_DGRAM, NULL, &srv));
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &cli));
  CHECK_EQ(unixsock_sendto(cli, "hey", 3, path, strlen(path)), 3);
  char buf[8];
  CHECK_EQ(unixsock_recv(srv, buf, sizeof(buf)), 3);
  local_is(srv, path, strlen(path));
  unixsock_close(cli);
  unixsock_close(srv);
}

TEST(test_path_too_long_is_enametoolong_never_truncated) {
  char path[400];
  memset(path, 'x', sizeof(path));
  path[0] = '/';
  unixsock *s;
  /* one component too long to fit even through a directory descriptor */
  snprintf(path, sizeof(path), "%s/", check_tmpdir());
  size_t n = strlen(path);
  memset(path + n, 'y', 150);
  path[n + 150] = '\0';
  CHECK_ERR(unixsock_listen(path, strlen(path), UNIXSOCK_STREAM, NULL, &s), ENAMETOOLONG);
  CHECK_ERR(unixsock_connect(path, strlen(path), UNIXSOCK_STREAM, 0, &s), ENAMETOOLONG);
  /* no truncated file appeared */
  char cut[200];
  memcpy(cut, path, 107);
  cut[107] = '\0';
  struct stat st;
  CHECK(lstat(cut, &st) < 0);
  /* abstract names cannot use a directory */
  char abs[200];
  abs[0] = '@';
  memset(abs + 1, 'z', 120);
  CHECK_ERR(unixsock_listen(abs, 121, UNIXSOCK_STREAM, NULL, &s), ENAMETOOLONG);
}

TEST(test_long_path_in_missing_directory_is_enoent) {
  char path[300];
  snprintf(path, sizeof(path), "%s/%0150d/x.sock", check_tmpdir(), 0);
  unixsock *s;
  CHECK_ERR(unixsock_listen(path, strlen(path), UNIXSOCK_STREAM, NULL, &s), ENOENT);
}

static void error_address_is(unixsock *s, int result, const char *want) {
  char name[4096];
  size_t len = sizeof(name);
  CHECK_OK(unixsock_error_address(s, result, name, &len));
  CHECK_EQ(len, strlen(want));
  CHECK(memcmp(name, want, len) == 0);
}

TEST(test_error_address_names_the_address_the_caller_knows) {
  CHECK(chdir(check_tmpdir()) == 0);
  unixsock *l, *c, *conn;
  CHECK_OK(unixsock_listen("err.sock", 8, UNIXSOCK_STREAM, NULL, &l));
  CHECK_OK(unixsock_connect("err.sock", 8, UNIXSOCK_STREAM, 1000, &c));
  CHECK_OK(unixsock_settimeout(l, 1000));
  CHECK_OK(unixsock_accept(l, &conn));
  error_address_is(l, -EINVAL, "err.sock");  /* as given: relative */
  error_address_is(c, -EPIPE, "err.sock");
  error_address_is(conn, -EPIPE, "err.sock"); /* its listener's */
  error_address_is(c, -EAGAIN, "");           /* a poller's empty try names nothing */
  char small[4];
  size_t len = sizeof(small);
  CHECK_ERR(unixsock_error_address(c, -EPIPE, small, &len), ENOBUFS);
  len = 0;
  CHECK_OK(unixsock_error_address(c, -EPIPE, NULL, &len)); /* the length alone */
  CHECK_EQ(len, 8);
  CHECK_ERR(unixsock_error_address(NULL, -EPIPE, small, &len), EINVAL);
  int fd = unixsock_release(conn, 0);
  CHECK(fd >= 0);
  error_address_is(conn, -EBADF, ""); /* released: nothing left to ask */
  close(fd);
  unixsock_close(conn);
  unixsock_close(c);
  unixsock_close(l);
}

TEST(test_error_address_of_an_accepted_named_client_is_the_client) {
  const char *a = check_abstract("errsrv"), *me = check_abstract("errcli");
  unixsock *l, *conn;
  CHECK_OK(unixsock_listen(a, strlen(a), UNIXSOCK_SEQPACKET, NULL, &l));
  int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path + 1, me + 1, strlen(me) - 1);
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(me));
  CHECK(bind(fd, (struct sockaddr *)&sa, salen) == 0);
  memset(sa.sun_path, 0, sizeof(sa.sun_path));
  memcpy(sa.sun_path + 1, a + 1, strlen(a) - 1);
  salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a));
  CHECK(connect(fd, (struct sockaddr *)&sa, salen) == 0);
  CHECK_OK(unixsock_settimeout(l, 1000));
  CHECK_OK(unixsock_accept(l, &conn));
  error_address_is(conn, -EPIPE, me);
  close(fd);
  unixsock_close(conn);
  unixsock_close(l);
}

TEST(test_error_address_of_a_pair_is_empty_and_of_autobind_its_name) {
  unixsock *a, *b, *d;
  CHECK_OK(unixsock_pair(UNIXSOCK_DGRAM, &a, &b));
  error_address_is(a, -ECONNREFUSED, "");
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &d));
  char own[UNIXSOCK_ADDRESS_MAX];
  size_t len = sizeof(own);
  CHECK_OK(unixsock_local_address(d, own, &len));
  own[len] = '\0';
  error_address_is(d, -ECONNREFUSED, own);
  unixsock_close(a);
  unixsock_close(b);
  unixsock_close(d);
}

static void text_is(const char *name, size_t len, size_t outsize, const char *want) {
  char out[64];
  size_t n = unixsock_address_text(name, len, out, outsize);
  if (strcmp(out, want) != 0 || n != strlen(want))
    check_fail(__FILE__, __LINE__, "address_text gave \"%s\" (%zu), expected \"%s\"", out, n,
               want);
}

TEST(test_address_text_escapes_control_bytes_only) {
  text_is("/tmp/x.sock", 11, 64, "/tmp/x.sock");
  text_is("", 0, 64, "\"\"");
  text_is("@a\0b\n", 5, 64, "@a\\x00b\\x0a");
  text_is("/tmp/caf\xc3\xa9", 10, 64, "/tmp/caf\xc3\xa9"); /* UTF-8 stays as it is */
  text_is("@\x7f", 2, 64, "@\\x7f");
  /* cut to fit, never inside an escape */
  text_is("abcdef", 6, 4, "abc");
  text_is("ab\001cd", 5, 6, "ab");
  text_is("ab\001cd", 5, 7, "ab\\x01");
  text_is("x", 1, 1, "");
  CHECK_EQ(unixsock_address_text("x", 1, NULL, 0), 0);
}
