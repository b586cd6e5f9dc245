/* Control messages: attach descriptors and credentials to a send, and take them
 * out of a receive without ever leaking a descriptor. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04 /* Linux 6.5; Debian 12's headers lack it */
#endif

int unixsock__cmsg_build(struct msghdr *mh, union unixsock__cmsgbuf *cb, const int *fds,
                         size_t nfds, bool creds) {
  if (nfds > UNIXSOCK_MAX_FDS)
    return -E2BIG;
  if (nfds > 0 && fds == NULL)
    return -EINVAL;
  for (size_t i = 0; i < nfds; i++)
    if (fds[i] < 0)
      return -EBADF;
  size_t rights = nfds > 0 ? CMSG_SPACE(nfds * sizeof(int)) : 0;
  size_t used = rights + (creds ? CMSG_SPACE(sizeof(struct ucred)) : 0);
  mh->msg_control = used > 0 ? cb->buf : NULL;
  mh->msg_controllen = used;
  if (used == 0)
    return 0;
  /* Only the bytes sent are cleared (the padding between headers must not carry
   * stack garbage); the whole buffer is over a kilobyte, a send with one fd uses 24. */
  memset(cb->buf, 0, used);
  struct cmsghdr *c = (struct cmsghdr *)cb->buf;
  if (nfds > 0) {
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    c = (struct cmsghdr *)(cb->buf + rights);
  }
  if (creds) {
    /* The kernel checks these: only our own pid and ids are accepted. */
    struct ucred uc = {.pid = getpid(), .uid = geteuid(), .gid = getegid()};
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(uc));
    memcpy(CMSG_DATA(c), &uc, sizeof(uc));
  }
  return 0;
}

void unixsock__inbox_init(struct unixsock__inbox *in, size_t max_fds) {
  in->nfds = 0;
  in->max_fds = unixsock__fd_limit(max_fds);
  in->has_creds = false;
  in->creds_came = false;
  in->came = 0;
  in->cut = false;
}

void unixsock__close_fds(int *fds, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0) {
      close(fds[i]);
      fds[i] = -1;
    }
}

int unixsock__cmsg_parse(const struct msghdr *mh, struct unixsock__inbox *in) {
  bool overflow = false, malformed = false;
  const char *end = (const char *)mh->msg_control + mh->msg_controllen;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL;
       c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
    /* The kernel never sends these, but a length that points outside the
     * buffer (or below a header) must not be followed: stop, and say so. */
    if (c->cmsg_len < CMSG_LEN(0) || c->cmsg_len > (size_t)(end - (const char *)c)) {
      malformed = true;
      break;
    }
    if (c->cmsg_level != SOL_SOCKET)
      continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const unsigned char *p = CMSG_DATA(c);
      in->came += n;
      for (size_t i = 0; i < n; i++) {
        int fd;
        memcpy(&fd, p + i * sizeof(int), sizeof(int));
        if (in->nfds < in->max_fds && in->nfds < UNIXSOCK_MAX_FDS) {
          in->fds[in->nfds++] = fd;
        } else {
          close(fd); /* no room: never leak it */
          overflow = true;
        }
      }
    } else if (c->cmsg_type == SCM_PIDFD) {
      /* the sender's pidfd, installed here because SO_PASSPIDFD is on (not by
       * unixsock: a socket made elsewhere); not offered, so never leaked */
      size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < n; i++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (fd >= 0)
          close(fd);
      }
    } else if (c->cmsg_type == SCM_CREDENTIALS &&
               c->cmsg_len >= CMSG_LEN(sizeof(struct ucred))) {
      in->creds_came = true;
      struct ucred uc;
      memcpy(&uc, CMSG_DATA(c), sizeof(uc));
      if (!unixsock__platform_creds_unrecorded(uc.pid, uc.uid, uc.gid)) {
        in->creds.pid = uc.pid;
        in->creds.uid = uc.uid;
        in->creds.gid = uc.gid;
        in->has_creds = true;
      }
    }
  }
  in->cut = (mh->msg_flags & MSG_CTRUNC) != 0;
  if (overflow || malformed || in->cut) {
    unixsock__close_fds(in->fds, in->nfds);
    in->nfds = 0;
    return malformed ? -EBADMSG : -ENOBUFS;
  }
  return 0;
}
