/* A small test harness: TEST(name) registers a test; the runner (check.c) runs
 * each one in a forked child, fails it if it leaked a descriptor, and prints one
 * line per test.  `prog --list` lists the names, `prog NAME...` runs some. */
#ifndef CHECK_H
#define CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "unixsock.h"

typedef void (*check_fn)(void);
void check_register(const char *name, check_fn fn);
void check_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define TEST(name)                                                          \
  static void name(void);                                                   \
  __attribute__((constructor)) static void register_##name(void) {          \
    check_register(#name, name);                                            \
  }                                                                         \
  static void name(void)

#define CHECK(cond)                                                         \
  do {                                                                      \
    if (!(cond))                                                            \
      check_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                   \
  } while (0)

/* a == b, both integers */
#define CHECK_EQ(a, b)                                                      \
  do {                                                                      \
    long long va_ = (long long)(a), vb_ = (long long)(b);                   \
    if (va_ != vb_)                                                         \
      check_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, \
                 va_, #b, vb_);                                             \
  } while (0)

/* a library call that must succeed */
#define CHECK_OK(call)                                                      \
  do {                                                                      \
    long long r_ = (long long)(call);                                       \
    if (r_ < 0)                                                             \
      check_fail(__FILE__, __LINE__, "%s failed: %s (%s)", #call,           \
                 unixsock_errname((int)r_), unixsock_strerror((int)r_));    \
  } while (0)

/* a library call that must fail with -err */
#define CHECK_ERR(call, err)                                                \
  do {                                                                      \
    long long r_ = (long long)(call);                                       \
    if (r_ != -(err))                                                       \
      check_fail(__FILE__, __LINE__, "%s returned %lld (%s), expected -%s", \
                 #call, r_, r_ < 0 ? unixsock_errname((int)r_) : "success", \
                 #err);                                                     \
  } while (0)

/* helpers for tests */
const char *check_tmpdir(void);           /* a fresh directory for this test */
char *check_path(const char *base);       /* tmpdir/base (static buffer rotation) */
char *check_abstract(const char *base);   /* "@unixsock-test-<pid>-base" */
int check_count_fds(void);
/* Run fn in a child whose uid/gid are set to uid (must be root to start). Returns
 * the child's exit status. */
int check_as_user(unsigned int uid, int (*fn)(void *), void *arg);
/* Lower RLIMIT_NOFILE until no descriptor number is free (out of descriptors);
 * returns the limit it had, for check_fds_restore. */
struct rlimit check_fds_exhaust(void);
void check_fds_restore(const struct rlimit *old);

#endif
