/* Privilege: as root, children that drop to another uid meet the rules. */
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* What unixsock_access_error must say, as nobody, after op at path failed. */
struct denied {
  const char *path;
  int creating; /* listen (1) or connect (0) */
  char want[1400];
};

static int access_error_is(void *arg) {
  const struct denied *d = arg;
  unixsock *s;
  int r = d->creating ? unixsock_listen(d->path, strlen(d->path), UNIXSOCK_STREAM, NULL, &s)
                      : unixsock_connect(d->path, strlen(d->path), UNIXSOCK_STREAM, 1000, &s);
  if (r != -EACCES)
    return 1;
  char buf[1400], small[8];
  size_t n = unixsock_access_error(d->path, strlen(d->path), r, d->creating, buf, sizeof(buf));
  if (n != strlen(d->want) || strcmp(buf, d->want) != 0) {
    fprintf(stderr, "said \"%s\", expected \"%s\"\n", buf, d->want);
    return 2;
  }
  if (unixsock_access_error(d->path, strlen(d->path), r, d->creating, NULL, 0) != n)
    return 3; /* the length alone */
  if (unixsock_access_error(d->path, strlen(d->path), r, d->creating, small, sizeof(small)) != n ||
      strlen(small) != sizeof(small) - 1)
    return 4; /* cut to fit, NUL-terminated */
  if (unixsock_access_error(d->path, strlen(d->path), -ENOENT, d->creating, buf, sizeof(buf)) != 0 ||
      buf[0] != '\0')
    return 5; /* another error: nothing to say */
  char same[1400]; /* what the bindings give: the same text, "creating" by op */
  if (unixsock_address_error(d->creating ? "listen" : "connect", UNIXSOCK_STREAM, d->path,
                             strlen(d->path), r, NULL, same, sizeof(same)) != n ||
      strcmp(same, d->want) != 0) {
    fprintf(stderr, "unixsock_address_error said \"%s\", expected \"%s\"\n", same, d->want);
    return 6;
  }
  return 0;
}

/* "Permission denied" does not say which file refused: a directory on the way
 * that may not be searched, the socket file that may not be written to, or the
 * directory the file may not be created in. */
TEST(test_access_error_says_which_file_refused_and_why) {
  if (geteuid() != 0)
    return;
  const char *nobody = getpwuid(65534) != NULL ? getpwuid(65534)->pw_name : NULL;
  char me[64];
  if (nobody != NULL)
    snprintf(me, sizeof(me), "uid 65534 (%s)", nobody);
  else
    snprintf(me, sizeof(me), "uid 65534");
  char dir[512], ro[512];
  snprintf(dir, sizeof(dir), "%s", check_path("private"));
  snprintf(ro, sizeof(ro), "%s", check_path("read-only"));
  CHECK(mkdir(dir, 0700) == 0);
  CHECK(mkdir(ro, 0755) == 0);
  char in_dir[600], in_ro[600], p600[512];
  snprintf(in_dir, sizeof(in_dir), "%s/app.sock", dir);
  snprintf(in_ro, sizeof(in_ro), "%s/app.sock", ro);
  snprintf(p600, sizeof(p600), "%s", check_path("p600.sock"));
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.mode = 0600;
  unixsock *l1, *l2;
  CHECK_OK(unixsock_listen(p600, strlen(p600), UNIXSOCK_STREAM, &o, &l1));
  CHECK_OK(unixsock_listen(in_dir, strlen(in_dir), UNIXSOCK_STREAM, NULL, &l2));
  struct denied cases[3] = {{p600, 0, ""}, {in_dir, 0, ""}, {in_ro, 1, ""}};
  snprintf(cases[0].want, sizeof(cases[0].want),
           "%s may not write to %s (owner root:root mode 0600)", me, p600);
  snprintf(cases[1].want, sizeof(cases[1].want),
           "%s may not search %s (owner root:root mode 0700)", me, dir);
  snprintf(cases[2].want, sizeof(cases[2].want),
           "%s may not create files in %s (owner root:root mode 0755)", me, ro);
  for (size_t i = 0; i < 3; i++)
    CHECK_EQ(check_as_user(65534, access_error_is, &cases[i]), 0);
  /* an abstract name has no permissions to blame */
  char buf[64];
  CHECK_EQ(unixsock_access_error("@x", 2, -EACCES, 0, buf, sizeof(buf)), 0);
  unixsock_close(l2);
  unixsock_close(l1);
}
