/* unixsock probe ADDRESS: is anyone listening there, of which kind, and what is
 * the file (owner, mode, stale, not a socket)?  The exit status says it too. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static void describe_file(const char *path, const struct stat *st) {
  struct passwd *pw = getpwuid(st->st_uid);
  struct group *gr = getgrgid(st->st_gid);
  char u[32], g[32];
  snprintf(u, sizeof(u), "%u", (unsigned)st->st_uid);
  snprintf(g, sizeof(g), "%u", (unsigned)st->st_gid);
  printf("%s: owner %s:%s mode %04o\n", path, pw ? pw->pw_name : u, gr ? gr->gr_name : g,
         (unsigned)(st->st_mode & 07777));
}

/* Nothing at path (stat said err); a symbolic link that leads nowhere says where
 * it points, a directory on the way that is missing, or a file, which one. */
static void say_missing(const char *path, const char *shown, int err) {
  char *t = cli_dangling_target(path);
  char why[600];
  if (t != NULL)
    printf("%s: nothing there (a symbolic link to %s, which does not exist)\n", shown, t);
  else if (unixsock_address_error("connect", 0, path, strlen(path), -err, NULL, why,
                                  sizeof(why)) > 0)
    printf("%s: nothing there (%s)\n", shown, why);
  else
    printf("%s: nothing there\n", shown);
  free(t);
}

int cli_probe(const struct cli_options *o) {
  const char *a = o->address;
  size_t alen = strlen(a);
  if (alen == 0) { /* "" autobinds elsewhere; there is nothing to probe */
    return cli_usage_error("probe needs an address (a path or @name)");
  }
  if (a[0] != '@') {
    struct stat st;
    if (stat(a, &st) < 0) { /* follows symlinks: a link to a socket is usable */
      int err = errno;
      if (err == ENOENT || err == ENOTDIR) { /* ENOTDIR: a file on the way */
        say_missing(a, o->shown, err);
        return EXIT_MISSING;
      }
      cli_error("stat", a, -err);
      cli_address_hint("connect", 0, a, -err);
      return err == EACCES ? EXIT_DENIED : EXIT_FAIL;
    }
    if (!S_ISSOCK(st.st_mode)) {
      /* what a connect there would hear (ECONNREFUSED), in core's words */
      char why[600];
      if (unixsock_address_error("connect", 0, a, alen, -ECONNREFUSED, NULL, why, sizeof(why)) > 0)
        printf("%s\n", why);
      else
        printf("%s: not a socket\n", o->shown);
      return EXIT_NOT_SOCKET;
    }
    describe_file(o->shown, &st);
  }
  /* Try each kind: the wrong one answers EPROTOTYPE, nobody answers ECONNREFUSED. */
  static const int kinds[] = {UNIXSOCK_STREAM, UNIXSOCK_SEQPACKET, UNIXSOCK_DGRAM};
  int last = 0;
  for (size_t i = 0; i < 3; i++) {
    unixsock *s;
    int r = unixsock_connect(a, alen, kinds[i], 1000, &s);
    if (r == 0) {
      printf("%s: listening (%s)\n", o->shown, unixsock_kind_name(kinds[i]));
      if (kinds[i] != UNIXSOCK_DGRAM) {
        unixsock_peer_info p;
        if (unixsock_peer(s, 0, &p) == 0)
          printf("%s: server pid %d uid %u gid %u\n", o->shown, (int)p.pid, (unsigned)p.uid,
                 (unsigned)p.gid);
      }
      unixsock_close(s);
      return EXIT_OK;
    }
    if (r == -EAGAIN || r == -ETIMEDOUT) {
      printf("%s: listening (%s), backlog full\n", o->shown, unixsock_kind_name(kinds[i]));
      return EXIT_OK;
    }
    if (r == -EACCES || r == -EPERM) {
      printf("%s: permission denied\n", o->shown);
      cli_address_hint("connect", 0, a, r);
      return EXIT_DENIED;
    }
    last = r;
    /* the wrong kind: a path answers EPROTOTYPE; an abstract name is looked up
     * by kind too, so there it is ECONNREFUSED */
    if (r != -EPROTOTYPE && !(r == -ECONNREFUSED && a[0] == '@'))
      break;
  }
  if (last == -ECONNREFUSED && a[0] != '@') {
    printf("%s: stale socket file (nobody answers)\n", o->shown);
    return EXIT_STALE;
  }
  if (last == -ENOENT || last == -ECONNREFUSED) { /* an abstract name nobody holds */
    printf("%s: nothing there\n", o->shown);
    return EXIT_MISSING;
  }
  cli_error("connect", a, last);
  cli_address_hint("connect", 0, a, last);
  return EXIT_FAIL;
}
