#include "check.h"

#include <dirent.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 256

static struct {
  const char *name;
  check_fn fn;
} tests[MAX_TESTS];
static int ntests;
static char tmpdir[256];

void check_register(const char *name, check_fn fn) {
  if (ntests == MAX_TESTS)
    abort();
  tests[ntests].name = name;
  tests[ntests].fn = fn;
  ntests++;
}

void check_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

const char *check_tmpdir(void) {
  return tmpdir;
}

char *check_path(const char *base) {
  static char bufs[8][4096];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, base);
  return b;
}

char *check_abstract(const char *base) {
  static char bufs[8][108];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, sizeof(bufs[0]), "@unixsock-test-%d-%s", (int)getpid(), base);
  return b;
}

int check_count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -1;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n - 1; /* the DIR's own descriptor */
}

int check_as_user(unsigned int uid, int (*fn)(void *), void *arg) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(uid) < 0 || setuid(uid) < 0)
      _exit(99);
    _exit(fn(arg));
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

struct rlimit check_fds_exhaust(void) {
  struct rlimit old, low;
  getrlimit(RLIMIT_NOFILE, &old);
  int lowest = dup(0);
  close(lowest);
  low = old;
  low.rlim_cur = (rlim_t)lowest; /* no free descriptor number left */
  if (setrlimit(RLIMIT_NOFILE, &low) != 0)
    check_fail(__FILE__, __LINE__, "setrlimit(RLIMIT_NOFILE, %d) failed", lowest);
  return old;
}

void check_fds_restore(const struct rlimit *old) {
  setrlimit(RLIMIT_NOFILE, old);
}

static void remove_tree(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
}

static int run_one(int i) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof(tmpdir), "%s/unixsock-c-XXXXXX", base);
    if (mkdtemp(tmpdir) == NULL) {
      perror("mkdtemp");
      _exit(1);
    }
    chmod(tmpdir, 0755); /* tests that drop privileges must reach it */
    alarm(60);           /* a hung test fails instead of hanging CI */
    int before = check_count_fds();
    tests[i].fn();
    int after = check_count_fds();
    remove_tree(tmpdir);
    if (after != before) {
      fprintf(stderr, "leaked %d file descriptor(s)\n", after - before);
      _exit(1);
    }
    _exit(0);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (WIFSIGNALED(status))
    fprintf(stderr, "killed by signal %d\n", WTERMSIG(status));
  printf("%s %s\n", ok ? "ok" : "FAIL", tests[i].name);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (int i = 0; i < ntests; i++)
      printf("%s\n", tests[i].name);
    return 0;
  }
  int failed = 0, ran = 0;
  for (int i = 0; i < ntests; i++) {
    int wanted = argc == 1;
    for (int a = 1; a < argc; a++)
      if (strcmp(argv[a], tests[i].name) == 0)
        wanted = 1;
    if (!wanted)
      continue;
    failed += run_one(i);
    ran++;
  }
  if (ran == 0) {
    fprintf(stderr, "no test matched\n");
    return 2;
  }
  printf("%d passed, %d failed\n", ran - failed, failed);
  return failed ? 1 : 0;
}
