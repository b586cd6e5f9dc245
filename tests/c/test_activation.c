/* Socket activation: listen_fds as systemd passes them. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* In a child: put the given fds at 3, 4, ... and set the variables. */
static int activated_child(int (*body)(void), const int *fds, int n, const char *names) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    int tmp[8];
    for (int i = 0; i < n; i++)
      tmp[i] = fcntl(fds[i], F_DUPFD, 20);
    for (int i = 0; i < n; i++) {
      if (dup2(tmp[i], 3 + i) < 0)
        _exit(90);
      close(tmp[i]);
    }
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", (int)getpid());
    setenv("LISTEN_PID", buf, 1);
    snprintf(buf, sizeof(buf), "%d", n);
    setenv("LISTEN_FDS", buf, 1);
    if (names)
      setenv("LISTEN_FDNAMES", names, 1);
    _exit(body());
  }
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* body's status in a child passed one socket (a socketpair's end). */
static int activated_with_one_socket(int (*body)(void)) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return 101;
  int status = activated_child(body, sv, 1, NULL);
  close(sv[0]);
  close(sv[1]);
  return status;
}

static int two_sockets(void) {
  unixsock_listen_fd got[4];
  int n = unixsock_listen_fds(1, got, 4);
  if (n != 2)
    return 1;
  if (got[0].sock == NULL || got[1].sock == NULL || got[0].fd != 3 || got[1].fd != 4)
    return 2;
  if (strcmp(got[0].name, "api") != 0 || strcmp(got[1].name, "events") != 0)
    return 3;
  if (unixsock_kind(got[0].sock) != UNIXSOCK_STREAM ||
      unixsock_kind(got[1].sock) != UNIXSOCK_DGRAM)
    return 4;
  if (getenv("LISTEN_FDS") != NULL || getenv("LISTEN_PID") != NULL)
    return 5; /* unset, as sd_listen_fds does */
  unixsock *c;
  unixsock_settimeout(got[0].sock, 1000);
  if (unixsock_accept(got[0].sock, &c) < 0)
    return 6;
  unixsock_close(c);
  unixsock_close(got[0].sock);
  unixsock_close(got[1].sock);
  return 0;
}

TEST(test_listen_fds_adopts_passed_sockets) {
  const char *path = check_path("activated.sock");
  unixsock *l, *d, *c;
  CHECK_OK(unixsock_listen(path, strlen(path), UNIXSOCK_STREAM, NULL, &l));
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &d));
  CHECK_OK(unixsock_connect(path, strlen(path), UNIXSOCK_STREAM, 1000, &c));
  int fds[] = {unixsock_fd(l), unixsock_fd(d)};
  CHECK_EQ(activated_child(two_sockets, fds, 2, "api:events"), 0);
  /* the child's close of the adopted listener did not unlink the file */
  struct stat st;
  CHECK(lstat(path, &st) == 0);
  unixsock_close(c);
  unixsock_close(d);
  unixsock_close(l);
}

static int not_unix(void) {
  unixsock_listen_fd got[2];
  int n = unixsock_listen_fds(0, got, 2);
  if (n != 1 || got[0].sock != NULL || got[0].error != -EAFNOSUPPORT)
    return 1;
  if (fcntl(3, F_GETFD) < 0)
    return 2; /* left open for the caller */
  return getenv("LISTEN_FDS") != NULL ? 0 : 3;
}

TEST(test_listen_fds_reports_non_unix_fds_and_leaves_them) {
  int inet = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK(inet >= 0);
  CHECK_EQ(activated_child(not_unix, &inet, 1, NULL), 0);
  close(inet);
}

static int other_pid(void) {
  setenv("LISTEN_PID", "1", 1);
  unixsock_listen_fd got[2];
  return unixsock_listen_fds(1, got, 2) == 0 && getenv("LISTEN_PID") == NULL ? 0 : 1;
}

TEST(test_listen_fds_ignores_fds_meant_for_another_process) {
  CHECK_EQ(activated_with_one_socket(other_pid), 0);
}

TEST(test_listen_fds_without_variables_is_zero) {
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unixsock_listen_fd got[1];
  CHECK_EQ(unixsock_listen_fds(0, got, 1), 0);
}

/* max 0 counts without adopting, to size the array; then the call that adopts. */
static int counted_first(void) {
  int n = unixsock_listen_fds(0, NULL, 0);
  if (n != 2 || getenv("LISTEN_FDS") == NULL)
    return 1;
  if (fcntl(3, F_GETFD) != 0)
    return 2; /* untouched: adopting would have set close-on-exec */
  unixsock_listen_fd *got = calloc((size_t)n, sizeof(*got));
  if (unixsock_listen_fds(1, got, (size_t)n) != 2 || got[1].sock == NULL)
    return 3;
  unixsock_close(got[0].sock);
  unixsock_close(got[1].sock);
  free(got);
  return 0;
}

TEST(test_listen_fds_with_max_0_counts_without_adopting) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0); /* not close-on-exec */
  CHECK_EQ(activated_child(counted_first, sv, 2, NULL), 0);
  close(sv[0]);
  close(sv[1]);
}

static int too_many(void) {
  setenv("LISTEN_FDS", "99999", 1);
  if (unixsock_listen_fds(0, NULL, 0) != -EINVAL)
    return 1;
  const char *why = unixsock_listen_fds_error();
  return why != NULL && strcmp(why, "LISTEN_FDS must be 0 to 32767") == 0 ? 0 : 2;
}

/* Values no service manager writes were taken as "nothing passed": a broken
 * launcher's server served nothing, without a word. */
static int garbled(void) {
  static const struct {
    const char *pid, *fds, *why;
  } cases[] = {{NULL, "abc", "LISTEN_FDS must be 0 to 32767"},
               {NULL, "-1", "LISTEN_FDS must be 0 to 32767"},
               {NULL, "", "LISTEN_FDS must be 0 to 32767"},
               {"x1", "1", "LISTEN_PID must be a process id"},
               {"4294967296", "1", "LISTEN_PID must be a process id"}};
  char me[32];
  snprintf(me, sizeof(me), "%d", (int)getpid());
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    setenv("LISTEN_PID", cases[i].pid != NULL ? cases[i].pid : me, 1);
    setenv("LISTEN_FDS", cases[i].fds, 1);
    if (unixsock_listen_fds(0, NULL, 0) != -EINVAL)
      return 10 + (int)i;
    const char *why = unixsock_listen_fds_error();
    if (why == NULL || strcmp(why, cases[i].why) != 0)
      return 20 + (int)i;
  }
  /* a pid past pid_t that wrapped to this one's was taken as this one's */
  snprintf(me, sizeof(me), "%lld", 4294967296LL + getpid());
  setenv("LISTEN_PID", me, 1);
  setenv("LISTEN_FDS", "1", 1);
  if (unixsock_listen_fds(0, NULL, 0) != -EINVAL)
    return 30;
  /* another process's garbled count is not this one's business */
  setenv("LISTEN_PID", "1", 1);
  setenv("LISTEN_FDS", "abc", 1);
  if (unixsock_listen_fds(1, NULL, 0) != 0 || unixsock_listen_fds_error() != NULL)
    return 31;
  return unixsock_listen_fds_error() == NULL ? 0 : 32; /* unset: nothing to say */
}

TEST(test_listen_fds_with_garbled_variables_is_einval_saying_which) {
  CHECK_EQ(activated_with_one_socket(garbled), 0);
}

TEST(test_listen_fds_over_the_most_is_einval) {
  CHECK_EQ(UNIXSOCK_LISTEN_FDS_MAX, 32767);
  CHECK_EQ(activated_with_one_socket(too_many), 0);
}
