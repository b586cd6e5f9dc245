/* Error text for the library's negative-errno results. */
#include <string.h>

#include "internal.h"

const char *unixsock_strerror(int result) {
  if (result >= 0)
    return "Success";
  const char *s = strerrordesc_np(-result); /* thread-safe, unlike strerror() */
  return s != NULL ? s : "Unknown error";
}

const char *unixsock_errname(int result) {
  if (result >= 0)
    return "OK";
  const char *s = strerrorname_np(-result);
  return s != NULL ? s : "EUNKNOWN";
}
