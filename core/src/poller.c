/* A readiness poller over epoll, for C programs and Lua hosts without a loop.
 * epoll hands back the fd; the caller's data is kept in a table indexed by fd.
 * As with epoll, one thread may wait while others add and remove descriptors:
 * the table (which moves as it grows) is read and changed under a mutex, never
 * held while waiting. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "internal.h"

struct slot {
  void *data;
  bool used;
};

struct unixsock_poller {
  int epfd;
  pthread_mutex_t lock; /* over slots and nslots */
  struct slot *slots;
  size_t nslots;
};

int unixsock_poller_new(unixsock_poller **ret_poller) {
  if (ret_poller == NULL)
    return -EINVAL;
  unixsock_poller *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return -ENOMEM;
  int r = pthread_mutex_init(&p->lock, NULL);
  if (r != 0) {
    free(p);
    return -r;
  }
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (p->epfd < 0) {
    int err = errno;
    pthread_mutex_destroy(&p->lock);
    free(p);
    return -err;
  }
  *ret_poller = p;
  return 0;
}

void unixsock_poller_free(unixsock_poller *poller) {
  if (poller == NULL)
    return;
  close(poller->epfd);
  pthread_mutex_destroy(&poller->lock);
  free(poller->slots);
  free(poller);
}

int unixsock_poller_fd(const unixsock_poller *poller) {
  return poller == NULL ? -EINVAL : poller->epfd;
}

static int grow(unixsock_poller *p, int fd) {
  if ((size_t)fd < p->nslots)
    return 0;
  size_t n = p->nslots ? p->nslots : 64;
  while (n <= (size_t)fd)
    n *= 2;
  struct slot *s = realloc(p->slots, n * sizeof(*s));
  if (s == NULL)
    return -ENOMEM;
  memset(s + p->nslots, 0, (n - p->nslots) * sizeof(*s));
  p->slots = s;
  p->nslots = n;
  return 0;
}

/* Under the lock: the table and epoll's set change together. */
static int set_locked(unixsock_poller *poller, int fd, unsigned int events, void *data) {
  int r = grow(poller, fd);
  if (r < 0)
    return r;
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = ((events & UNIXSOCK_READABLE) ? EPOLLIN | EPOLLRDHUP : 0) |
              ((events & UNIXSOCK_WRITABLE) ? EPOLLOUT : 0);
  ev.data.fd = fd;
  int op = poller->slots[fd].used ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(poller->epfd, op, fd, &ev) < 0) {
    /* the fd was closed and reused behind our back: start over */
    if (op == EPOLL_CTL_MOD && errno == ENOENT)
      r = epoll_ctl(poller->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
    else
      r = -errno;
    if (r < 0)
      return r;
  }
  poller->slots[fd].used = true;
  poller->slots[fd].data = data;
  return 0;
}

int unixsock_poller_set(unixsock_poller *poller, int fd, unsigned int events, void *data) {
  if (poller == NULL || (events & ~(unsigned)(UNIXSOCK_READABLE | UNIXSOCK_WRITABLE)))
    return -EINVAL;
  if (fd < 0)
    return -EBADF; /* as epoll_ctl, and the library's other calls that take an fd, say */
  pthread_mutex_lock(&poller->lock);
  int r = set_locked(poller, fd, events, data);
  pthread_mutex_unlock(&poller->lock);
  return r;
}

int unixsock_poller_remove(unixsock_poller *poller, int fd) {
  if (poller == NULL)
    return -EINVAL;
  if (fd < 0)
    return -EBADF;
  int r = 0;
  pthread_mutex_lock(&poller->lock);
  if ((size_t)fd >= poller->nslots || !poller->slots[fd].used) {
    r = -ENOENT;
  } else {
    poller->slots[fd].used = false;
    poller->slots[fd].data = NULL;
    /* EBADF: already closed, and epoll forgot it by itself */
    if (epoll_ctl(poller->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != EBADF && errno != ENOENT)
      r = -errno;
  }
  pthread_mutex_unlock(&poller->lock);
  return r;
}

int unixsock_poller_wait(unixsock_poller *poller, unixsock_event *ret_events, size_t max,
                         int timeout_ms) {
  if (poller == NULL || ret_events == NULL || max == 0 || timeout_ms < -1)
    return -EINVAL;
  struct epoll_event evs[64];
  int n = max < 64 ? (int)max : 64;
  long long deadline = unixsock__deadline(timeout_ms);
  int got;
  for (;;) {
    int wait_ms = timeout_ms;
    if (deadline >= 0) {
      long long left = deadline - unixsock__deadline(0);
      wait_ms = left <= 0 ? 0 : (left > 0x7fffffff ? 0x7fffffff : (int)left);
    }
    got = epoll_wait(poller->epfd, evs, n, wait_ms);
    if (got >= 0)
      break;
    if (errno != EINTR)
      return -errno;
    int r = unixsock__interrupted();
    if (r < 0)
      return r;
  }
  pthread_mutex_lock(&poller->lock);
  for (int i = 0; i < got; i++) {
    int fd = evs[i].data.fd;
    unsigned int e = 0;
    if (evs[i].events & EPOLLIN)
      e |= UNIXSOCK_READABLE;
    if (evs[i].events & EPOLLOUT)
      e |= UNIXSOCK_WRITABLE;
    if (evs[i].events & (EPOLLHUP | EPOLLRDHUP))
      e |= UNIXSOCK_HANGUP | UNIXSOCK_READABLE; /* a read will see the end */
    if (evs[i].events & EPOLLERR)
      e |= UNIXSOCK_ERROR;
    ret_events[i].fd = fd;
    ret_events[i].events = e;
    ret_events[i].data = (size_t)fd < poller->nslots ? poller->slots[fd].data : NULL;
  }
  pthread_mutex_unlock(&poller->lock);
  return got;
}
