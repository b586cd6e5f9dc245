/* Access control on accept: the allow-list. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int connect_and_wait(void *arg) {
  const char *p = arg;
  unixsock *c;
  if (unixsock_connect(p, strlen(p), UNIXSOCK_STREAM, 1000, &c) < 0)
    return 2;
  char b;
  unixsock_settimeout(c, 4000);
  ssize_t n = unixsock_recv(c, &b, 1); /* refused: closed by the server */
  unixsock_close(c);
  return n == 0 ? 0 : 1;
}

TEST(test_allow_list_keeps_other_uids_from_accept) {
  if (geteuid() != 0)
    return;
  const char *p = check_path("allow.sock");
  uid_t root = 0;
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.allow_uids = &root;
  o.allow_uids_count = 1;
  o.mode = 0666;
  unixsock *l, *s, *c;
  CHECK_OK(unixsock_listen(p, strlen(p), UNIXSOCK_STREAM, &o, &l));
  CHECK_OK(unixsock_settimeout(l, 1500));
  pid_t pid = fork();
  if (pid == 0)
    _exit(check_as_user(65534, connect_and_wait, (void *)p));
  CHECK_ERR(unixsock_accept(l, &s), ETIMEDOUT);
  int status;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK_EQ(unixsock_refused(l), 1);
  /* root is admitted */
  CHECK_OK(unixsock_connect(p, strlen(p), UNIXSOCK_STREAM, 1000, &c));
  CHECK_OK(unixsock_accept(l, &s));
  unixsock_close(s);
  unixsock_close(c);
  unixsock_close(l);
}

static int send_as(void *arg) {
  const char *addr = arg;
  unixsock *c;
  if (unixsock_connect(addr, strlen(addr), UNIXSOCK_DGRAM, 1000, &c) < 0)
    return 1;
  unixsock_send(c, "from nobody", 11);
  unixsock_close(c);
  return 0;
}

/* A dgram endpoint at addr whose allow-list admits root only. */
static unixsock *bind_admitting_root(const char *addr) {
  static const uid_t root = 0;
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.allow_uids = &root;
  o.allow_uids_count = 1;
  unixsock *srv;
  CHECK_OK(unixsock_bind(addr, strlen(addr), UNIXSOCK_DGRAM, &o, &srv));
  return srv;
}

TEST(test_dgram_allow_list_drops_other_uids_messages) {
  if (geteuid() != 0)
    return;
  const char *addr = check_abstract("allow-dgram");
  unixsock *srv = bind_admitting_root(addr), *me;
  CHECK_EQ(check_as_user(65534, send_as, (void *)addr), 0);
  CHECK_OK(unixsock_connect(addr, strlen(addr), UNIXSOCK_DGRAM, 1000, &me));
  CHECK_EQ(unixsock_send(me, "from root", 9), 9);
  CHECK_EQ(check_as_user(65534, send_as, (void *)addr), 0);
  CHECK_EQ(unixsock_send(me, "root again", 10), 10);
  char buf[32];
  CHECK_EQ(unixsock_recv(srv, buf, sizeof(buf)), 9);
  CHECK(memcmp(buf, "from root", 9) == 0);
  unixsock_message m = {0};
  CHECK_EQ(unixsock_recv_message(srv, &m), 1);
  CHECK_EQ(m.len, 10);
  unixsock_message_release(&m);
  CHECK_EQ(unixsock_refused(srv), 2);
  /* try_recv drops refused datagrams too, and then does not wait for another */
  CHECK_OK(unixsock_settimeout(srv, -1));
  CHECK_EQ(check_as_user(65534, send_as, (void *)addr), 0);
  CHECK_ERR(unixsock_try_recv(srv, buf, sizeof(buf)), EAGAIN);
  CHECK_EQ(unixsock_send(me, "third", 5), 5);
  CHECK_EQ(unixsock_try_recv(srv, buf, sizeof(buf)), 5);
  CHECK_EQ(unixsock_refused(srv), 3);
  unixsock_close(me);
  unixsock_close(srv);
}

#define REFUSED_FLOOD 2000

static int flood_as(void *arg) {
  const char *addr = arg;
  unixsock *c;
  if (unixsock_connect(addr, strlen(addr), UNIXSOCK_DGRAM, 1000, &c) < 0)
    return 1;
  unixsock_settimeout(c, 10000);
  for (int i = 0; i < REFUSED_FLOOD; i++)
    if (unixsock_send(c, "from nobody", 11) != 11)
      return 2;
  unixsock_close(c);
  return 0;
}

/* Receives until one admitted datagram arrives (dropping the refused ones). */
static void *receive_admitted(void *arg) {
  char buf[32];
  ssize_t n = unixsock_recv(arg, buf, sizeof(buf));
  return (void *)(n == 4 && memcmp(buf, "stop", 4) == 0 ? "ok" : NULL);
}

TEST(test_refused_count_is_exact_with_two_receiving_threads) {
  if (geteuid() != 0)
    return;
  const char *addr = check_abstract("allow-threads");
  unixsock *srv = bind_admitting_root(addr), *me;
  CHECK_OK(unixsock_settimeout(srv, 20000));
  pthread_t t[2];
  for (int i = 0; i < 2; i++)
    CHECK(pthread_create(&t[i], NULL, receive_admitted, srv) == 0);
  /* both threads drop the flood between them, each counting what it drops */
  CHECK_EQ(check_as_user(65534, flood_as, (void *)addr), 0);
  CHECK_OK(unixsock_connect(addr, strlen(addr), UNIXSOCK_DGRAM, 1000, &me));
  for (int i = 0; i < 2; i++)
    CHECK_EQ(unixsock_send(me, "stop", 4), 4);
  for (int i = 0; i < 2; i++) {
    void *res;
    CHECK(pthread_join(t[i], &res) == 0);
    CHECK(res != NULL);
  }
  CHECK_EQ(unixsock_refused(srv), REFUSED_FLOOD);
  unixsock_close(me);
  unixsock_close(srv);
}
