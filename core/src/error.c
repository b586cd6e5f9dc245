/* Error text for the library's negative-errno results. */
#include <errno.h>
#include <string.h>

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

const char *unixsock_errname(int result) {
  if (result >= 0)
    return "OK";
  const char *s = strerrorname_np(-result);
  return s != NULL ? s : "EUNKNOWN";
}
