/* The socket-file rules that protect users' files:
 *  - never delete a file that is not a socket;
 *  - a live server's socket is left alone (EADDRINUSE); a stale one (connect
 *    refused) is replaced;
 *  - the file is never more open than the mode asked for;
 *  - on close, unlink only the inode this listener created. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* The path as a NUL-terminated string, made absolute so that a later chdir() of
 * the process cannot redirect the cleanup to another file. */
static int absolute_path(const char *name, size_t namelen, char **ret) {
  char cwd[PATH_MAX];
  size_t prefix = 0;
  if (name[0] != '/') {
    if (getcwd(cwd, sizeof(cwd)) == NULL)
      return -errno;
    prefix = strlen(cwd) + 1;
  }
  char *p = malloc(prefix + namelen + 1);
  if (p == NULL)
    return -ENOMEM;
  if (prefix) {
    memcpy(p, cwd, prefix - 1);
    p[prefix - 1] = '/';
  }
  memcpy(p + prefix, name, namelen);
  p[prefix + namelen] = '\0';
  *ret = p;
  return 0;
}

/* Is a server answering on this socket file?  0 = stale (connect refused),
 * -EADDRINUSE = live, other -errno = could not tell. */
static int probe_stale(int kind, const struct unixsock__addr *a) {
  int fd = unixsock__socket(kind);
  if (fd < 0)
    return fd;
  int r = unixsock__platform_set_nonblock(fd, true);
  if (r == 0) {
    do {
      r = connect(fd, (const struct sockaddr *)&a->sa, a->len) == 0 ? 0 : -errno;
    } while (r == -EINTR);
  }
  close(fd);
  switch (r) {
  case -ECONNREFUSED:
    return 0;
  case 0:
  case -EAGAIN:      /* live, backlog full */
  case -EINPROGRESS:
  case -EPROTOTYPE:  /* live, another kind */
    return -EADDRINUSE;
  default:
    return r;
  }
}

/* bind() found something at the path.  Remove it only if it is a stale socket,
 * and only if it is still the same inode that was probed. */
static int reclaim(int kind, const char *path, const struct unixsock__addr *a) {
  struct stat before, now;
  if (lstat(path, &before) < 0)
    return errno == ENOENT ? 0 : -errno; /* gone already: bind again */
  if (!S_ISSOCK(before.st_mode))
    return -EEXIST; /* regular file, directory, fifo, symlink: untouched */
  int r = probe_stale(kind, a);
  if (r < 0)
    return r;
  if (lstat(path, &now) < 0)
    return errno == ENOENT ? 0 : -errno;
  if (now.st_dev != before.st_dev || now.st_ino != before.st_ino)
    return -EADDRINUSE; /* replaced while we looked: someone else owns it now */
  if (unlink(path) < 0 && errno != ENOENT)
    return -errno;
  return 0;
}

static int apply_mode_and_owner(const char *path, const struct stat *st,
                                const unixsock_options *opts) {
  if (opts == NULL)
    return 0;
  /* The umask may have made the file stricter than asked; open it up to exactly
   * the mode (never further). */
  if (opts->mode >= 0 && (int)(st->st_mode & 07777) != opts->mode &&
      fchmodat(AT_FDCWD, path, (mode_t)opts->mode, 0) < 0)
    return -errno;
  if ((opts->uid >= 0 || opts->gid >= 0) &&
      fchownat(AT_FDCWD, path, (uid_t)opts->uid, (gid_t)opts->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return -errno;
  return 0;
}

static int listen_now(unixsock *s, int backlog) {
  return backlog < 0 || listen(s->fd, backlog) == 0 ? 0 : -errno;
}

/* Listeners starting at once in one directory take turns: otherwise one can
 * find another's new socket in the instant between its bind and its listen
 * (connect refused, so "stale") and delete it, leaving a live server nobody can
 * reach.  The turn is an flock of the directory, held from the first bind to the
 * listen.  One held by someone else for long (flock(1) on the directory) is
 * waited for LOCK_WAIT_MS at most, then done without, as is a directory that
 * cannot be opened for reading: the lock only orders unixsock's own listeners.
 * Returns the fd to close when done, or -1. */
#define LOCK_WAIT_MS 1000
static int take_turn(const char *path) {
  int fd = unixsock__open_parent_dir(path, strlen(path), O_RDONLY); /* flock needs read */
  if (fd < 0)
    return -1;
  for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited++) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= LOCK_WAIT_MS) {
      close(fd);
      return -1;
    }
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  return fd;
}

int unixsock__bind_file(unixsock *s, const char *name, size_t namelen,
                        const unixsock_options *opts, int backlog) {
  struct unixsock__addr a;
  char *path = NULL;
  int r = unixsock__addr_parse(name, namelen, true, &a);
  if (r < 0)
    return r;
  int turn = -1;
  if (!a.is_path) { /* abstract or autobind: no file to look after */
    r = bind(s->fd, (const struct sockaddr *)&a.sa, a.len) == 0 ? 0 : -errno;
    if (r == 0)
      r = listen_now(s, backlog);
    if (r == 0)
      r = unixsock__set_name(s, name, namelen);
    goto out;
  }
  r = absolute_path(name, namelen, &path);
  if (r < 0)
    goto out;
  turn = take_turn(path);
  if (opts != NULL && opts->mode >= 0) {
    r = unixsock__platform_bind_mode(s->fd, opts->mode);
    if (r < 0)
      goto out;
  }
  for (int attempt = 0;; attempt++) {
    if (bind(s->fd, (const struct sockaddr *)&a.sa, a.len) == 0)
      break;
    r = -errno;
    if (r != -EADDRINUSE || attempt == 3)
      goto out;
    r = reclaim(s->kind, path, &a);
    if (r < 0)
      goto out;
  }
  struct stat st;
  if (lstat(path, &st) < 0) {
    r = -errno;
    goto out;
  }
  s->path = path;
  path = NULL;
  s->dev = st.st_dev;
  s->ino = st.st_ino;
  s->owner_pid = getpid();
  s->flags |= UNIXSOCK__OWNS_FILE; /* from here on, close() cleans up */
  r = apply_mode_and_owner(s->path, &st, opts);
  if (r == 0)
    r = listen_now(s, backlog); /* live only once its mode and owner are right */
  if (r == 0)
    r = unixsock__set_name(s, name, namelen);
out:
  if (turn >= 0)
    close(turn); /* the next listener's turn */
  free(path);
  unixsock__addr_release(&a);
  return r;
}

void unixsock__unlink_file(unixsock *s) {
  struct stat st;
  if (s->path == NULL)
    return;
  /* A forked child closing its copy must not remove the parent's file. */
  if (s->owner_pid == getpid() && lstat(s->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == s->dev &&
      st.st_ino == s->ino)
    (void)unlink(s->path); /* best effort: a read-only directory keeps the file */
  s->flags &= ~(unsigned int)UNIXSOCK__OWNS_FILE;
}
