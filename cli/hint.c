/* What a failed connect's, listen's or probe's errno leaves unsaid, on a line of
 * its own: core's unixsock_address_error says it, and the CLI adds how to ask
 * for another kind ("try -k dgram"). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

char *cli_dangling_target(const char *path) {
  char target[PATH_MAX];
  struct stat st;
  if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode) || stat(path, &st) == 0)
    return NULL;
  ssize_t n = readlink(path, target, sizeof(target));
  return n >= 0 ? cli_shown(target, (size_t)n) : NULL;
}

void cli_address_hint(const char *op, int kind, const char *address, int result) {
  char why[600];
  int other = 0;
  if (unixsock_address_error(op, kind, address, strlen(address), result, &other, why,
                             sizeof(why)) == 0)
    return;
  if (other != 0) /* one other kind holds it: how to ask for that one */
    fprintf(stderr, "unixsock: %s: try -k %s\n", why, unixsock_kind_name(other));
  else
    fprintf(stderr, "unixsock: %s\n", why);
}
