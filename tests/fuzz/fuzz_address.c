/* libFuzzer: the address parser and formatter, and the text errors show.  Any
 * bytes must parse to a valid sockaddr_un or a clean error, never overflow
 * sun_path, and an abstract name must come back byte for byte; the error text
 * of any bytes, and what unixsock_address_error says of them, in any room, must
 * fit, end in a NUL and hold no control byte. */
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

/* unixsock_address_error of any bytes, after any error of any call, looks at
 * the file system only (from the fuzzer's directory): its text, in any room, is
 * the whole one cut, ends in a NUL, holds no control byte, and names one other
 * kind at most. */
static void check_explained(const unsigned char *data, size_t size) {
  static const int results[] = {-ENOENT,     -ENOTDIR,   -ECONNREFUSED, -EPROTOTYPE,
                                -EPERM,      -EADDRINUSE, -EEXIST,      -ENAMETOOLONG,
                                -ETIMEDOUT,  -EAGAIN,    -EINVAL,       -EACCES};
  static const char *const ops[] = {"connect", "listen", "bind", "sendto", "send_message"};
  const size_t nresults = sizeof(results) / sizeof(results[0]);
  unsigned pick = size > 0 ? data[size - 1] : 0;
  int result = results[pick % nresults];
  const char *op = ops[(pick / nresults) % 5];
  int kind = (int)(pick % 4); /* 0 (unknown), stream, dgram, seqpacket */
  static char all[40000];     /* a path and a link target of 4095 bytes, each as \xNN */
  int other = -1;
  size_t whole = unixsock_address_error(op, kind, (const char *)data, size, result, &other, all,
                                        sizeof(all));
  MUST(whole < sizeof(all) && strlen(all) == whole);
  MUST(other == 0 || other == UNIXSOCK_STREAM || other == UNIXSOCK_DGRAM ||
       other == UNIXSOCK_SEQPACKET);
  for (size_t i = 0; i < whole; i++)
    MUST((unsigned char)all[i] >= 0x20 && (unsigned char)all[i] != 0x7f);
  char out[64];
  memset(out, 'x', sizeof(out)); /* no NUL but the one it writes */
  size_t room = size % (sizeof(out) + 1);
  MUST(unixsock_address_error(op, kind, (const char *)data, size, result, NULL,
                              room > 0 ? out : NULL, room) == whole);
  if (room > 0)
    MUST(strlen(out) == (whole < room ? whole : room - 1) && memcmp(out, all, strlen(out)) == 0);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  check_text(data, size);
  check_explained(data, size);
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
