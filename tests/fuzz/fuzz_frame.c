/* libFuzzer: the stream frame decoder.  The input is written to one end of a
 * stream pair, which is then closed; recv_message reads frames until the end or
 * an error.  It must never crash, hang, or leak, and every message it returns
 * must be as long as its header said. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* assert() vanishes under NDEBUG; a fuzz check must not */
#define MUST(c) \
  do { \
    if (!(c)) \
      abort(); \
  } while (0)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  int sv[2];
  if (size > 200000 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return 0;
  int big = 1 << 20;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  if (write(sv[1], data, size) != (ssize_t)size) {
    close(sv[0]);
    close(sv[1]);
    return 0;
  }
  close(sv[1]);
  unixsock *s;
  MUST(unixsock_adopt(sv[0], &s) == 0);
  unixsock_set_max_message(s, 1 << 16);
  for (int i = 0; i < 10000; i++) {
    unixsock_message m = {0};
    int r = unixsock_recv_message(s, &m);
    if (r <= 0) {
      MUST(r == 0 || r == -EMSGSIZE || r == -EBADMSG || r == -ECONNRESET);
      break;
    }
    MUST(m.nfds == 0);
    unixsock_message_release(&m);
  }
  unixsock_close(s);
  return 0;
}
