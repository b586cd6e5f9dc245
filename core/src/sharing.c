/* One handle, several threads: what keeps calls made at once from spoiling the
 * state a stream's messages keep in the handle (a frame half received, the end of
 * a frame half sent), and a packet's size measured before it is read (message.c);
 * and what fork() does to it.  Bytes keep no state and need none of this. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "internal.h"

/* A waiter wakes at least this often, so that a signal handler that raised
 * (Ctrl-C in Python) ends the wait, as it ends a wait in poll. */
#define SLICE_MS 100

/* fork(): the child has only the thread that forked, so a mutex that another
 * thread held at that instant would stay locked in the child for ever, and a
 * condition variable would count waiters that are not there.  Each fork starts a
 * generation in the child; a handle's mutexes and condition variable are made
 * anew the first time they are used in a generation they were not made in. */
static unsigned long generation; /* __atomic: bumped in the child */
static pthread_mutex_t renewing = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t starting = PTHREAD_ONCE_INIT;

static void forked(void) {
  pthread_mutex_init(&renewing, NULL); /* it may have been held too */
  __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
}

bool unixsock__send_unlock_light;
unsigned long unixsock__send_waits_unwoken;

/* Once, before the first handle: the fork watch, and whether a waiter for the
 * send lock can fence every thread instead of each unlock fencing itself. */
static void start_sharing(void) {
  (void)pthread_atfork(NULL, NULL, forked);
  unixsock__send_unlock_light = unixsock__platform_barrier_register();
}

static int init_locks(unixsock *s) {
  pthread_condattr_t attr;
  if (pthread_condattr_init(&attr) != 0)
    return -ENOMEM;
  int r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* deadlines are monotonic */
  if (r == 0)
    r = pthread_cond_init(&s->send_free, &attr);
  pthread_condattr_destroy(&attr);
  if (r != 0)
    return -r;
  r = pthread_mutex_init(&s->send_mutex, NULL);
  if (r != 0) {
    pthread_cond_destroy(&s->send_free);
    return -r;
  }
  r = pthread_mutex_init(&s->recv_mutex, NULL);
  if (r != 0) {
    pthread_mutex_destroy(&s->send_mutex);
    pthread_cond_destroy(&s->send_free);
    return -r;
  }
  return 0;
}

int unixsock__sharing_init(unixsock *s) {
  (void)pthread_once(&starting, start_sharing);
  s->generation = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
  return init_locks(s);
}

void unixsock__sharing_renew(unixsock *s) {
  unsigned long now = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
  if (__atomic_load_n(&s->generation, __ATOMIC_ACQUIRE) == now)
    return;
  pthread_mutex_lock(&renewing);
  if (__atomic_load_n(&s->generation, __ATOMIC_ACQUIRE) != now) {
    /* made anew, not destroyed: the old ones may be held by a thread that
     * is not in this process */
    __atomic_store_n(&s->send_waiters, 0, __ATOMIC_SEQ_CST);
    (void)init_locks(s); /* glibc: cannot fail without attributes that allocate */
    __atomic_store_n(&s->generation, now, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&renewing);
}

void unixsock__sharing_free(unixsock *s) {
  pthread_mutex_destroy(&s->recv_mutex);
  pthread_mutex_destroy(&s->send_mutex);
  pthread_cond_destroy(&s->send_free);
}

static struct timespec monotonic_in(long long ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

/* The lock is the flag sending, taken by compare-and-swap and let go by a store
 * (and, without membarrier, a fence) when no other thread wants it.  A thread
 * that must wait counts itself in waiters and sleeps on send_free under
 * send_mutex; the thread that lets go signals only when someone waits.  No
 * wake-up is lost: a waiter counts itself, makes sure the count is seen (above)
 * and tries the flag once more while holding the mutex, which the signaller must
 * take, so either its try sees the flag free or the signal finds it asleep. */
int unixsock__send_lock_wait(unixsock *s, long long *deadline) {
  if (unixsock__timeout(s) == 0 || *deadline == UNIXSOCK__NEVER_WAIT)
    return -EAGAIN; /* another thread is writing a frame: try again later */
  if (*deadline == UNIXSOCK__NO_DEADLINE_YET)
    *deadline = unixsock__deadline(unixsock__timeout(s));
  int r = 0;
  unixsock__sharing_renew(s);
  pthread_mutex_lock(&s->send_mutex);
  __atomic_add_fetch(&s->send_waiters, 1, __ATOMIC_SEQ_CST);
  /* A holder letting go without a fence (unixsock__send_unlock) may not see the
   * count yet while this thread does not see the flag free: the barrier on every
   * thread makes sure one of them sees the other.  Should it fail, the waits are
   * short instead, so a wake-up missed costs a millisecond. */
  long long longest = SLICE_MS;
  if (unixsock__send_unlock_light && !unixsock__platform_barrier_all_threads())
    longest = 1;
  while (!unixsock__send_trylock(s)) {
    long long slice = longest;
    if (*deadline >= 0) {
      long long left = *deadline - unixsock__now_ms();
      if (left <= 0) {
        r = -ETIMEDOUT;
        break;
      }
      if (left < slice)
        slice = left;
    }
    struct timespec until = monotonic_in(slice);
    if (pthread_cond_timedwait(&s->send_free, &s->send_mutex, &until) == ETIMEDOUT &&
        !__atomic_load_n(&s->sending, __ATOMIC_SEQ_CST))
      __atomic_add_fetch(&unixsock__send_waits_unwoken, 1, __ATOMIC_RELAXED);
    /* The hook is the caller's code (Python's takes the GIL, which the thread
     * letting go of the lock may hold while it takes this mutex to signal): never
     * run it under the mutex.  A signal sent meanwhile is not lost: the flag is
     * tried again, under the mutex, before the next sleep. */
    pthread_mutex_unlock(&s->send_mutex);
    bool stop = unixsock__interrupted() < 0;
    pthread_mutex_lock(&s->send_mutex);
    if (stop) {
      r = -EINTR;
      break;
    }
  }
  __atomic_sub_fetch(&s->send_waiters, 1, __ATOMIC_SEQ_CST);
  pthread_mutex_unlock(&s->send_mutex);
  return r;
}

void unixsock__send_wake(unixsock *s) {
  unixsock__sharing_renew(s);
  pthread_mutex_lock(&s->send_mutex);
  pthread_cond_signal(&s->send_free);
  pthread_mutex_unlock(&s->send_mutex);
}
