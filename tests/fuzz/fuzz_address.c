/* libFuzzer: the address parser and formatter.  Any bytes must parse to a valid
 * sockaddr_un or a clean error, never overflow sun_path, and an abstract name
 * must come back byte for byte. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* assert() vanishes under NDEBUG; a fuzz check must not */
#define MUST(c) \
  do { \
    if (!(c)) \
      abort(); \
  } while (0)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  struct unixsock__addr a;
  int r = unixsock__addr_parse((const char *)data, size, false, &a);
  if (r < 0) {
    MUST(r == -EINVAL || r == -ENAMETOOLONG);
    return 0;
  }
  MUST(a.len <= sizeof(a.sa));
  MUST(a.dirfd == -1);
  char back[UNIXSOCK_ADDRESS_MAX];
  size_t len = sizeof(back);
  MUST(unixsock__addr_format(&a.sa, a.len, back, &len) == 0);
  if (size > 0 && data[0] == '@') {
    MUST(len == size);
    MUST(memcmp(back, data, size) == 0);
  } else if (size > 0) {
    MUST(len == size && memcmp(back, data, size) == 0);
  }
  unixsock__addr_release(&a);
  return 0;
}
