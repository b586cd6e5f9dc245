/* Kinds, close-on-exec, pair, adopt. */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

static int cloexec(int fd) {
  return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

static void roundtrip(unixsock *a, unixsock *b) {
  char buf[16];
  CHECK_EQ(unixsock_send(a, "ping", 4), 4);
  CHECK_EQ(unixsock_recv(b, buf, sizeof(buf)), 4);
  CHECK(memcmp(buf, "ping", 4) == 0);
}

TEST(test_pair_of_every_kind_carries_bytes) {
  for (int k = UNIXSOCK_STREAM; k <= UNIXSOCK_SEQPACKET; k++) {
    unixsock *a, *b;
    CHECK_OK(unixsock_pair(k, &a, &b));
    CHECK_EQ(unixsock_kind(a), k);
    roundtrip(a, b);
    roundtrip(b, a);
    unixsock_close(a);
    unixsock_close(b);
  }
}

TEST(test_kind_names_parse_and_print) {
  CHECK_EQ(unixsock_kind_parse("stream"), UNIXSOCK_STREAM);
  CHECK_EQ(unixsock_kind_parse("dgram"), UNIXSOCK_DGRAM);
  CHECK_EQ(unixsock_kind_parse("seqpacket"), UNIXSOCK_SEQPACKET);
  CHECK_ERR(unixsock_kind_parse("raw"), EINVAL);
  CHECK(strcmp(unixsock_kind_name(UNIXSOCK_SEQPACKET), "seqpacket") == 0);
  CHECK(unixsock_kind_name(9) == NULL);
}

TEST(test_bad_kind_is_einval) {
  unixsock *a, *b;
  CHECK_ERR(unixsock_pair(0, &a, &b), EINVAL);
  CHECK_ERR(unixsock_listen("@x", 2, UNIXSOCK_DGRAM, NULL, &a), EINVAL);
  CHECK_ERR(unixsock_bind("@x", 2, UNIXSOCK_STREAM, NULL, &a), EINVAL);
  CHECK_ERR(unixsock_connect("@x", 2, 42, -1, &a), EINVAL);
}

TEST(test_every_socket_is_close_on_exec) {
  const char *addr = check_abstract("cloexec");
  unixsock *l, *c, *s, *d, *a, *b;
  CHECK_OK(unixsock_listen(addr, strlen(addr), UNIXSOCK_STREAM, NULL, &l));
  CHECK_OK(unixsock_connect(addr, strlen(addr), UNIXSOCK_STREAM, 1000, &c));
  CHECK_OK(unixsock_accept(l, &s));
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &d));
  CHECK_OK(unixsock_pair(UNIXSOCK_SEQPACKET, &a, &b));
  unixsock *all[] = {l, c, s, d, a, b};
  for (size_t i = 0; i < 6; i++) {
    CHECK(cloexec(unixsock_fd(all[i])));
    unixsock_close(all[i]);
  }
}

TEST(test_adopt_reads_kind_and_sets_cloexec) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
  unixsock *a, *b;
  CHECK_OK(unixsock_adopt(sv[0], &a));
  CHECK_OK(unixsock_adopt(sv[1], &b));
  CHECK_EQ(unixsock_kind(a), UNIXSOCK_SEQPACKET);
  CHECK(cloexec(unixsock_fd(a)));
  roundtrip(a, b);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_adopt_refuses_what_is_not_af_unix) {
  unixsock *s;
  int p[2];
  CHECK(pipe(p) == 0);
  CHECK_ERR(unixsock_adopt(p[0], &s), ENOTSOCK);
  int inet = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(inet >= 0);
  CHECK_ERR(unixsock_adopt(inet, &s), EAFNOSUPPORT);
  CHECK_ERR(unixsock_adopt(-1, &s), EBADF);
  /* on failure the caller still owns the fd */
  CHECK(close(p[0]) == 0);
  CHECK(close(p[1]) == 0);
  CHECK(close(inet) == 0);
}

TEST(test_adopted_listener_accepts) {
  const char *addr = check_abstract("adopt-listener");
  unixsock *l, *l2, *c, *s;
  CHECK_OK(unixsock_listen(addr, strlen(addr), UNIXSOCK_STREAM, NULL, &l));
  int fd = unixsock_detach(l);
  CHECK_OK(unixsock_adopt(fd, &l2));
  CHECK_OK(unixsock_connect(addr, strlen(addr), UNIXSOCK_STREAM, 1000, &c));
  unixsock_settimeout(l2, 1000);
  CHECK_OK(unixsock_accept(l2, &s));
  roundtrip(c, s);
  unixsock_close(s);
  unixsock_close(c);
  unixsock_close(l2);
}

TEST(test_listening_tells_a_listener_from_a_connection) {
  const char *addr = check_abstract("listening");
  unixsock *l, *l2, *c, *s, *d;
  CHECK_OK(unixsock_listen(addr, strlen(addr), UNIXSOCK_SEQPACKET, NULL, &l));
  CHECK_EQ(unixsock_listening(l), 1);
  CHECK_OK(unixsock_connect(addr, strlen(addr), UNIXSOCK_SEQPACKET, 1000, &c));
  unixsock_settimeout(l, 1000);
  CHECK_OK(unixsock_accept(l, &s));
  CHECK_EQ(unixsock_listening(c), 0);
  CHECK_EQ(unixsock_listening(s), 0);
  /* what an activated service gets: the kernel is asked, not the handle's past */
  int fd = unixsock_detach(l);
  CHECK_OK(unixsock_adopt(fd, &l2));
  CHECK_EQ(unixsock_listening(l2), 1);
  int cfd = unixsock_detach(s);
  CHECK_OK(unixsock_adopt(cfd, &s));
  CHECK_EQ(unixsock_listening(s), 0);
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &d));
  CHECK_EQ(unixsock_listening(d), 0);
  CHECK_OK(unixsock_release(d, UNIXSOCK_RELEASE_CLOSE));
  CHECK_ERR(unixsock_listening(d), EBADF);
  CHECK_ERR(unixsock_listening(NULL), EINVAL);
  unixsock_close(d);
  unixsock_close(s);
  unixsock_close(c);
  unixsock_close(l2);
}

TEST(test_close_null_is_a_no_op) {
  unixsock_close(NULL);
}

TEST(test_buffer_sizes_are_set_and_read) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_OK(unixsock_set_send_buffer(a, 65536));
  CHECK_OK(unixsock_set_recv_buffer(a, 65536));
  /* Linux doubles the value for bookkeeping */
  CHECK(unixsock_get_send_buffer(a) >= 65536);
  CHECK(unixsock_get_recv_buffer(a) >= 65536);
  CHECK_ERR(unixsock_set_send_buffer(a, -1), EINVAL);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_strerror_and_errname_name_the_errno) {
  CHECK(strcmp(unixsock_errname(-ENOENT), "ENOENT") == 0);
  CHECK(strcmp(unixsock_strerror(-ENOENT), "No such file or directory") == 0);
  CHECK(strcmp(unixsock_errname(-EPROTOTYPE), "EPROTOTYPE") == 0);
  CHECK(unixsock_strerror(-99999) != NULL);
  /* the library's own E2BIG says its limit ("Argument list too long" did not) */
  CHECK(strcmp(unixsock_strerror(-E2BIG), "More than 253 descriptors in one message") == 0);
  CHECK(unixsock_errname(-99999) != NULL);
}

TEST(test_release_keeps_the_handle_and_later_calls_are_ebadf) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_OK(unixsock_release(a, UNIXSOCK_RELEASE_CLOSE));
  CHECK_ERR(unixsock_send(a, "x", 1), EBADF);
  CHECK_ERR(unixsock_release(a, UNIXSOCK_RELEASE_CLOSE), EBADF);
  char c;
  CHECK_EQ(unixsock_recv(b, &c, 1), 0); /* really closed */
  unixsock_close(a);
  int fd = unixsock_release(b, 0);
  CHECK(fd >= 0);
  CHECK_ERR(unixsock_recv(b, &c, 1), EBADF);
  unixsock_close(b); /* frees the handle, leaves the fd */
  CHECK(close(fd) == 0);
  CHECK_ERR(unixsock_release(NULL, 0), EINVAL);
}

TEST(test_released_listener_cleans_up_its_file) {
  const char *p = check_path("released.sock");
  unixsock *l;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l));
  CHECK_OK(unixsock_release(l, UNIXSOCK_RELEASE_CLOSE));
  CHECK(access(p, F_OK) < 0);
  unixsock_close(l);
}

TEST(test_destination_address_on_stream_or_seqpacket_is_eisconn) {
  /* the kernel ignores it on seqpacket: the bytes went to the peer, not to the
   * address named */
  for (int k = UNIXSOCK_STREAM; k <= UNIXSOCK_SEQPACKET; k += 2) {
    unixsock *a, *b;
    char buf[8];
    CHECK_OK(unixsock_pair(k, &a, &b));
    CHECK_ERR(unixsock_sendto(a, "x", 1, "@elsewhere", 10), EISCONN);
    unixsock_message m = {0};
    m.data = "x";
    m.len = 1;
    memcpy(m.address, "@elsewhere", 10);
    m.addrlen = 10;
    CHECK_ERR(unixsock_send_message(a, &m), EISCONN);
    unixsock_message batch[2] = {{0}, m};
    batch[0].data = "first";
    batch[0].len = 5;
    CHECK_ERR(unixsock_send_batch(a, batch, 2), EISCONN);
    CHECK_OK(unixsock_settimeout(b, 0));
    CHECK_ERR(unixsock_recv(b, buf, sizeof(buf)), EAGAIN); /* nothing was sent */
    unixsock_close(a);
    unixsock_close(b);
  }
}
