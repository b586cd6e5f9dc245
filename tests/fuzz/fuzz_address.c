/* libFuzzer: the address parser and formatter, and the text errors show.  Any
 * bytes must parse to a valid sockaddr_un or a clean error, never overflow
 * sun_path, and an abstract name must come back byte for byte; the error text
 * of any bytes, in any room, must fit, end in a NUL and hold no control byte. */
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

static void check_text(const unsigned char *data, size_t size) {
  char out[64];
  size_t room = size % (sizeof(out) + 1); /* every room from 0 to all of out */
  size_t n = unixsock_address_text((const char *)data, size, out, room);
  if (room == 0) {
    MUST(n == 0);
    return;
  }
  MUST(n < room && out[n] == '\0' && strlen(out) == n);
  for (size_t i = 0; i < n; i++)
    MUST((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] != 0x7f);
  char *all = malloc(4 * size + 3);
  MUST(all != NULL);
  size_t whole = unixsock_address_text((const char *)data, size, all, 4 * size + 3);
  MUST(n <= whole && memcmp(out, all, n) == 0); /* a cut is a prefix of the whole */
  free(all);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  check_text(data, size);
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
