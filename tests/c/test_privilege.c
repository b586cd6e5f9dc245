/* Privilege: as root, children that drop to another uid meet the rules. */
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

/* The kernel refuses credentials a process does not hold: unixsock sends the
 * sender's own, and a forged SCM_CREDENTIALS (root's pid and uid) is EPERM. */
static int forge(void *arg) {
  int fd = *(int *)arg;
  struct ucred uc = {.pid = 1, .uid = 0, .gid = 0};
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(uc))];
  } cb;
  char byte = 'f';
  memset(&cb, 0, sizeof(cb));
  struct iovec iov = {&byte, 1};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b,
                      .msg_controllen = sizeof(cb.b)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_CREDENTIALS;
  c->cmsg_len = CMSG_LEN(sizeof(uc));
  memcpy(CMSG_DATA(c), &uc, sizeof(uc));
  if (sendmsg(fd, &mh, MSG_NOSIGNAL) >= 0 || errno != EPERM)
    return 1;
  /* what unixsock attaches is the truth, and goes through */
  unixsock *s;
  if (unixsock_adopt(fd, &s) < 0)
    return 2;
  unixsock_message m = {0};
  m.data = "honest";
  m.len = 6;
  m.flags = UNIXSOCK_MSG_CREDS;
  int r = unixsock_send_message(s, &m) == 6 ? 0 : 3;
  unixsock_detach(s);
  return r;
}

TEST(test_credentials_cannot_be_forged_by_another_uid) {
  if (geteuid() != 0)
    return;
  for (int k = UNIXSOCK_STREAM; k <= UNIXSOCK_SEQPACKET; k++) {
    unixsock *a, *b;
    CHECK_OK(unixsock_pair(k, &a, &b));
    int fd = unixsock_fd(a);
    CHECK_EQ(check_as_user(65534, forge, &fd), 0);
    unixsock_message m = {0};
    CHECK_EQ(unixsock_recv_message(b, &m), 1);
    CHECK(m.flags & UNIXSOCK_MSG_CREDS);
    CHECK_EQ(m.creds.uid, 65534); /* not 0 */
    CHECK(m.creds.pid != 1);
    unixsock_message_release(&m);
    unixsock_close(a);
    unixsock_close(b);
  }
}

static int try_connect(void *arg) {
  const char *p = arg;
  unixsock *c;
  int r = unixsock_connect(p, strlen(p), UNIXSOCK_SEQPACKET, 1000, &c);
  if (r == 0)
    unixsock_close(c);
  return r == 0 ? 0 : (r == -EACCES ? 13 : 1);
}

TEST(test_mode_decides_who_may_connect) {
  if (geteuid() != 0)
    return;
  const char *p = check_path("modes.sock");
  int modes[] = {0600, 0660, 0666};
  int want[] = {13, 13, 0}; /* nobody is neither owner nor in root's group */
  for (int i = 0; i < 3; i++) {
    unixsock_options o = UNIXSOCK_OPTIONS_INIT;
    o.mode = modes[i];
    unixsock *l;
    CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_SEQPACKET, &o, &l));
    CHECK_EQ(check_as_user(65534, try_connect, (void *)p), want[i]);
    unixsock_close(l);
  }
}

TEST(test_another_users_live_socket_is_never_replaced) {
  if (geteuid() != 0)
    return;
  const char *p = check_path("theirs.sock");
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.uid = 65534;
  o.mode = 0600;
  unixsock *l, *mine;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, &o, &l));
  CHECK_ERR(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &mine), EADDRINUSE);
  unixsock_close(l);
}
