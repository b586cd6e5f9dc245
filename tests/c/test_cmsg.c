/* The control-message parser against control data the kernel would never send
 * (found by tests/fuzz/fuzz_cmsg): lengths below a header or past the buffer are
 * refused without reading outside it, and no descriptor leaks. */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "../../core/src/internal.h"

static int parse(void *buf, size_t len, struct unixsock__inbox *in) {
  struct msghdr mh = {.msg_control = buf, .msg_controllen = len};
  in->nfds = 0;
  in->max_fds = UNIXSOCK_MAX_FDS;
  in->has_creds = false;
  return unixsock__cmsg_parse(&mh, in);
}

TEST(test_cmsg_with_zero_length_after_a_good_one_is_ebadmsg) {
  union unixsock__cmsgbuf cb;
  memset(&cb, 0, sizeof(cb));
  struct cmsghdr *c = (struct cmsghdr *)cb.buf;
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  struct cmsghdr *next = (struct cmsghdr *)(cb.buf + CMSG_SPACE(sizeof(int)));
  next->cmsg_level = SOL_SOCKET;
  next->cmsg_type = SCM_RIGHTS;
  next->cmsg_len = 0; /* the fuzzer's find: read as (0 - header) descriptors */
  struct unixsock__inbox in;
  int before = check_count_fds();
  CHECK_ERR(parse(cb.buf, CMSG_SPACE(sizeof(int)) + CMSG_SPACE(0), &in), EBADMSG);
  CHECK_EQ(in.nfds, 0);
  CHECK_EQ(check_count_fds(), before - 1); /* the one that came is closed */
}

TEST(test_cmsg_length_past_the_buffer_is_ebadmsg) {
  union unixsock__cmsgbuf cb;
  memset(&cb, 0, sizeof(cb));
  struct cmsghdr *c = (struct cmsghdr *)cb.buf;
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = 4096; /* claims far more than the 24 bytes given */
  struct unixsock__inbox in;
  CHECK_ERR(parse(cb.buf, 24, &in), EBADMSG);
  CHECK_EQ(in.nfds, 0);
}

TEST(test_cmsg_credentials_before_fds_and_after) {
  union unixsock__cmsgbuf cb;
  for (int order = 0; order < 2; order++) {
    memset(&cb, 0, sizeof(cb));
    struct ucred uc = {.pid = 42, .uid = 7, .gid = 8};
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    size_t off = 0;
    for (int k = 0; k < 2; k++) {
      struct cmsghdr *c = (struct cmsghdr *)(cb.buf + off);
      c->cmsg_level = SOL_SOCKET;
      if ((k == 0) == (order == 0)) {
        c->cmsg_type = SCM_CREDENTIALS;
        c->cmsg_len = CMSG_LEN(sizeof(uc));
        memcpy(CMSG_DATA(c), &uc, sizeof(uc));
        off += CMSG_SPACE(sizeof(uc));
      } else {
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
        off += CMSG_SPACE(sizeof(int));
      }
    }
    struct unixsock__inbox in;
    CHECK_OK(parse(cb.buf, off, &in));
    CHECK_EQ(in.nfds, 1);
    CHECK_EQ(in.fds[0], fd);
    CHECK(in.has_creds);
    CHECK_EQ(in.creds.pid, 42);
    CHECK_EQ(in.creds.uid, 7);
    close(fd);
  }
}
