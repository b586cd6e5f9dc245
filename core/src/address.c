/* Address strings <-> struct sockaddr_un. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)

static void addr_init(struct unixsock__addr *a) {
  memset(&a->sa, 0, sizeof(a->sa));
  a->sa.sun_family = AF_UNIX;
  a->len = (socklen_t)offsetof(struct sockaddr_un, sun_path);
  a->dirfd = -1;
  a->is_path = false;
}

/* A path too long for sun_path: open its directory and name it through
 * /proc/self/fd, so no chdir() of the whole process is needed. */
int unixsock__open_parent_dir(const char *path, size_t len, int flags) {
  const char *slash = memrchr(path, '/', len);
  if (slash == NULL)
    return -EINVAL;
  size_t dirlen = slash == path ? 1 : (size_t)(slash - path); /* "/name": "/" */
  char *dir = malloc(dirlen + 1);
  if (dir == NULL)
    return -ENOMEM;
  memcpy(dir, path, dirlen);
  dir[dirlen] = '\0';
  int fd = open(dir, flags | O_DIRECTORY | O_CLOEXEC);
  int saved = errno;
  free(dir);
  return fd < 0 ? -saved : fd;
}

static int parse_long_path(const char *name, size_t namelen, struct unixsock__addr *a) {
  const char *slash = memrchr(name, '/', namelen);
  if (slash == NULL || slash == name + namelen - 1)
    return -ENAMETOOLONG;
  int dirfd = unixsock__open_parent_dir(name, namelen, O_PATH);
  if (dirfd < 0)
    return dirfd;
  const char *base = slash + 1;
  size_t baselen = namelen - (size_t)(base - name);
  int r = unixsock__platform_dir_path(dirfd, base, baselen, a->sa.sun_path, SUN_PATH_SIZE);
  if (r < 0) {
    close(dirfd);
    return r;
  }
  a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)r + 1);
  a->dirfd = dirfd;
  a->is_path = true;
  return 0;
}

int unixsock__addr_parse(const char *name, size_t namelen, bool allow_long,
                         struct unixsock__addr *ret_addr) {
  struct unixsock__addr a;
  addr_init(&a);
  if (namelen == 0) { /* autobind */
    *ret_addr = a;
    return 0;
  }
  if (name == NULL)
    return -EINVAL;
  if (name[0] == '@') {
    size_t n = namelen - 1; /* "@" alone is the empty abstract name: Linux has one */
    if (n + 1 > SUN_PATH_SIZE)
      return -ENAMETOOLONG;
    a.sa.sun_path[0] = '\0';
    memcpy(a.sa.sun_path + 1, name + 1, n);
    a.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    *ret_addr = a;
    return 0;
  }
  if (memchr(name, '\0', namelen) != NULL)
    return -EINVAL; /* a path cannot hold a NUL byte */
  if (namelen < SUN_PATH_SIZE) {
    memcpy(a.sa.sun_path, name, namelen);
    a.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + namelen + 1);
    a.is_path = true;
    *ret_addr = a;
    return 0;
  }
  if (!allow_long)
    return -ENAMETOOLONG;
  int r = parse_long_path(name, namelen, &a);
  if (r < 0)
    return r;
  *ret_addr = a;
  return 0;
}

void unixsock__addr_release(struct unixsock__addr *addr) {
  if (addr->dirfd >= 0) {
    close(addr->dirfd);
    addr->dirfd = -1;
  }
}

bool unixsock__addr_is_long_path(const char *name, size_t namelen) {
  return namelen >= SUN_PATH_SIZE && name[0] != '@';
}

int unixsock__addr_format(const struct sockaddr_un *sa, socklen_t salen, char *ret_name,
                          size_t *io_namelen) {
  size_t off = offsetof(struct sockaddr_un, sun_path);
  if (salen <= off || sa->sun_family != AF_UNIX)
    return unixsock__name_copy("", 0, ret_name, io_namelen); /* unnamed */
  size_t n = (size_t)salen - off;
  if (n > SUN_PATH_SIZE)
    n = SUN_PATH_SIZE;
  if (sa->sun_path[0] == '\0') { /* abstract: '@' + exact bytes */
    char buf[UNIXSOCK_ADDRESS_MAX];
    buf[0] = '@';
    memcpy(buf + 1, sa->sun_path + 1, n - 1);
    return unixsock__name_copy(buf, n, ret_name, io_namelen);
  }
  size_t len = strnlen(sa->sun_path, n);
  return unixsock__name_copy(sa->sun_path, len, ret_name, io_namelen);
}
