/* unixsock_access_error: which file an EACCES came from, and why.  The kernel's
 * "Permission denied" does not say whether a directory on the way could not be
 * searched, the socket file could not be written to (connecting and sending to
 * a socket write to it), or its directory could not take a new file.  Asked
 * after the fact, with the caller's effective ids, as the kernel checked them. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* "uid 65534 (nobody)" */
static void who(uid_t uid, char *out, size_t size) {
  struct passwd pw, *found = NULL;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found != NULL)
    snprintf(out, size, "uid %u (%s)", (unsigned)uid, found->pw_name);
  else
    snprintf(out, size, "uid %u", (unsigned)uid);
}

/* "owner root:root mode 0600" */
static void owner_mode(const struct stat *st, char *out, size_t size) {
  struct passwd pw, *u = NULL;
  struct group gr, *g = NULL;
  char ubuf[1024], gbuf[1024], uid[16], gid[16];
  (void)getpwuid_r(st->st_uid, &pw, ubuf, sizeof(ubuf), &u);
  (void)getgrgid_r(st->st_gid, &gr, gbuf, sizeof(gbuf), &g);
  snprintf(uid, sizeof(uid), "%u", (unsigned)st->st_uid);
  snprintf(gid, sizeof(gid), "%u", (unsigned)st->st_gid);
  snprintf(out, size, "owner %s:%s mode %04o", u != NULL ? u->pw_name : uid,
           g != NULL ? g->gr_name : gid, (unsigned)(st->st_mode & 07777));
}

/* Whether we may do what (X_OK, W_OK...) to file: false only for EACCES. */
static bool refused(const char *file, int what) {
  return faccessat(AT_FDCWD, file, what, AT_EACCESS) < 0 && errno == EACCES;
}

/* "<who> may not <verb> <file> (<owner and mode>)" into buf; its length. */
static size_t say(const char *verb, const char *file, char *buf, size_t size) {
  struct stat st;
  char me[96], owner[160];
  size_t flen = strlen(file);
  char *shown = malloc(4 * flen + 3); /* control bytes as \xNN, as every message shows them */
  if (shown == NULL || stat(file, &st) < 0) {
    free(shown);
    return 0;
  }
  unixsock_address_text(file, flen, shown, 4 * flen + 3);
  who(geteuid(), me, sizeof(me));
  owner_mode(&st, owner, sizeof(owner));
  size_t len = unixsock__say(buf, size, "%s may not %s %s (%s)", me, verb, shown, owner);
  free(shown);
  return len;
}

size_t unixsock_access_error(const char *name, size_t namelen, int result, int creating,
                             char *buf, size_t size) {
  if (buf != NULL && size > 0)
    buf[0] = '\0';
  if (result != -EACCES || name == NULL || namelen == 0 || name[0] == '@' ||
      namelen >= PATH_MAX || memchr(name, '\0', namelen) != NULL)
    return 0; /* abstract names have no permissions */
  char path[PATH_MAX], parent[PATH_MAX];
  memcpy(path, name, namelen);
  path[namelen] = '\0';
  /* each directory on the way, from the first: the first we may not search */
  for (char *slash = strchr(path + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    bool no = refused(path, X_OK);
    *slash = '/';
    if (no) {
      memcpy(parent, path, (size_t)(slash - path));
      parent[slash - path] = '\0';
      return say("search", parent, buf, size);
    }
  }
  if (!creating) /* connecting, or sending, writes to the socket file */
    return refused(path, W_OK) ? say("write to", path, buf, size) : 0;
  char *slash = strrchr(path, '/');
  if (slash == NULL) { /* in the working directory: named by its path */
    if (getcwd(parent, sizeof(parent)) == NULL)
      return 0;
  } else {
    size_t len = slash == path ? 1 : (size_t)(slash - path); /* "/x": the root */
    memcpy(parent, path, len);
    parent[len] = '\0';
  }
  return refused(parent, W_OK | X_OK) ? say("create files in", parent, buf, size) : 0;
}
