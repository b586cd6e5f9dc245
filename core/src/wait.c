/* Deadlines: a timeout bounds a whole call, however many syscalls it takes. */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "internal.h"

long long unixsock__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unixsock_interrupt_fn interrupt_hook;
static void *interrupt_arg;

void unixsock_set_interrupt_hook(unixsock_interrupt_fn fn, void *arg) {
  interrupt_arg = arg;
  interrupt_hook = fn;
}

int unixsock__interrupted(void) {
  unixsock_interrupt_fn fn = interrupt_hook;
  return (fn != NULL && fn(interrupt_arg) != 0) ? -EINTR : 0;
}

long long unixsock__deadline(int timeout_ms) {
  if (timeout_ms < 0)
    return -1;
  return unixsock__now_ms() + timeout_ms;
}

int unixsock__wait(int fd, short events, long long deadline) {
  for (;;) {
    int wait_ms = -1;
    if (deadline >= 0) {
      long long left = deadline - unixsock__now_ms();
      if (left <= 0)
        return -ETIMEDOUT;
      wait_ms = left > 0x7fffffff ? 0x7fffffff : (int)left;
    }
    struct pollfd p = {.fd = fd, .events = events, .revents = 0};
    int r = poll(&p, 1, wait_ms);
    if (r > 0)
      return 0; /* ready, or an error/hangup the next syscall will report */
    if (r == 0)
      continue; /* the loop re-checks the deadline */
    if (errno != EINTR)
      return -errno;
    if (unixsock__interrupted() < 0)
      return -EINTR;
  }
}
