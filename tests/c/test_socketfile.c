/* The socket-file rules: live, stale, not-a-socket, inode-checked unlink, mode,
 * owner. */
#include <fcntl.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

static int exists(const char *p) {
  struct stat st;
  return lstat(p, &st) == 0;
}

static ino_t inode_of(const char *p) {
  struct stat st;
  CHECK(lstat(p, &st) == 0);
  return st.st_ino;
}

/* A socket file nobody answers on, made the way a crashed server leaves it. */
static void make_stale(const char *p) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, p);
  CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
  close(fd);
}

TEST(test_listen_where_live_server_answers_is_eaddrinuse) {
  const char *p = check_path("live.sock");
  unixsock *a, *b;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &a));
  ino_t ino = inode_of(p);
  CHECK_ERR(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &b), EADDRINUSE);
  CHECK_ERR(unixsock_listen(p, strlen(p), UNIXSOCK_SEQPACKET, NULL, &b), EADDRINUSE);
  CHECK_EQ(inode_of(p), ino); /* the live server's file is untouched */
  unixsock_close(a);
}

TEST(test_bind_where_live_dgram_server_answers_is_eaddrinuse) {
  const char *p = check_path("live-dgram.sock");
  unixsock *a, *b;
  CHECK_OK(unixsock_bind(p, strlen(p), UNIXSOCK_DGRAM, NULL, &a));
  CHECK_ERR(unixsock_bind(p, strlen(p), UNIXSOCK_DGRAM, NULL, &b), EADDRINUSE);
  CHECK_ERR(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &b), EADDRINUSE);
  unixsock_close(a);
}

TEST(test_stale_socket_file_is_replaced) {
  const char *p = check_path("stale.sock");
  make_stale(p);
  CHECK(exists(p));
  unixsock *l, *c;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l));
  CHECK_OK(unixsock_connect(p, strlen(p), UNIXSOCK_STREAM, 1000, &c));
  unixsock_close(c);
  unixsock_close(l);
}

TEST(test_stale_socket_file_is_replaced_for_dgram) {
  const char *p = check_path("stale-dgram.sock");
  make_stale(p);
  unixsock *d;
  CHECK_OK(unixsock_bind(p, strlen(p), UNIXSOCK_DGRAM, NULL, &d));
  unixsock_close(d);
}

static void refuses_and_keeps(const char *p, int err) {
  struct stat before, after;
  CHECK(lstat(p, &before) == 0);
  unixsock *l;
  CHECK_ERR(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l), err);
  CHECK_ERR(unixsock_bind(p, strlen(p), UNIXSOCK_DGRAM, NULL, &l), err);
  CHECK(lstat(p, &after) == 0);
  CHECK_EQ(after.st_ino, before.st_ino);
  CHECK_EQ(after.st_mode, before.st_mode);
  CHECK_EQ(after.st_size, before.st_size);
}

TEST(test_listen_refuses_to_delete_regular_file) {
  const char *p = check_path("file.txt");
  int fd = open(p, O_CREAT | O_WRONLY, 0644);
  CHECK(write(fd, "precious", 8) == 8);
  close(fd);
  refuses_and_keeps(p, EEXIST);
}

TEST(test_listen_refuses_to_delete_directory) {
  const char *p = check_path("dir");
  CHECK(mkdir(p, 0755) == 0);
  refuses_and_keeps(p, EEXIST);
}

TEST(test_listen_refuses_to_delete_fifo) {
  const char *p = check_path("fifo");
  CHECK(mkfifo(p, 0644) == 0);
  refuses_and_keeps(p, EEXIST);
}

TEST(test_listen_refuses_to_delete_symlink_to_file) {
  const char *target = check_path("target.txt");
  const char *p = check_path("link.sock");
  int fd = open(target, O_CREAT | O_WRONLY, 0644);
  close(fd);
  CHECK(symlink(target, p) == 0);
  refuses_and_keeps(p, EEXIST);
  CHECK(exists(target));
}

TEST(test_listen_refuses_to_delete_symlink_to_stale_socket) {
  const char *target = check_path("target.sock");
  const char *p = check_path("link2.sock");
  make_stale(target);
  CHECK(symlink(target, p) == 0);
  refuses_and_keeps(p, EEXIST);
  CHECK(exists(target));
}

TEST(test_close_unlinks_own_socket_file) {
  const char *p = check_path("own.sock");
  unixsock *l;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l));
  CHECK(exists(p));
  unixsock_close(l);
  CHECK(!exists(p));
}

TEST(test_close_leaves_a_newer_servers_socket_file) {
  const char *p = check_path("replaced.sock");
  unixsock *old, *newer;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &old));
  CHECK(unlink(p) == 0); /* an operator removed it, a new server took the path */
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &newer));
  ino_t ino = inode_of(p);
  unixsock_close(old);
  CHECK(exists(p));
  CHECK_EQ(inode_of(p), ino);
  unixsock_close(newer);
  CHECK(!exists(p));
}

TEST(test_close_leaves_a_regular_file_put_at_the_path) {
  const char *p = check_path("swapped.sock");
  unixsock *l;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l));
  CHECK(unlink(p) == 0);
  int fd = open(p, O_CREAT | O_WRONLY, 0644);
  close(fd);
  unixsock_close(l);
  CHECK(exists(p));
}

TEST(test_adopted_socket_is_never_unlinked) {
  const char *p = check_path("adopted.sock");
  unixsock *l, *a;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l));
  int fd = dup(unixsock_fd(l));
  CHECK_OK(unixsock_adopt(fd, &a));
  unixsock_close(a);
  CHECK(exists(p));
  unixsock_close(l);
  CHECK(!exists(p));
}

TEST(test_forked_child_does_not_unlink_parents_file) {
  const char *p = check_path("forked.sock");
  unixsock *l;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l));
  pid_t pid = fork();
  if (pid == 0) {
    unixsock_close(l);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  CHECK(exists(p));
  unixsock_close(l);
  CHECK(!exists(p));
}

static int mode_of(const char *p) {
  struct stat st;
  CHECK(lstat(p, &st) == 0);
  return (int)(st.st_mode & 07777);
}

TEST(test_mode_option_sets_exact_mode) {
  int modes[] = {0600, 0660, 0666, 0700, 0777};
  umask(022);
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    const char *p = check_path("mode.sock");
    unixsock_options o = UNIXSOCK_OPTIONS_INIT;
    o.mode = modes[i];
    unixsock *l;
    CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, &o, &l));
    CHECK_EQ(mode_of(p), modes[i]);
    unixsock_close(l);
  }
}

/* The file is created with the mode already applied: under umask 0 the kernel
 * would otherwise create it 0777 and a chmod would follow.  inotify reports a
 * chmod as IN_ATTRIB, so a file born right shows IN_CREATE and nothing else. */
TEST(test_mode_is_applied_before_the_file_exists) {
  umask(0);
  int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  CHECK(in >= 0);
  CHECK(inotify_add_watch(in, check_tmpdir(), IN_CREATE | IN_ATTRIB) >= 0);
  const char *p = check_path("strict.sock");
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.mode = 0600;
  unixsock *l;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, &o, &l));
  CHECK_EQ(mode_of(p), 0600);
  char buf[4096] __attribute__((aligned(8)));
  ssize_t n = read(in, buf, sizeof(buf));
  CHECK(n > 0);
  int created = 0, attrib = 0;
  for (char *q = buf; q < buf + n;) {
    struct inotify_event *e = (struct inotify_event *)q;
    if (e->mask & IN_CREATE)
      created++;
    if (e->mask & IN_ATTRIB)
      attrib++;
    q += sizeof(*e) + e->len;
  }
  CHECK_EQ(created, 1);
  CHECK_EQ(attrib, 0);
  close(in);
  unixsock_close(l);
}

TEST(test_owner_and_group_options) {
  if (geteuid() != 0)
    return; /* chown needs root; CI runs as root */
  const char *p = check_path("owned.sock");
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.uid = 65534;
  o.gid = 65534;
  o.mode = 0660;
  unixsock *l;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, &o, &l));
  struct stat st;
  CHECK(lstat(p, &st) == 0);
  CHECK_EQ(st.st_uid, 65534);
  CHECK_EQ(st.st_gid, 65534);
  CHECK_EQ(st.st_mode & 07777, 0660);
  unixsock_close(l);
}

TEST(test_bad_options_are_einval) {
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.mode = 010000;
  unixsock *l;
  const char *p = check_path("bad.sock");
  CHECK_ERR(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, &o, &l), EINVAL);
  CHECK(!exists(p));
}

/* Each refused option has a sentence naming it, for error messages. */
TEST(test_options_error_names_the_bad_field) {
  CHECK(unixsock_options_error("x.sock", 6, NULL) == NULL);
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  CHECK(unixsock_options_error("x.sock", 6, &o) == NULL);
  o.mode = 07777;
  o.uid = 4294967294LL;
  CHECK(unixsock_options_error("x.sock", 6, &o) == NULL);
  struct {
    int backlog, mode;
    long long uid, gid;
    const char *why;
  } bad[] = {{-1, -1, -1, -1, "backlog must be 0 to 2147483647"},
             {0, -2, -1, -1, "mode must be 0 to 4095 (octal 7777)"},
             {0, 010000, -1, -1, "mode must be 0 to 4095 (octal 7777)"},
             {0, -1, 4294967295LL, -1, "uid must be 0 to 4294967294"},
             {0, -1, -1, -2, "gid must be 0 to 4294967294"}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    o = (unixsock_options)UNIXSOCK_OPTIONS_INIT;
    o.backlog = bad[i].backlog;
    o.mode = bad[i].mode;
    o.uid = bad[i].uid;
    o.gid = bad[i].gid;
    const char *why = unixsock_options_error("x.sock", 6, &o);
    CHECK(why != NULL && strcmp(why, bad[i].why) == 0);
  }
  /* an allow-list count whose copy size wraps (to 4 bytes here) was copied into
   * that much and then read as the whole list on every accept */
  uid_t one = 0;
  o = (unixsock_options)UNIXSOCK_OPTIONS_INIT;
  o.allow_uids = &one;
  o.allow_uids_count = SIZE_MAX / sizeof(uid_t) + 2;
  CHECK(strcmp(unixsock_options_error("x.sock", 6, &o), "allow_uids must point at allow_uids_count ids") == 0);
  unixsock *l;
  CHECK_ERR(unixsock_listen("@options-wrap", 13, UNIXSOCK_STREAM, &o, &l), EINVAL);
  o = (unixsock_options)UNIXSOCK_OPTIONS_INIT;
  o.allow_gids_count = 1;
  CHECK(strcmp(unixsock_options_error("x.sock", 6, &o), "allow_gids must point at allow_gids_count ids") == 0);
  CHECK_ERR(unixsock_bind("@options-null", 13, UNIXSOCK_DGRAM, &o, &l), EINVAL);
  /* (uid_t)-1 in an allow list admits no one; it was taken, unlike an owner of it */
  uid_t uids[] = {0, 4294967294U, (uid_t)-1};
  gid_t gids[] = {(gid_t)-1};
  o = (unixsock_options)UNIXSOCK_OPTIONS_INIT;
  o.allow_uids = uids;
  o.allow_uids_count = 2;
  CHECK(unixsock_options_error("x.sock", 6, &o) == NULL);
  o.allow_uids_count = 3;
  CHECK(strcmp(unixsock_options_error("x.sock", 6, &o), "allow_uids entries must be 0 to 4294967294") == 0);
  CHECK_ERR(unixsock_listen("@options-nobody", 15, UNIXSOCK_STREAM, &o, &l), EINVAL);
  o = (unixsock_options)UNIXSOCK_OPTIONS_INIT;
  o.allow_gids = gids;
  o.allow_gids_count = 1;
  CHECK(strcmp(unixsock_options_error("x.sock", 6, &o), "allow_gids entries must be 0 to 4294967294") == 0);
  CHECK_ERR(unixsock_bind("@options-nobody", 15, UNIXSOCK_DGRAM, &o, &l), EINVAL);
}

/* An abstract name or an autobind has no file to take a mode or an owner: they
 * were ignored, leaving open to every peer a socket the caller meant to close. */
TEST(test_file_options_without_a_file_are_einval) {
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  unixsock *s;
  o.mode = 0600;
  CHECK_ERR(unixsock_listen("@options-mode", 13, UNIXSOCK_STREAM, &o, &s), EINVAL);
  CHECK_ERR(unixsock_bind("@options-mode", 13, UNIXSOCK_DGRAM, &o, &s), EINVAL);
  CHECK_ERR(unixsock_bind("", 0, UNIXSOCK_DGRAM, &o, &s), EINVAL);
  CHECK(strcmp(unixsock_options_error("@options-mode", 13, &o),
               "mode sets a socket file's permissions, and an abstract name has no file "
               "(allow_uids and allow_gids limit who connects)") == 0);
  CHECK(strcmp(unixsock_options_error("", 0, &o),
               "mode sets a socket file's permissions, and an empty address has no file") == 0);
  CHECK(unixsock_options_error("a@b.sock", 8, &o) == NULL); /* a path with an @ in it */
  o = (unixsock_options)UNIXSOCK_OPTIONS_INIT;
  o.gid = 0;
  CHECK_ERR(unixsock_listen("@options-gid", 12, UNIXSOCK_SEQPACKET, &o, &s), EINVAL);
  CHECK(strcmp(unixsock_options_error("@options-gid", 12, &o),
               "uid and gid set a socket file's owner, and an abstract name has no file "
               "(allow_uids and allow_gids limit who connects)") == 0);
  o.gid = -1;
  o.uid = 0;
  CHECK(strcmp(unixsock_options_error("", 0, &o),
               "uid and gid set a socket file's owner, and an empty address has no file") == 0);
  /* an allow list is the abstract name's guard, and is kept */
  uid_t me = getuid();
  o = (unixsock_options)UNIXSOCK_OPTIONS_INIT;
  o.allow_uids = &me;
  o.allow_uids_count = 1;
  CHECK(unixsock_options_error("@options-allow", 14, &o) == NULL);
  CHECK_OK(unixsock_listen("@options-allow", 14, UNIXSOCK_STREAM, &o, &s));
  unixsock_close(s);
}

/* An owner past uid_t was cut to its low 32 bits (2^40 became uid 0: root owned
 * the file) and (uid_t)-1 silently meant "leave"; both are EINVAL, before any
 * file exists. */
TEST(test_owner_beyond_uid_t_is_einval) {
  const long long bad[] = {1LL << 40, 4294967295LL, (1LL << 32) + 65534};
  const char *p = check_path("toobig.sock");
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    unixsock *l;
    unixsock_options o = UNIXSOCK_OPTIONS_INIT;
    o.uid = bad[i];
    CHECK_ERR(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, &o, &l), EINVAL);
    CHECK(!exists(p));
    o = (unixsock_options)UNIXSOCK_OPTIONS_INIT;
    o.gid = bad[i];
    CHECK_ERR(unixsock_bind(p, strlen(p), UNIXSOCK_DGRAM, &o, &l), EINVAL);
    CHECK(!exists(p));
  }
}

/* Another listener caught between its bind and its listen looks stale to a
 * connect; listeners take turns by the directory's flock, so one starting then
 * waits, finds the other live, and deletes nothing (it used to delete the other's
 * file and leave that server unreachable). */
TEST(test_a_listener_waits_for_another_to_finish_starting) {
  const char *p = check_path("turns.sock");
  int other = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, p, strlen(p) + 1);
  CHECK(bind(other, (struct sockaddr *)&sa, sizeof(sa)) == 0);
  ino_t ino = inode_of(p);
  int turn = open(check_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(turn >= 0 && flock(turn, LOCK_EX) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    unixsock *l;
    int r = unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, NULL, &l);
    _exit(r == -EADDRINUSE ? 0 : 1);
  }
  usleep(300000); /* the child has reached the file by now (the old code had) */
  CHECK(listen(other, 8) == 0);
  close(turn);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(inode_of(p), ino);
  unixsock *c;
  CHECK_OK(unixsock_connect(p, strlen(p), UNIXSOCK_STREAM, 1000, &c));
  unixsock_close(c);
  close(other);
}
