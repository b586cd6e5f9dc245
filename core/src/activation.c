/* Socket activation: adopt the sockets a service manager passed, the way
 * systemd's sd_listen_fds() finds them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define LISTEN_FDS_START 3

static int parse_int(const char *s, long *ret) {
  if (s == NULL || *s == '\0')
    return -EINVAL;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < 0)
    return -EINVAL;
  *ret = v;
  return 0;
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
  long pid, n;
  int result = 0;
  const char *names = getenv("LISTEN_FDNAMES");
  if (ret_fds == NULL && max > 0)
    return -EINVAL;
  if (parse_int(getenv("LISTEN_PID"), &pid) < 0 || parse_int(getenv("LISTEN_FDS"), &n) < 0)
    goto out; /* nothing passed */
  if ((pid_t)pid != getpid())
    goto out; /* meant for another process (the variables were inherited) */
  if (n > UNIXSOCK_LISTEN_FDS_MAX) {
    result = -EINVAL;
    goto out;
  }
  for (long i = 0; i < n && (size_t)i < max; i++) {
    unixsock_listen_fd *e = &ret_fds[i];
    memset(e, 0, sizeof(*e));
    e->fd = LISTEN_FDS_START + (int)i;
    nth_name(names, (size_t)i, e->name, sizeof(e->name));
    e->error = unixsock_adopt(e->fd, &e->sock);
    if (e->error < 0)
      e->sock = NULL; /* left open and untouched for the caller to judge */
  }
  result = (int)n;
out:
  if (unset_environment) {
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
  }
  return result;
}
