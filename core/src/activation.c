/* Socket activation: adopt the sockets a service manager passed, the way
 * systemd's sd_listen_fds() finds them. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define LISTEN_FDS_START 3

/* A decimal 0..max, the whole string, or -EINVAL. */
static int parse_int(const char *s, long max, long *ret) {
  if (*s == '\0')
    return -EINVAL;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < 0 || v > max)
    return -EINVAL;
  *ret = v;
  return 0;
}

/* How many fds were passed to this process: 0 when none were (a variable
 * unset) or they were meant for another one (LISTEN_PID, inherited); -EINVAL,
 * with *why, when a variable holds what no service manager writes: as
 * sd_listen_fds says, since serving nothing without a word would hide a broken
 * launcher. */
static long passed_count(const char **why) {
  const char *pid_var = getenv("LISTEN_PID"), *fds_var = getenv("LISTEN_FDS");
  long pid, n;
  *why = NULL;
  if (pid_var == NULL || fds_var == NULL)
    return 0;
  if (parse_int(pid_var, INT_MAX, &pid) < 0) {
    *why = "LISTEN_PID must be a process id";
    return -EINVAL;
  }
  if ((pid_t)pid != getpid())
    return 0;
  if (parse_int(fds_var, UNIXSOCK_LISTEN_FDS_MAX, &n) < 0) {
    _Static_assert(UNIXSOCK_LISTEN_FDS_MAX == 32767, "the sentence names the bound");
    *why = "LISTEN_FDS must be 0 to 32767";
    return -EINVAL;
  }
  return n;
}

const char *unixsock_listen_fds_error(void) {
  const char *why;
  (void)passed_count(&why);
  return why;
}

/* The i-th colon-separated name of LISTEN_FDNAMES into buf ("" when absent). */
static void nth_name(const char *names, size_t i, char *buf, size_t size) {
  buf[0] = '\0';
  if (names == NULL)
    return;
  const char *p = names;
  for (size_t k = 0; k < i; k++) {
    p = strchr(p, ':');
    if (p == NULL)
      return;
    p++;
  }
  size_t len = strcspn(p, ":");
  if (len >= size)
    len = size - 1;
  memcpy(buf, p, len);
  buf[len] = '\0';
}

int unixsock_listen_fds(int unset_environment, unixsock_listen_fd *ret_fds, size_t max) {
  const char *names = getenv("LISTEN_FDNAMES"), *why;
  if (ret_fds == NULL && max > 0)
    return -EINVAL;
  long n = passed_count(&why);
  for (long i = 0; i < n && (size_t)i < max; i++) {
    unixsock_listen_fd *e = &ret_fds[i];
    memset(e, 0, sizeof(*e));
    e->fd = LISTEN_FDS_START + (int)i;
    nth_name(names, (size_t)i, e->name, sizeof(e->name));
    e->error = unixsock_adopt(e->fd, &e->sock);
    if (e->error < 0)
      e->sock = NULL; /* left open and untouched for the caller to judge */
  }
  if (unset_environment) {
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
  }
  return (int)n;
}
