/* What a failed connect's or listen's errno leaves unsaid.  ECONNREFUSED is the
 * kernel's answer for a file that is not a socket, for a socket file nobody
 * listens on, and for an abstract name no socket of this kind holds; EPROTOTYPE
 * for a socket of another kind; EADDRINUSE and EEXIST do not say what holds the
 * address.  A hint looks without connecting (a listener would see a probe's
 * connection, and probe is the command that does that). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* /proc/net/unix's Type column (the kernel's SOCK_*), as unixsock kinds. */
static int kind_of_type(unsigned type) {
  switch (type) {
  case 1: return UNIXSOCK_STREAM;
  case 2: return UNIXSOCK_DGRAM;
  case 5: return UNIXSOCK_SEQPACKET;
  default: return 0;
  }
}

/* Which kinds (a bit per kind) have a socket bound to name as /proc/net/unix
 * shows it ("@x" for an abstract name, the path as given to bind).  0 when none
 * or when it cannot be read. */
static unsigned kinds_bound_to(const char *name) {
  FILE *f = fopen("/proc/net/unix", "re");
  if (f == NULL)
    return 0;
  unsigned kinds = 0;
  char line[512]; /* a bound name is at most 108 bytes */
  while (fgets(line, sizeof(line), f) != NULL) {
    unsigned type;
    int path_at = -1;
    /* Num RefCount Protocol Flags Type St Inode Path */
    if (sscanf(line, "%*s %*s %*s %*s %x %*s %*s %n", &type, &path_at) < 1 || path_at < 0)
      continue;
    char *path = line + path_at;
    path[strcspn(path, "\n")] = '\0';
    if (strcmp(path, name) == 0 && kind_of_type(type) != 0)
      kinds |= 1u << kind_of_type(type);
  }
  fclose(f);
  return kinds;
}

/* The kinds in kinds, as "a dgram socket" or "a stream and a seqpacket socket";
 * *only is the kind when there is one, else 0. */
static const char *say_kinds(unsigned kinds, int *only, char *buf, size_t size) {
  static const int all[] = {UNIXSOCK_STREAM, UNIXSOCK_DGRAM, UNIXSOCK_SEQPACKET};
  size_t n = 0;
  int count = 0;
  for (size_t i = 0; i < 3; i++)
    if (kinds & (1u << all[i])) {
      n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? " and a " : "a ",
                            unixsock_kind_name(all[i]));
      *only = all[i];
      count++;
    }
  snprintf(buf + n, size - n, " socket");
  if (count != 1)
    *only = 0;
  return buf;
}

/* ": try -k dgram" when one kind is there, else "". */
static const char *try_kind(int only, char *buf, size_t size) {
  if (only == 0)
    return "";
  snprintf(buf, size, ": try -k %s", unixsock_kind_name(only));
  return buf;
}

/* kinds_bound_to() for a path, by its absolute name: a relative name in
 * /proc/net/unix was bound from some other directory, and may be another file. */
static unsigned kinds_bound_to_path(const char *path) {
  char full[PATH_MAX];
  unsigned kinds = path[0] == '/' ? kinds_bound_to(path) : 0;
  if (kinds == 0 && realpath(path, full) != NULL && strcmp(full, path) != 0)
    kinds = kinds_bound_to(full);
  return kinds;
}

/* EINVAL for "" says nothing of why (bind alone autobinds; the CLI never does). */
static bool said_empty(const struct cli_options *o, int result) {
  if (result != -EINVAL || o->address[0] != '\0')
    return false;
  fputs("unixsock: an empty address names no socket: give a path, or @name for an abstract one\n",
        stderr);
  return true;
}

char *cli_dangling_target(const char *path) {
  char target[PATH_MAX];
  struct stat st;
  if (lstat(path, &st) < 0 || !S_ISLNK(st.st_mode) || stat(path, &st) == 0)
    return NULL;
  ssize_t n = readlink(path, target, sizeof(target));
  return n >= 0 ? cli_shown(target, (size_t)n) : NULL;
}

void cli_denied_hint(const char *path, int result, bool creating) {
  char why[512];
  if (unixsock_access_error(path, strlen(path), result, creating, why, sizeof(why)) > 0)
    fprintf(stderr, "unixsock: %s\n", why);
}

void cli_connect_hint(const struct cli_options *o, int result) {
  const char *address = o->address, *shown = o->shown;
  int kind = o->kind;
  bool abstract = address[0] == '@';
  struct stat st;
  if (said_empty(o, result))
    return;
  if (result == -EACCES) {
    cli_denied_hint(address, result, false);
    return;
  }
  if (result == -ENOENT && !abstract) {
    char *t = cli_dangling_target(address);
    if (t != NULL)
      fprintf(stderr, "unixsock: %s is a symbolic link to %s, which does not exist\n", shown, t);
    free(t);
    return;
  }
  if (result != -ECONNREFUSED && !(result == -EPROTOTYPE && !abstract))
    return;
  if (!abstract) {
    if (stat(address, &st) < 0)
      return;
    if (!S_ISSOCK(st.st_mode)) {
      fprintf(stderr, "unixsock: %s is %s, not a socket\n", shown, cli_file_type(st.st_mode));
      return;
    }
  }
  const char *want = unixsock_kind_name(kind);
  unsigned kinds = abstract ? kinds_bound_to(address) : kinds_bound_to_path(address);
  unsigned others = kinds & ~(1u << kind);
  char said[64], hint[32];
  int only = 0;
  if (others != 0)
    say_kinds(others, &only, said, sizeof(said));
  if (result == -ECONNREFUSED && (kinds & (1u << kind)))
    fprintf(stderr, "unixsock: the %s socket bound to %s does not listen\n", want, shown);
  else if (abstract && others != 0)
    fprintf(stderr, "unixsock: no %s socket holds %s; %s %s%s\n", want, shown, said,
            only ? "does" : "do", try_kind(only, hint, sizeof(hint)));
  else if (abstract)
    fprintf(stderr, "unixsock: no socket holds %s\n", shown);
  else if (result == -ECONNREFUSED)
    fprintf(stderr, "unixsock: %s is a stale socket file: nobody answers there\n", shown);
  else if (others != 0)
    fprintf(stderr, "unixsock: %s is %s, not a %s one%s\n", shown, said, want,
            try_kind(only, hint, sizeof(hint)));
  else
    fprintf(stderr, "unixsock: %s is a socket of another kind than %s ('unixsock probe' "
            "says which)\n", shown, want);
}

void cli_listen_hint(const struct cli_options *o, int result) {
  const char *address = o->address, *shown = o->shown;
  char said[64];
  int only = 0;
  struct stat st;
  if (said_empty(o, result))
    return;
  if (result == -EACCES) {
    cli_denied_hint(address, result, true);
    return;
  }
  if (result == -EEXIST && address[0] != '@' && lstat(address, &st) == 0 &&
      !S_ISSOCK(st.st_mode)) {
    /* a symbolic link is never followed, even to a socket */
    fprintf(stderr, "unixsock: %s is %s, which listen never replaces\n", shown,
            cli_file_type(st.st_mode));
    return;
  }
  if (result != -EADDRINUSE)
    return;
  unsigned kinds = address[0] == '@' ? kinds_bound_to(address) : kinds_bound_to_path(address);
  if (kinds != 0)
    fprintf(stderr, "unixsock: %s is in use by %s\n", shown,
            say_kinds(kinds, &only, said, sizeof(said)));
}
