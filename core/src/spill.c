/* Room to read a packet into without knowing its size (message.c): per thread,
 * made on first use, freed when the thread ends.  The spill is 64 KiB of
 * memory; the reserve is address space only (MAP_NORESERVE), which the kernel
 * backs page by page as a packet lands in it, and which is handed back after. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

struct room {
  char *reserve; /* NULL until asked for */
  size_t reserve_len;
  _Alignas(max_align_t) char spill[UNIXSOCK__SPILL_BYTES];
};

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int key_error;
static bool under_valgrind, strict_commit;

bool unixsock__reserve_off;

static void free_room(void *p) {
  struct room *r = p;
  if (r->reserve != NULL)
    munmap(r->reserve, r->reserve_len);
  free(r);
}

static void start(void) {
  key_error = pthread_key_create(&key, free_room);
  /* valgrind checks every byte of a receive buffer before each call: 16 ms
   * for a 16 MiB reserve, where the kernel takes no time for it */
  under_valgrind = unixsock__platform_under_valgrind();
  /* vm.overcommit_memory=2 ignores MAP_NORESERVE and charges the whole reserve
   * (the largest message, 16 MiB by default, a thread) to the commit limit,
   * where it could make other allocations fail: measure there instead */
  strict_commit = unixsock__platform_strict_overcommit("/proc/sys/vm/overcommit_memory");
}

static struct room *this_threads_room(void) {
  if (pthread_once(&once, start) != 0 || key_error != 0)
    return NULL;
  struct room *r = pthread_getspecific(key);
  if (r == NULL) {
    r = malloc(sizeof(*r));
    if (r == NULL)
      return NULL;
    r->reserve = NULL;
    r->reserve_len = 0;
    if (pthread_setspecific(key, r) != 0) {
      free(r);
      return NULL;
    }
  }
  return r;
}

void *unixsock__spill(void) {
  struct room *r = this_threads_room();
  return r != NULL ? r->spill : NULL;
}

void *unixsock__reserve(size_t len) {
  struct room *r = this_threads_room();
  if (r == NULL || under_valgrind || strict_commit || unixsock__reserve_off ||
      len > UNIXSOCK__RESERVE_MAX)
    return NULL;
  if (r->reserve_len < len) { /* none yet, or a socket with a larger maximum */
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
      return NULL; /* address space limited (RLIMIT_AS): measure instead */
    if (r->reserve != NULL)
      munmap(r->reserve, r->reserve_len);
    r->reserve = p;
    r->reserve_len = len;
  }
  return r->reserve;
}

void unixsock__reserve_discard(void *reserve, size_t used) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  /* the pages a packet touched, whole: the reserve is page-aligned */
  (void)madvise(reserve, (used + page - 1) / page * page, MADV_DONTNEED);
}
