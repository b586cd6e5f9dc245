/* The errors the seed documents show, with their errno. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

TEST(test_connect_to_missing_path_is_enoent) {
  unixsock *c;
  const char *p = check_path("unixstream.sock");
  CHECK_ERR(unixsock_connect(p, strlen(p), UNIXSOCK_STREAM, 1000, &c), ENOENT);
}

TEST(test_connect_to_stale_file_is_econnrefused) {
  const char *p = check_path("stale.sock");
  unixsock *l, *c;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l));
  int fd = unixsock_detach(l); /* close without cleanup: the file stays, stale */
  close(fd);
  CHECK_ERR(unixsock_connect(p, strlen(p), UNIXSOCK_STREAM, 1000, &c), ECONNREFUSED);
}

static int bind_in_root_dir(void *arg) {
  const char *p = arg;
  unixsock *l;
  int r = unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l);
  return r == -EACCES ? 0 : 1;
}

TEST(test_bind_in_unwritable_directory_is_eacces) {
  if (geteuid() != 0)
    return; /* needs root to drop to another uid; CI runs as root */
  const char *dir = check_path("var-lib");
  CHECK(mkdir(dir, 0755) == 0); /* like /var/lib: root's, not writable by others */
  char p[4200];
  snprintf(p, sizeof(p), "%s/unixstream.sock", dir);
  CHECK_EQ(check_as_user(65534, bind_in_root_dir, p), 0);
  struct stat st;
  CHECK(lstat(p, &st) < 0);
}

static int connect_as_user(void *arg) {
  const char *p = arg;
  unixsock *c;
  int r = unixsock_connect(p, strlen(p), UNIXSOCK_STREAM, 1000, &c);
  return r == -EACCES ? 0 : 1;
}

TEST(test_connect_to_0600_socket_as_other_user_is_eacces) {
  if (geteuid() != 0)
    return;
  const char *p = check_path("private.sock");
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.mode = 0600;
  unixsock *l;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, &o, &l));
  CHECK_EQ(check_as_user(65534, connect_as_user, (void *)p), 0);
  unixsock_close(l);
}

TEST(test_stream_client_to_dgram_server_is_eprototype) {
  const char *p = check_path("unixdata.sock");
  unixsock *d, *c;
  CHECK_OK(unixsock_bind(p, strlen(p), UNIXSOCK_DGRAM, NULL, &d));
  CHECK_ERR(unixsock_connect(p, strlen(p), UNIXSOCK_STREAM, 1000, &c), EPROTOTYPE);
  CHECK_ERR(unixsock_connect(p, strlen(p), UNIXSOCK_SEQPACKET, 1000, &c), EPROTOTYPE);
  unixsock_close(d);
}

TEST(test_client_exit_makes_server_recv_return_zero) {
  const char *p = check_path("quit.sock");
  unixsock *l, *s;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l));
  pid_t pid = fork();
  if (pid == 0) {
    unixsock *c;
    if (unixsock_connect(p, strlen(p), UNIXSOCK_STREAM, 1000, &c) < 0)
      _exit(1);
    unixsock_send(c, "g1\n", 3);
    _exit(0); /* exits without closing, like ^C */
  }
  CHECK_OK(unixsock_settimeout(l, 5000));
  CHECK_OK(unixsock_accept(l, &s));
  CHECK_OK(unixsock_settimeout(s, 5000));
  char buf[8];
  CHECK_EQ(unixsock_recv(s, buf, sizeof(buf)), 3);
  CHECK_EQ(unixsock_recv(s, buf, sizeof(buf)), 0);
  int status;
  waitpid(pid, &status, 0);
  unixsock_close(s);
  unixsock_close(l);
}

TEST(test_dgram_echo_reaches_autobound_client) {
  const char *p = check_path("echo.sock");
  unixsock *srv, *cli;
  CHECK_OK(unixsock_bind(p, strlen(p), UNIXSOCK_DGRAM, NULL, &srv));
  CHECK_OK(unixsock_connect(p, strlen(p), UNIXSOCK_DGRAM, 1000, &cli));
  CHECK_EQ(unixsock_send(cli, "g1", 2), 2);
  char buf[64], from[UNIXSOCK_ADDRESS_MAX];
  size_t flen = sizeof(from);
  CHECK_EQ(unixsock_recvfrom(srv, buf, sizeof(buf), from, &flen), 2);
  CHECK(flen > 0 && from[0] == '@');
  CHECK_EQ(unixsock_sendto(srv, "Hi, g1", 6, from, flen), 6);
  CHECK_EQ(unixsock_recv(cli, buf, sizeof(buf)), 6);
  CHECK(memcmp(buf, "Hi, g1", 6) == 0);
  unixsock_close(cli);
  unixsock_close(srv);
}
