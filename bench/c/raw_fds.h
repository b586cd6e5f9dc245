/* The raw syscalls of fd passing that bench_peer and bench_client share. */
#ifndef UNIXSOCK_BENCH_RAW_FDS_H
#define UNIXSOCK_BENCH_RAW_FDS_H

#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* One byte carrying fd, in one sendmsg (to `to` when it is not NULL). */
static inline ssize_t raw_send_one_fd(int sock, int fd, const struct sockaddr *to, socklen_t tolen) {
  union {
    struct cmsghdr h;
    char b[CMSG_SPACE(sizeof(int))];
  } cb;
  char byte = 'x';
  struct iovec iov = {&byte, 1};
  struct msghdr mh = {.msg_name = (void *)to, .msg_namelen = to != NULL ? tolen : 0,
                      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b,
                      .msg_controllen = sizeof(cb.b)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* Close every descriptor that a received message's control data carried. */
static inline void raw_close_fds(struct msghdr *mh) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
        close(fd);
      }
}

#endif
