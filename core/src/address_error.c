/* unixsock_address_error: what a failed call's errno leaves unsaid about the
 * address it named.  ECONNREFUSED is the kernel's answer for a file that is not
 * a socket, for a socket file nobody holds, for a socket that does not listen,
 * and for an abstract name no socket of this kind holds; EPROTOTYPE for a socket
 * of another kind; EADDRINUSE and EEXIST do not say what holds the address.
 * Everything here looks without connecting: a listener would see a probe's
 * connection.  One place, so that C, Python, Lua and the CLI say the same. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* name (len bytes) as every message shows it: malloc'ed, NULL without memory. */
static char *shown(const char *name, size_t len) {
  char *s = malloc(4 * len + 3);
  if (s != NULL)
    unixsock_address_text(name, len, s, 4 * len + 3);
  return s;
}

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
 * shows it: "@x" for an abstract name (its NULs as '@'), a path as it was given
 * to bind.  0 when none, or when it cannot be read (another network namespace
 * sees other abstract names; the kernel hides nothing else). */
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

/* kinds_bound_to() for a path, also by its absolute name: a relative name in
 * /proc/net/unix was bound from some directory, maybe another one. */
static unsigned kinds_bound_to_path(const char *path) {
  char full[PATH_MAX];
  unsigned kinds = path[0] == '/' ? kinds_bound_to(path) : 0;
  if (kinds == 0 && realpath(path, full) != NULL && strcmp(full, path) != 0)
    kinds = kinds_bound_to(full);
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

/* A path that names no file: a symbolic link that leads nowhere (a server that
 * moved its socket) says where it points; a directory on the way that is
 * missing, or is a file, is named.  0 when neither. */
static size_t say_missing(char *buf, size_t size, const char *path, const char *name) {
  char target[PATH_MAX], part[PATH_MAX];
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && stat(path, &st) < 0) {
    ssize_t n = readlink(path, target, sizeof(target));
    char *to = n >= 0 ? shown(target, (size_t)n) : NULL;
    size_t len = to != NULL ? unixsock__say(buf, size, "%s is a symbolic link to %s, which does not exist", name,
                                  to)
                            : 0;
    free(to);
    return len;
  }
  /* each directory on the way, from the first: the first that is not one */
  size_t plen = strlen(path);
  memcpy(part, path, plen + 1);
  for (char *slash = strchr(part + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
    *slash = '\0';
    int missing = stat(part, &st) < 0 ? errno : 0;
    if (missing == ENOENT || (missing == 0 && !S_ISDIR(st.st_mode))) {
      char *dir = shown(part, strlen(part));
      size_t len = dir == NULL    ? 0
                   : missing != 0 ? unixsock__say(buf, size, "the directory %s does not exist", dir)
                                  : unixsock__say(buf, size, "%s is %s, not a directory", dir, unixsock__file_type(st.st_mode));
      free(dir);
      return len;
    }
    if (missing != 0)
      return 0;
    *slash = '/';
  }
  return 0;
}

/* A connect or send refused (ECONNREFUSED), or a socket of another kind there
 * (EPROTOTYPE, at a path): what is there instead.  *other: the one other kind
 * that holds it, when the text says so. */
static size_t say_refused(char *buf, size_t size, int kind, const char *path, int result,
                          const char *name, int *other) {
  bool abstract = path[0] == '@';
  struct stat st;
  if (!abstract) {
    if (stat(path, &st) < 0)
      return 0;
    if (!S_ISSOCK(st.st_mode))
      return unixsock__say(buf, size, "%s is %s, not a socket", name, unixsock__file_type(st.st_mode));
  }
  if (kind != UNIXSOCK_STREAM && kind != UNIXSOCK_DGRAM && kind != UNIXSOCK_SEQPACKET)
    return 0; /* the rest is said of the kind asked for */
  const char *want = unixsock_kind_name(kind);
  unsigned kinds = abstract ? kinds_bound_to(path) : kinds_bound_to_path(path);
  unsigned others = kinds & ~(1u << kind);
  char said[64];
  int only = 0;
  if (others != 0)
    say_kinds(others, &only, said, sizeof(said));
  if (result == -ECONNREFUSED && (kinds & (1u << kind)))
    /* a dgram socket is there to be sent to: what refused is not this */
    return kind == UNIXSOCK_DGRAM ? 0
                                  : unixsock__say(buf, size, "the %s socket bound to %s does not listen", want, name);
  if (abstract && others == 0)
    return unixsock__say(buf, size, "no socket holds %s", name);
  if (abstract) {
    *other = only;
    return unixsock__say(buf, size, "no %s socket holds %s; %s %s", want, name, said, only ? "does" : "do");
  }
  if (result == -ECONNREFUSED)
    return unixsock__say(buf, size, "%s is a stale socket file: nobody answers there", name);
  if (others == 0)
    return unixsock__say(buf, size, "%s is a socket of another kind than %s", name, want);
  *other = only;
  return unixsock__say(buf, size, "%s is %s, not a %s one", name, said, want);
}

/* A listen or bind refused: what holds the address (EADDRINUSE), or what the
 * file that is not a socket is (EEXIST). */
static size_t say_taken(char *buf, size_t size, const char *op, const char *path, int result,
                        const char *name) {
  struct stat st;
  if (result == -EEXIST && path[0] != '@' && lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
    /* a symbolic link is never followed, even to a socket */
    return unixsock__say(buf, size, "%s is %s, which %s never replaces", name, unixsock__file_type(st.st_mode), op);
  if (result != -EADDRINUSE)
    return 0;
  char said[64];
  int only = 0;
  unsigned kinds = path[0] == '@' ? kinds_bound_to(path) : kinds_bound_to_path(path);
  if (kinds == 0)
    return 0;
  return unixsock__say(buf, size, "%s is in use by %s", name, say_kinds(kinds, &only, said, sizeof(said)));
}

/* ENAMETOOLONG: which limit the name broke.  A path longer than sun_path is
 * reached through its directory ("/proc/self/fd/N/" and the socket file's own
 * name, in sun_path's 107 bytes), so only the own name is bound by it: to 89 to
 * 91 bytes, as N has 3 to 1 digits. */
static size_t say_too_long(char *buf, size_t size, const char *op, const char *name, size_t namelen) {
  const size_t most = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
  if ((strcmp(op, "send_message") == 0 || strcmp(op, "send_batch") == 0) &&
      namelen > UNIXSOCK_ADDRESS_MAX)
    return unixsock__say(buf, size, "a message's address holds at most %d bytes; this one has %zu (sendto takes "
                  "a longer path)", UNIXSOCK_ADDRESS_MAX, namelen);
  if (name[0] == '@')
    return namelen - 1 > most ? unixsock__say(buf, size, "an abstract name holds at most %zu bytes after the @; "
                                       "this one has %zu", most, namelen - 1)
                              : 0;
  if (namelen >= PATH_MAX)
    return unixsock__say(buf, size, "a path holds at most %d bytes; this one has %zu", PATH_MAX - 1, namelen);
  const char *end = name + namelen, *part = name;
  while (part < end) { /* each name on the way, and the file's own */
    const char *slash = memchr(part, '/', (size_t)(end - part));
    size_t len = (size_t)((slash != NULL ? slash : end) - part);
    if (len > NAME_MAX)
      return unixsock__say(buf, size, "a file name holds at most %d bytes; one in this path has %zu", NAME_MAX,
                 len);
    part = slash != NULL ? slash + 1 : end;
  }
  const char *slash = memrchr(name, '/', namelen);
  size_t own = slash != NULL ? namelen - (size_t)(slash + 1 - name) : namelen;
  return own > most - 19 ? unixsock__say(buf, size, "a socket file's own name (after the last /) holds at most "
                                  "about 90 bytes; this one has %zu (the directories before it "
                                  "may be as long as you like)", own)
                         : 0;
}

/* A dgram send that timed out: the receiver's queue stayed full. */
static size_t say_full_receiver(char *buf, size_t size, const char *name) {
  long qlen = unixsock__platform_sysctl("/proc/sys/net/unix/max_dgram_qlen", -1);
  if (qlen < 0)
    return unixsock__say(buf, size, "the dgram socket at %s did not take the datagram in time: it has not read "
                  "those before it", name);
  return unixsock__say(buf, size, "the dgram socket at %s did not take the datagram in time: it has not read "
                "those before it (the kernel queues %ld per receiver: net.unix.max_dgram_qlen)",
             name, qlen);
}

size_t unixsock_address_error(const char *op, int kind, const char *name, size_t namelen,
                              int result, int *other_kind, char *buf, size_t size) {
  int other = 0;
  if (buf == NULL)
    size = 0; /* the length alone */
  if (size > 0)
    buf[0] = '\0';
  if (other_kind != NULL)
    *other_kind = 0;
  if (op == NULL || name == NULL)
    return 0;
  bool creating = strcmp(op, "listen") == 0 || strcmp(op, "bind") == 0;
  if (namelen == 0)
    return result == -EINVAL
               ? unixsock__say(buf, size, "an empty address names no socket: give a path, or @name for an "
                         "abstract one")
               : 0;
  if (result == -EINVAL && name[0] == '\0') /* sun_path's spelling, as Python's socket takes it */
    return unixsock__say(buf, size, "an abstract name is written @name here, not with a leading NUL "
                                    "byte");
  if (result == -EINVAL && name[0] != '@' && memchr(name, '\0', namelen) != NULL)
    return unixsock__say(buf, size, "a path cannot hold a NUL byte (an abstract @name can)");
  if (result != -ENOENT && result != -ENOTDIR && result != -ECONNREFUSED &&
      result != -EPROTOTYPE && result != -EPERM && result != -EADDRINUSE && result != -EEXIST &&
      result != -EACCES && result != -ENAMETOOLONG && result != -ETIMEDOUT &&
      result != -EAGAIN)
    return 0;
  if (result == -EAGAIN && strcmp(op, "connect") != 0)
    return 0; /* the EAGAIN of a full receiver costs nothing here */
  if (result == -EACCES)
    return unixsock_access_error(name, namelen, result, creating, buf, size);
  if (result == -ENAMETOOLONG)
    return say_too_long(buf, size, op, name, namelen);
  bool abstract = name[0] == '@';
  if (namelen >= PATH_MAX || (!abstract && memchr(name, '\0', namelen) != NULL))
    return 0; /* no file has that name */
  char path[PATH_MAX];
  memcpy(path, name, namelen);
  path[namelen] = '\0';
  for (size_t i = 0; abstract && i < namelen; i++)
    if (path[i] == '\0')
      path[i] = '@'; /* as /proc/net/unix shows an abstract name's NULs */
  char *named = shown(name, namelen);
  if (named == NULL)
    return 0;
  size_t len = 0;
  if ((result == -ENOENT || result == -ENOTDIR) && !abstract)
    len = say_missing(buf, size, path, named);
  else if (!creating && (result == -ECONNREFUSED || (result == -EPROTOTYPE && !abstract)))
    len = say_refused(buf, size, kind, path, result, named, &other);
  else if ((result == -ETIMEDOUT || result == -EAGAIN) && strcmp(op, "connect") == 0 &&
           kind != UNIXSOCK_DGRAM)
    /* the kernel makes a connect wait only while the listener's backlog is full */
    len = unixsock__say(buf, size, "the %s socket at %s listens, but did not take the connection in time: its "
                  "backlog of connections waiting for accept is full (its server accepts too "
                  "slowly, or not at all)", unixsock_kind_name(kind), named);
  else if (result == -ETIMEDOUT && kind == UNIXSOCK_DGRAM && strcmp(op, "connect") != 0)
    len = say_full_receiver(buf, size, named);
  else if (!creating && result == -EPERM && kind == UNIXSOCK_DGRAM)
    len = unixsock__say(buf, size, "the dgram socket at %s is connected to another socket, and takes "
                  "datagrams from that one alone", named);
  else if (creating)
    len = say_taken(buf, size, op, path, result, named);
  free(named);
  if (other_kind != NULL)
    *other_kind = other;
  return len;
}
