/* The portability seam: every Linux-only call the core makes for endpoints lives
 * here, so a BSD/macOS port replaces this one file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* cppcheck cannot evaluate __has_include, so it checks the fallback only. */
#if defined(__has_include) && !defined(__CPPCHECK__)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNIXSOCK_HAVE_VALGRIND_H 1
#endif
#endif

bool unixsock__platform_under_valgrind(void) {
#ifdef UNIXSOCK_HAVE_VALGRIND_H
  return RUNNING_ON_VALGRIND != 0;
#else
  return false; /* then a receive under valgrind is slower, not different */
#endif
}

long unixsock__platform_sysctl(const char *file, long unset) {
  long v = unset;
  FILE *f = fopen(file, "re");
  if (f != NULL) {
    if (fscanf(f, "%ld", &v) != 1 || v < 0)
      v = unset;
    fclose(f);
  }
  return v;
}

long unixsock__platform_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -1;
  long n = -1; /* the directory's own descriptor */
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

bool unixsock__platform_strict_overcommit(const char *file) {
  return unixsock__platform_sysctl(file, 0) == 2;
}

/* /proc/sys/kernel/overflowuid or overflowgid, read once (65534 where unreadable):
 * what the kernel reports for an id it has not recorded. */
static long overflow_id(const char *file, long *cached) {
  long v = __atomic_load_n(cached, __ATOMIC_RELAXED);
  if (v >= 0)
    return v;
  v = unixsock__platform_sysctl(file, 65534);
  __atomic_store_n(cached, v, __ATOMIC_RELAXED); /* racing readers store the same */
  return v;
}

bool unixsock__platform_creds_unrecorded(pid_t pid, uid_t uid, gid_t gid) {
  static long overflow_uid = -1, overflow_gid = -1;
  return pid == 0 && (long)uid == overflow_id("/proc/sys/kernel/overflowuid", &overflow_uid) &&
         (long)gid == overflow_id("/proc/sys/kernel/overflowgid", &overflow_gid);
}

/* membarrier(2), the "expedited private" kind (Linux 4.14): registered once per
 * process (fork keeps it, exec drops it along with this library's state). */
#ifndef MEMBARRIER_CMD_PRIVATE_EXPEDITED
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED (1 << 3)
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED (1 << 4)
#endif

static bool membarrier(int cmd) {
#ifdef SYS_membarrier
  return syscall(SYS_membarrier, cmd, 0, 0) == 0;
#else
  (void)cmd;
  return false;
#endif
}

bool unixsock__platform_barrier_register(void) {
  return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
}

bool unixsock__platform_barrier_all_threads(void) {
  return membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
}

int unixsock__platform_accept(int fd) {
  int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
  return c < 0 ? -errno : c;
}

int unixsock__platform_peer_ids(int fd, pid_t *ret_pid, uid_t *ret_uid, gid_t *ret_gid) {
  struct ucred cr;
  socklen_t len = sizeof(cr);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
    return -errno;
  *ret_pid = cr.pid;
  *ret_uid = cr.uid;
  *ret_gid = cr.gid;
  return 0;
}

/* Will nothing more arrive?  True when the peer has shut down or gone, or when
 * reading was shut down here.  It tells a seqpacket read of 0 bytes (an empty
 * message, or the end: the kernel offers nothing better) and an accept that finds
 * nothing on a listener whose reading was shut down (no connection ever comes,
 * yet the kernel reports it readable and a non-blocking accept says EAGAIN). */
bool unixsock__platform_read_ended(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLRDHUP, .revents = 0};
  return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP));
}

int unixsock__platform_queued(int fd) {
  int n;
  return ioctl(fd, FIONREAD, &n) == 0 ? n : -errno;
}

int unixsock__platform_set_cloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0)
    return -errno;
  if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
    return -errno;
  return 0;
}

int unixsock__platform_set_nonblock(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0)
    return -errno;
  int want = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (want != flags && fcntl(fd, F_SETFL, want) < 0)
    return -errno;
  return 0;
}

int unixsock__platform_socket_type(int fd, int *ret_type) {
  int domain = 0, type = 0;
  socklen_t len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
    return -errno;
  if (domain != AF_UNIX)
    return -EAFNOSUPPORT;
  len = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
    return -errno;
  *ret_type = type;
  return 0;
}

/* Linux creates the socket file with the socket inode's mode minus the umask, so
 * fchmod() before bind() makes the file no more open than asked from its first
 * instant. */
int unixsock__platform_bind_mode(int fd, int mode) {
  if (fchmod(fd, (mode_t)mode) < 0)
    return -errno;
  return 0;
}

int unixsock__platform_dir_path(int dirfd, const char *base, size_t baselen,
                                char *ret_path, size_t size) {
  int n = snprintf(ret_path, size, "/proc/self/fd/%d/%.*s", dirfd, (int)baselen, base);
  if (n < 0 || (size_t)n >= size)
    return -ENAMETOOLONG;
  return n;
}
