/* Peer identity: pid, uid, gid, pidfd, label, groups. */
#include <fcntl.h>
#include <grp.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

TEST(test_peer_of_a_pair_is_this_process) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  unixsock_peer_info p;
  CHECK_OK(unixsock_peer(a, UNIXSOCK_PEER_PIDFD, &p));
  CHECK_EQ(p.pid, getpid());
  CHECK_EQ(p.uid, geteuid());
  CHECK_EQ(p.gid, getegid());
  if (p.pidfd >= 0) { /* Linux >= 6.5 */
    CHECK(fcntl(p.pidfd, F_GETFD) & FD_CLOEXEC);
    close(p.pidfd);
  }
  unixsock_close(a);
  unixsock_close(b);
}

struct child {
  const char *addr;
  int ready[2];
};

static int connect_and_hold(void *arg) {
  struct child *c = arg;
  unixsock *s;
  if (unixsock_connect(c->addr, strlen(c->addr), UNIXSOCK_STREAM, 2000, &s) < 0)
    return 1;
  char b;
  unixsock_recv(s, &b, 1); /* until the parent is done */
  unixsock_close(s);
  return 0;
}

TEST(test_peer_across_fork_as_another_uid_and_groups) {
  if (geteuid() != 0)
    return;
  const char *addr = check_abstract("peer");
  unixsock *l, *s;
  CHECK_OK(unixsock_listen(addr, strlen(addr), UNIXSOCK_STREAM, NULL, &l));
  CHECK_OK(unixsock_settimeout(l, 5000));
  pid_t pid = fork();
  if (pid == 0) {
    gid_t groups[] = {4242, 4343};
    if (setgroups(2, groups) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
      _exit(9);
    struct child c = {addr, {0, 0}};
    _exit(connect_and_hold(&c));
  }
  CHECK_OK(unixsock_accept(l, &s));
  unixsock_peer_info p;
  CHECK_OK(unixsock_peer(s, UNIXSOCK_PEER_PIDFD, &p));
  CHECK_EQ(p.pid, pid);
  CHECK_EQ(p.uid, 65534);
  CHECK_EQ(p.gid, 65534);
  CHECK_EQ(p.ngroups, 2);
  CHECK(p.groups[0] == 4242 || p.groups[1] == 4242);
  if (p.pidfd >= 0) {
    /* the pidfd names the child: signal 0 through it works (ENOSYS only where
     * the syscall is emulated, as under valgrind) */
    CHECK(syscall(SYS_pidfd_send_signal, p.pidfd, 0, NULL, 0) == 0 || errno == ENOSYS);
    close(p.pidfd);
  }
  unixsock_close(s); /* the child's recv sees the end and it exits */
  int status;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unixsock_close(l);
}

TEST(test_peer_opens_a_pidfd_only_when_asked) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_SEQPACKET, &a, &b));
  unixsock_peer_info p;
  CHECK_OK(unixsock_peer(a, 0, &p));
  CHECK_EQ(p.pidfd, -1);
  CHECK_ERR(unixsock_peer(a, 2, &p), EINVAL);
  unixsock_close(a);
  unixsock_close(b);
}

TEST(test_peer_of_unconnected_socket_is_an_error) {
  unixsock *d;
  CHECK_OK(unixsock_bind("", 0, UNIXSOCK_DGRAM, NULL, &d));
  unixsock_peer_info p;
  p.pid = 12345;
  CHECK_ERR(unixsock_peer(d, 0, &p), ENOTCONN);
  CHECK_EQ(p.pid, 12345); /* outputs untouched on failure */
  unixsock_close(d);
}

TEST(test_peer_of_a_listener_is_enotconn_not_its_own_identity) {
  /* the kernel keeps the listener's own pid/uid/gid as its SO_PEERCRED */
  for (int k = UNIXSOCK_STREAM; k <= UNIXSOCK_SEQPACKET; k += 2) {
    unixsock *l, *c, *conn;
    char name[64];
    int len = snprintf(name, sizeof(name), "@unixsock-test-peer-listener-%d-%d", (int)getpid(), k);
    CHECK_OK(unixsock_listen(name, (size_t)len, k, NULL, &l));
    unixsock_peer_info p;
    CHECK_ERR(unixsock_peer(l, 0, &p), ENOTCONN);
    CHECK_OK(unixsock_connect(name, (size_t)len, k, 1000, &c));
    CHECK_OK(unixsock_accept(l, &conn));
    CHECK_OK(unixsock_peer(conn, 0, &p)); /* an accepted connection has one */
    CHECK_EQ(p.pid, getpid());
    unixsock_close(conn);
    unixsock_close(c);
    unixsock_close(l);
  }
}
