/* libFuzzer: the control-message parser.  The input is laid out as control data
 * (lengths, levels and types as they come, garbage included); every SCM_RIGHTS
 * payload is filled with real descriptors first, so the test can check that each
 * one is either handed over or closed: none leaks, none is closed twice.  An
 * SCM_PIDFD payload is filled so too: each of those must be closed. */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

/* assert() vanishes under NDEBUG; a fuzz check must not */
#define MUST(c) \
  do { \
    if (!(c)) \
      abort(); \
  } while (0)

static int count_open(const int *fds, size_t n) {
  int open_ = 0;
  for (size_t i = 0; i < n; i++)
    if (fcntl(fds[i], F_GETFD) >= 0)
      open_++;
  return open_;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  union unixsock__cmsgbuf cb;
  if (size < 2 || size - 1 > sizeof(cb.buf))
    return 0;
  struct unixsock__inbox in;
  in.nfds = 0;
  in.max_fds = data[0] % (UNIXSOCK_MAX_FDS + 2);
  in.has_creds = false;
  memcpy(cb.buf, data + 1, size - 1);
  struct msghdr mh = {.msg_control = cb.buf, .msg_controllen = size - 1,
                      .msg_flags = (data[0] & 0x80) ? MSG_CTRUNC : 0};
  enum { RIGHTS, PIDFDS, ROOM = UNIXSOCK_MAX_FDS * 4 };
  int made[2][ROOM]; /* the descriptors filled in, by kind of payload */
  size_t nmade[2] = {0, 0};
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_len < CMSG_LEN(0) || c->cmsg_len > (size_t)(cb.buf + (size - 1) - (char *)c))
      break; /* the parser must refuse what follows; there is nothing to fill */
    if (c->cmsg_level != SOL_SOCKET || (c->cmsg_type != SCM_RIGHTS && c->cmsg_type != SCM_PIDFD))
      continue;
    int k = c->cmsg_type == SCM_RIGHTS ? RIGHTS : PIDFDS;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n && nmade[k] < ROOM; i++) {
      int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
      memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof(int));
      made[k][nmade[k]++] = fd;
    }
  }
  int r = unixsock__cmsg_parse(&mh, &in);
  MUST(r == 0 || r == -ENOBUFS || r == -EBADMSG);
  MUST(in.nfds <= UNIXSOCK_MAX_FDS);
  if (r < 0)
    MUST(in.nfds == 0);
  /* what is open now is exactly what the inbox holds */
  MUST((size_t)count_open(made[RIGHTS], nmade[RIGHTS]) == in.nfds);
  MUST(count_open(made[PIDFDS], nmade[PIDFDS]) == 0); /* not offered: every one closed */
  unixsock__close_fds(in.fds, in.nfds);
  return 0;
}
