/* Error text for the library's negative-errno results. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define STR(x) #x
#define XSTR(x) STR(x)

const char *unixsock_strerror(int result) {
  if (result >= 0)
    return "Success";
  if (result == -E2BIG) /* the one thing it means here; the kernel's text would hide the limit */
    return "More than " XSTR(UNIXSOCK_MAX_FDS) " descriptors in one message";
  const char *s = strerrordesc_np(-result); /* thread-safe, unlike strerror() */
  return s != NULL ? s : "Unknown error";
}

size_t unixsock_address_text(const char *name, size_t namelen, char *out, size_t outsize) {
  if (outsize == 0)
    return 0;
  if (namelen == 0)
    name = "\"\"", namelen = 2;
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  for (size_t i = 0; i < namelen; i++) {
    unsigned char c = (unsigned char)name[i];
    bool control = c < 0x20 || c == 0x7f;
    if (n + (control ? 4 : 1) >= outsize)
      break;
    if (control) {
      out[n++] = '\\';
      out[n++] = 'x';
      out[n++] = hex[c >> 4];
      out[n++] = hex[c & 0xf];
    } else {
      out[n++] = (char)c;
    }
  }
  out[n] = '\0';
  return n;
}

const char *unixsock_errname(int result) {
  if (result >= 0)
    return "OK";
  const char *s = strerrorname_np(-result);
  return s != NULL ? s : "EUNKNOWN";
}

const char *unixsock__file_type(mode_t m) {
  if (S_ISREG(m))
    return "a regular file";
  if (S_ISDIR(m))
    return "a directory";
  if (S_ISFIFO(m))
    return "a fifo";
  if (S_ISLNK(m))
    return "a symbolic link";
  if (S_ISCHR(m) || S_ISBLK(m))
    return "a device";
  if (S_ISSOCK(m))
    return "a socket";
  return "not a socket";
}

size_t unixsock__say(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, buf == NULL ? 0 : size, fmt, ap);
  va_end(ap);
  return n < 0 ? 0 : (size_t)n;
}
