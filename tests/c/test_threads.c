/* One handle used by several threads at once, as Python does when a blocking
 * call releases the GIL: a release never frees what another thread's call is
 * using, a frame is received by one thread at a time, and frames sent by two
 * threads never interleave; a poller is waited on while another thread changes
 * it. */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "../../core/src/internal.h"

static void raw_pair(unixsock **ret, int *ret_raw) {
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  CHECK_OK(unixsock_adopt(sv[0], ret));
  *ret_raw = sv[1];
}

static void header(unsigned char *h, unsigned len) {
  memset(h, 0, 8);
  h[0] = (unsigned char)(len >> 24);
  h[1] = (unsigned char)(len >> 16);
  h[2] = (unsigned char)(len >> 8);
  h[3] = (unsigned char)len;
  h[6] = 'U';
  h[7] = 'S';
}

struct reader {
  unixsock *s;
  int r;
  unixsock_message m;
  pid_t tid;
};

static void *receive_one(void *arg) {
  struct reader *rd = arg;
  __atomic_store_n(&rd->tid, gettid(), __ATOMIC_RELEASE);
  rd->r = unixsock_recv_message(rd->s, &rd->m);
  return NULL;
}

/* Wait until the thread whose id *tid_of holds (the thread stores it itself, so
 * 0 until it runs) sleeps in the kernel (state S in /proc), at most 10 s. */
static void wait_asleep(const pid_t *tid_of) {
  for (int i = 0; i < 10000; i++) {
    pid_t tid = __atomic_load_n(tid_of, __ATOMIC_ACQUIRE);
    if (tid != 0) {
      char path[64], stat[256] = {0};
      snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
      FILE *f = fopen(path, "r");
      if (f != NULL) {
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        const char *paren = n > 0 ? strrchr(stat, ')') : NULL;
        if (paren != NULL && paren[1] == ' ' && paren[2] == 'S')
          return;
      }
    }
    usleep(1000);
  }
  CHECK(!"the reader never went to sleep");
}

/* Python's close() from another thread: the reader's recv is still in the kernel
 * (which keeps the file until it returns) and goes on into the frame state; the
 * release used to free that state under it (a double free when the message came). */
TEST(test_a_release_never_frees_what_another_threads_receive_uses) {
  unixsock *a;
  int raw;
  raw_pair(&a, &raw);
  unsigned char wire[8 + 5];
  header(wire, 5);
  memcpy(wire + 8, "hello", 5);
  CHECK(write(raw, wire, 10) == 10); /* the header and "he" */
  struct reader rd = {.s = a};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, receive_one, &rd) == 0);
  wait_asleep(&rd.tid);
  int queued = -1;
  CHECK(ioctl(unixsock_fd(a), FIONREAD, &queued) == 0 && queued == 0); /* inside the payload */
  CHECK_OK(unixsock_release(a, UNIXSOCK_RELEASE_CLOSE));
  CHECK(write(raw, wire + 10, 3) == 3);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK_EQ(rd.r, 1);
  CHECK(rd.m.len == 5 && memcmp(rd.m.data, "hello", 5) == 0);
  unixsock_message_release(&rd.m);
  unixsock_message m = {0};
  CHECK_ERR(unixsock_recv_message(a, &m), EBADF);
  char buf[4];
  CHECK_ERR(unixsock_recv(a, buf, sizeof(buf)), EBADF);
  unixsock_close(a);
  close(raw);
}

/* A second thread's recv_message would read the same frame state: EBUSY, and so
 * are a plain read (it would take the frame's bytes) and detach. */
TEST(test_a_second_thread_receiving_a_message_on_a_stream_is_ebusy) {
  unixsock *a;
  int raw;
  raw_pair(&a, &raw);
  struct reader rd = {.s = a};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, receive_one, &rd) == 0);
  wait_asleep(&rd.tid);
  unixsock_message m = {0};
  CHECK_ERR(unixsock_recv_message(a, &m), EBUSY);
  char slot[16];
  unixsock_message batch[1] = {{0}};
  batch[0].data = slot;
  batch[0].len = sizeof(slot);
  CHECK_ERR(unixsock_recv_batch(a, batch, 1), EBUSY);
  char buf[4];
  CHECK_ERR(unixsock_try_recv(a, buf, sizeof(buf)), EBUSY);
  CHECK_ERR(unixsock_detach(a), EBUSY);
  unsigned char wire[8 + 2];
  header(wire, 2);
  memcpy(wire + 8, "ok", 2);
  CHECK(write(raw, wire, sizeof(wire)) == (ssize_t)sizeof(wire));
  CHECK(pthread_join(t, NULL) == 0);
  CHECK_EQ(rd.r, 1);
  CHECK(rd.m.len == 2 && memcmp(rd.m.data, "ok", 2) == 0);
  unixsock_message_release(&rd.m);
  CHECK_ERR(unixsock_try_recv(a, buf, sizeof(buf)), EAGAIN); /* free again */
  unixsock_close(a);
  close(raw);
}

enum { BIG = 300000, EACH = 20 };

struct sender {
  unixsock *s;
  char fill;
  int failed;
};

static void *send_many(void *arg) {
  struct sender *sd = arg;
  char *data = malloc(BIG);
  memset(data, sd->fill, BIG);
  for (int i = 0; i < EACH; i++) {
    unixsock_message m = {0};
    m.data = data;
    m.len = BIG;
    if (unixsock_send_message(sd->s, &m) != BIG)
      sd->failed++;
  }
  free(data);
  return NULL;
}

/* A frame larger than the socket buffer goes out in many writes; another
 * thread's frame used to land between them, and the reader saw EBADMSG or a
 * payload of both. */
TEST(test_frames_sent_from_two_threads_never_interleave) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_OK(unixsock_set_max_message(b, BIG));
  struct sender one = {.s = a, .fill = 'A'}, two = {.s = a, .fill = 'B'};
  pthread_t t1, t2;
  CHECK(pthread_create(&t1, NULL, send_many, &one) == 0);
  CHECK(pthread_create(&t2, NULL, send_many, &two) == 0);
  int seen['B' + 1] = {0};
  for (int i = 0; i < 2 * EACH; i++) {
    unixsock_message m = {0};
    CHECK_EQ(unixsock_recv_message(b, &m), 1);
    CHECK_EQ(m.len, BIG);
    const char *p = m.data;
    CHECK(p[0] == 'A' || p[0] == 'B');
    for (size_t k = 0; k < m.len; k++)
      if (p[k] != p[0])
        CHECK(!"a frame holds bytes of two senders");
    seen[(int)p[0]]++;
    unixsock_message_release(&m);
  }
  CHECK(pthread_join(t1, NULL) == 0 && pthread_join(t2, NULL) == 0);
  CHECK(one.failed == 0 && two.failed == 0);
  CHECK(seen['A'] == EACH && seen['B'] == EACH);
  unixsock_close(a);
  unixsock_close(b);
}

struct batcher {
  unixsock *s;
  int want, got;
};

static void *receive_batches(void *arg) {
  struct batcher *bt = arg;
  while (bt->got < bt->want) {
    char slots[64][4];
    unixsock_message ms[64];
    memset(ms, 0, sizeof(ms));
    for (int i = 0; i < 64; i++) {
      ms[i].data = slots[i];
      ms[i].len = sizeof(slots[i]);
    }
    int r = unixsock_recv_batch(bt->s, ms, 64);
    if (r <= 0)
      break;
    for (int i = 0; i < r; i++)
      unixsock_message_release(&ms[i]);
    __atomic_add_fetch(&bt->got, r, __ATOMIC_RELEASE);
  }
  return NULL;
}

/* The two pairs whose batches read one message at a time: stream frames, and a
 * dgram endpoint with an allow-list (each datagram judged before it takes a slot). */
static void batch_pair(int round, unixsock **ret_rx, unixsock **ret_tx) {
  if (round % 2 == 0) {
    CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, ret_rx, ret_tx));
    return;
  }
  char addr[64];
  snprintf(addr, sizeof(addr), "@unixsock-test-threads-%d-%d", (int)getpid(), round);
  uid_t me = getuid();
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  o.allow_uids = &me;
  o.allow_uids_count = 1;
  CHECK_OK(unixsock_bind(addr, strlen(addr), UNIXSOCK_DGRAM, &o, ret_rx));
  CHECK_OK(unixsock_connect(addr, strlen(addr), UNIXSOCK_DGRAM, 1000, ret_tx));
}

/* Queue what b can send without waiting, let a thread take it all in batches on
 * a, and count how often the timeout read meanwhile was not a's own (-1). */
static long timeout_changes_during_batches(unixsock *a, unixsock *b) {
  unixsock_settimeout(a, -1);
  unixsock_settimeout(b, 0);
  int n = 0;
  for (; n < 3000; n++) {
    unixsock_message m = {0};
    m.data = "x";
    m.len = 1;
    if (unixsock_send_message(b, &m) != 1)
      break; /* the queue is full */
  }
  CHECK(n >= 10);
  struct batcher bt = {.s = a, .want = n};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, receive_batches, &bt) == 0);
  long changed = 0;
  while (__atomic_load_n(&bt.got, __ATOMIC_ACQUIRE) < n) {
    if (unixsock_gettimeout(a) != -1)
      changed++;
    sched_yield(); /* under valgrind, threads take turns: let the batch run */
  }
  CHECK(pthread_join(t, NULL) == 0);
  CHECK_EQ(bt.got, n);
  return changed;
}

/* A batch waits for its first message only; it used to say so by setting the
 * socket's timeout to 0 for the rest, which every other thread's call on the
 * socket then saw (a blocking send could come back EAGAIN). */
TEST(test_a_batch_never_changes_the_timeout_other_threads_see) {
  for (int round = 0; round < 4; round++) { /* a race: tried many times */
    unixsock *a, *b;
    batch_pair(round, &a, &b);
    /* a dgram queue holds max_dgram_qlen (10) from an unconnected sender */
    int fills = round % 2 == 0 ? 3 : 300;
    for (int i = 0; i < fills; i++)
      CHECK_EQ(timeout_changes_during_batches(a, b), 0);
    unixsock_close(a);
    unixsock_close(b);
  }
}

struct big_sender {
  unixsock *s;
  size_t len;
  ssize_t r;
  pid_t tid;
};

static void *send_big(void *arg) {
  struct big_sender *bs = arg;
  __atomic_store_n(&bs->tid, gettid(), __ATOMIC_RELEASE);
  char *data = malloc(bs->len);
  memset(data, 'A', bs->len);
  unixsock_message m = {0};
  m.data = data;
  m.len = bs->len;
  bs->r = unixsock_send_message(bs->s, &m);
  free(data);
  return NULL;
}

/* A stream pair whose a end has a thread (*t) sending a 4 MiB frame, which fills
 * the socket and waits for room (so holds the send lock) when this returns. */
static void start_big_frame(unixsock **a, unixsock **b, struct big_sender *bs, pthread_t *t) {
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, a, b));
  CHECK_OK(unixsock_set_max_message(*b, 8 << 20));
  *bs = (struct big_sender){.s = *a, .len = 4 << 20};
  CHECK(pthread_create(t, NULL, send_big, bs) == 0);
  wait_asleep(&bs->tid);
}

/* The big frame arrived whole: no other bytes inside it. */
static void check_big_frame(const unixsock_message *m) {
  CHECK_EQ(m->len, 4 << 20);
  for (size_t i = 0; i < m->len; i++)
    if (((const char *)m->data)[i] != 'A')
      CHECK(!"other bytes inside the big frame");
}

struct drainer {
  unixsock *s;
  pid_t waiter; /* starts draining once this thread is asleep */
  unixsock_message m[2];
  int r[2];
};

static void *drain_two(void *arg) {
  struct drainer *d = arg;
  wait_asleep(&d->waiter);
  for (int i = 0; i < 2; i++)
    d->r[i] = unixsock_recv_message(d->s, &d->m[i]);
  return NULL;
}

/* While one thread's frame waits for room, another thread's send_message waits
 * for it only as long as its timeout allows, and writes nothing meanwhile: with
 * timeout 0 EAGAIN at once, with a timeout ETIMEDOUT.  Given time, it goes after
 * the first frame ends; it used to be written into the middle of it as soon as
 * the reader made room. */
TEST(test_a_send_waits_for_another_threads_frame_as_its_timeout_allows) {
  unixsock *a, *b;
  struct big_sender bs;
  pthread_t t;
  start_big_frame(&a, &b, &bs, &t);
  unixsock_message small = {0};
  small.data = "zz";
  small.len = 2;
  CHECK_OK(unixsock_settimeout(a, 0));
  CHECK_ERR(unixsock_send_message(a, &small), EAGAIN);
  CHECK_OK(unixsock_settimeout(a, 100));
  CHECK_ERR(unixsock_send_message(a, &small), ETIMEDOUT);
  struct drainer d = {.s = b, .waiter = gettid()};
  pthread_t td;
  CHECK(pthread_create(&td, NULL, drain_two, &d) == 0);
  CHECK_OK(unixsock_settimeout(a, 10000));
  CHECK_EQ(unixsock_send_message(a, &small), 2); /* waits, then goes after it */
  CHECK(pthread_join(t, NULL) == 0 && pthread_join(td, NULL) == 0);
  CHECK_EQ(bs.r, 4 << 20);
  CHECK(d.r[0] == 1 && d.r[1] == 1);
  check_big_frame(&d.m[0]);
  CHECK(d.m[1].len == 2 && memcmp(d.m[1].data, "zz", 2) == 0);
  unixsock_message_release(&d.m[0]);
  unixsock_message_release(&d.m[1]);
  unixsock_close(a);
  unixsock_close(b);
}

/* shutdown is how another thread stops a sender blocked inside a frame: it must
 * not wait for that sender's lock (it would wait for ever: the peer reads nothing). */
TEST(test_shutdown_stops_another_thread_blocked_inside_a_frame) {
  unixsock *a, *b;
  struct big_sender bs;
  pthread_t t;
  start_big_frame(&a, &b, &bs, &t);
  CHECK_OK(unixsock_shutdown(a, UNIXSOCK_SHUT_WR));
  CHECK(pthread_join(t, NULL) == 0);
  CHECK_EQ(bs.r, -EPIPE);
  unixsock_close(a);
  unixsock_close(b);
}

struct plain_drainer {
  unixsock *s;
  pid_t waiter; /* starts draining once this thread is asleep */
  unixsock_message m;
  int r;
  char after[3];
  ssize_t n;
};

static void *drain_frame_then_bytes(void *arg) {
  struct plain_drainer *d = arg;
  wait_asleep(&d->waiter);
  d->r = unixsock_recv_message(d->s, &d->m);
  d->n = unixsock_recv(d->s, d->after, sizeof(d->after));
  return NULL;
}

/* A plain send is a write on the stream like a frame's, so it too waits for
 * another thread's frame to end: it used to land inside it, and the reader got a
 * message with those bytes in it, and the stream out of step after. */
TEST(test_a_plain_send_waits_for_another_threads_frame_as_its_timeout_allows) {
  unixsock *a, *b;
  struct big_sender bs;
  pthread_t t;
  start_big_frame(&a, &b, &bs, &t);
  CHECK_OK(unixsock_settimeout(a, 0));
  CHECK_ERR(unixsock_send(a, "zz", 2), EAGAIN);
  CHECK_ERR(unixsock_try_send(a, "zz", 2), EAGAIN);
  CHECK_OK(unixsock_settimeout(a, 100));
  CHECK_ERR(unixsock_send(a, "zz", 2), ETIMEDOUT);
  struct plain_drainer d = {.s = b, .waiter = gettid()};
  pthread_t td;
  CHECK(pthread_create(&td, NULL, drain_frame_then_bytes, &d) == 0);
  CHECK_OK(unixsock_settimeout(a, 10000));
  CHECK_EQ(unixsock_send(a, "zz", 2), 2); /* waits, then goes after it */
  CHECK(pthread_join(t, NULL) == 0 && pthread_join(td, NULL) == 0);
  CHECK_EQ(bs.r, 4 << 20);
  CHECK_EQ(d.r, 1);
  check_big_frame(&d.m);
  CHECK(d.n == 2 && memcmp(d.after, "zz", 2) == 0);
  unixsock_message_release(&d.m);
  unixsock_close(a);
  unixsock_close(b);
}

enum { PLAIN = 2 << 20 };

struct plain_sender {
  unixsock *s;
  char fill;
  ssize_t r;
};

static void *send_plain(void *arg) {
  struct plain_sender *ps = arg;
  char *data = malloc(PLAIN);
  memset(data, ps->fill, PLAIN);
  ps->r = unixsock_send(ps->s, data, PLAIN);
  free(data);
  return NULL;
}

/* Two threads' sends larger than the socket buffer: each one's bytes arrive
 * together.  They used to alternate, piece by piece, as the reader made room. */
TEST(test_plain_sends_from_two_threads_never_interleave) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  struct plain_sender one = {.s = a, .fill = 'A'}, two = {.s = a, .fill = 'B'};
  pthread_t t1, t2;
  CHECK(pthread_create(&t1, NULL, send_plain, &one) == 0);
  CHECK(pthread_create(&t2, NULL, send_plain, &two) == 0);
  char *got = malloc(2 * PLAIN);
  size_t have = 0;
  while (have < 2 * PLAIN) {
    ssize_t n = unixsock_recv(b, got + have, 2 * PLAIN - have);
    CHECK(n > 0);
    have += (size_t)n;
  }
  CHECK(pthread_join(t1, NULL) == 0 && pthread_join(t2, NULL) == 0);
  CHECK(one.r == PLAIN && two.r == PLAIN);
  size_t runs = 1;
  for (size_t i = 1; i < have; i++)
    runs += got[i] != got[i - 1];
  CHECK_EQ(runs, 2);
  free(got);
  unixsock_close(a);
  unixsock_close(b);
}

enum { SMALL_SENDS = 20000 };

struct small_sender {
  unixsock *s;
  int sent; /* sends that took their 8 bytes */
};

static void *send_small_many(void *arg) {
  struct small_sender *ss = arg;
  for (int i = 0; i < SMALL_SENDS; i++)
    ss->sent += unixsock_send(ss->s, "12345678", 8) == 8;
  return NULL;
}

/* Three threads sending at once on one stream; every byte arrives. */
static void contend_for_the_send_lock(void) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  enum { SENDERS = 3 };
  struct small_sender ss[SENDERS];
  pthread_t t[SENDERS];
  for (int i = 0; i < SENDERS; i++) {
    ss[i] = (struct small_sender){.s = a};
    CHECK(pthread_create(&t[i], NULL, send_small_many, &ss[i]) == 0);
  }
  static char got[1 << 16];
  size_t have = 0, want = (size_t)SENDERS * SMALL_SENDS * 8;
  while (have < want) {
    ssize_t n = unixsock_recv(b, got, sizeof(got));
    CHECK(n > 0);
    have += (size_t)n;
  }
  for (int i = 0; i < SENDERS; i++) {
    CHECK(pthread_join(t[i], NULL) == 0);
    CHECK_EQ(ss[i].sent, SMALL_SENDS);
  }
  CHECK_EQ(have, want);
  unixsock_close(a);
  unixsock_close(b);
}

/* Letting go of the send lock is a store and a load without a fence where a
 * thread coming to wait can run a barrier on every thread (membarrier), and
 * fenced where it cannot (sharing.c): either way no waiter sleeps through the
 * lock being let go. */
TEST(test_threads_waiting_for_the_send_lock_are_woken_every_time) {
  bool light = unixsock__send_unlock_light; /* no other thread runs here */
  unsigned long unwoken = __atomic_load_n(&unixsock__send_waits_unwoken, __ATOMIC_RELAXED);
  contend_for_the_send_lock();
  unixsock__send_unlock_light = !light;
  contend_for_the_send_lock();
  unixsock__send_unlock_light = light;
  CHECK_EQ(__atomic_load_n(&unixsock__send_waits_unwoken, __ATOMIC_RELAXED) - unwoken, 0);
}

/* Stands for Python's GIL: the interrupt hook takes it, and the thread whose
 * frame goes first holds it until its send returns. */
static pthread_mutex_t interpreter_lock = PTHREAD_MUTEX_INITIALIZER;

static int hook_takes_the_interpreter_lock(void *arg) {
  (void)arg;
  pthread_mutex_lock(&interpreter_lock);
  pthread_mutex_unlock(&interpreter_lock);
  return 0;
}

static void *send_big_holding_the_interpreter_lock(void *arg) {
  pthread_mutex_lock(&interpreter_lock);
  send_big(arg);
  pthread_mutex_unlock(&interpreter_lock);
  return NULL;
}

static void *send_small_message(void *arg) {
  struct big_sender *bs = arg;
  unixsock_message m = {0};
  m.data = "zz";
  m.len = 2;
  bs->r = unixsock_send_message(bs->s, &m);
  return NULL;
}

/* A thread waiting for the send lock ran the interrupt hook with the lock's mutex
 * held; the hook waited for the interpreter lock, whose holder, done with its
 * frame, waited for that mutex to say so: both for ever (Python: two threads
 * sending on one stream). */
TEST(test_the_interrupt_hook_never_runs_under_the_send_locks_mutex) {
  unixsock *a, *b;
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &a, &b));
  CHECK_OK(unixsock_set_max_message(b, 8 << 20));
  CHECK_OK(unixsock_settimeout(a, 10000));
  CHECK_OK(unixsock_settimeout(b, 10000));
  unixsock_set_interrupt_hook(hook_takes_the_interpreter_lock, NULL);
  alarm(20); /* a deadlock fails the test instead of hanging it */
  struct big_sender big = {.s = a, .len = 4 << 20}, small = {.s = a};
  pthread_t tb, ts;
  CHECK(pthread_create(&tb, NULL, send_big_holding_the_interpreter_lock, &big) == 0);
  wait_asleep(&big.tid); /* the big frame waits for room, the lock held */
  CHECK(pthread_create(&ts, NULL, send_small_message, &small) == 0);
  usleep(300000); /* the small one waits for the send lock, then for the hook */
  unixsock_message m[2] = {{0}, {0}};
  CHECK_EQ(unixsock_recv_message(b, &m[0]), 1);
  CHECK_EQ(unixsock_recv_message(b, &m[1]), 1);
  CHECK(pthread_join(tb, NULL) == 0 && pthread_join(ts, NULL) == 0);
  alarm(0);
  unixsock_set_interrupt_hook(NULL, NULL);
  CHECK(big.r == 4 << 20 && small.r == 2);
  check_big_frame(&m[0]);
  CHECK_EQ(m[1].len, 2);
  unixsock_message_release(&m[0]);
  unixsock_message_release(&m[1]);
  unixsock_close(a);
  unixsock_close(b);
}

/* Threads that receive messages from one socket at once each get whole ones:
 * recv_message measured the next packet, then read it, and two threads that
 * measured the same short one both read, the second cutting the long one behind
 * it (EMSGSIZE, and it was lost: about 3% of them).  Packets are now read at
 * once with no lock, but measured (under the lock) after a long one, and always
 * with the reserve off (as under valgrind): tried every way, with long messages
 * past the spill too, which have threads read at once and measure at the same
 * time. */
enum { SHARED_PAIRS = 5000, SHORT_LEN = 10, LONG_LEN_MAX = 200000 };
static size_t long_len;

struct shared_reader {
  unixsock *s;
  unsigned char *seen; /* one per message sent, set by whoever received it */
  int whole, failed;
};

static void *receive_until_stop(void *arg) {
  struct shared_reader *rd = arg;
  for (;;) {
    unixsock_message m = {0};
    int r = unixsock_recv_message(rd->s, &m);
    if (r != 1) {
      rd->failed++;
      if (r <= 0 && r != -EMSGSIZE)
        return NULL;
      continue;
    }
    if (m.len == 1) { /* the end */
      unixsock_message_release(&m);
      return NULL;
    }
    unsigned i;
    memcpy(&i, m.data, sizeof(i));
    size_t want = i % 2 ? long_len : SHORT_LEN;
    if (i < 2 * SHARED_PAIRS && m.len == want && !__atomic_exchange_n(&rd->seen[i], 1, __ATOMIC_RELAXED))
      rd->whole++;
    else
      rd->failed++;
    unixsock_message_release(&m);
  }
}

TEST(test_threads_receiving_messages_from_one_socket_lose_none) {
  int kinds[] = {UNIXSOCK_SEQPACKET, UNIXSOCK_DGRAM};
  /* the long variant needs the reserve, which valgrind does without */
  int variants = unixsock__reserve(1) != NULL ? 6 : 4;
  for (int v = 0; v < variants; v++) {
    size_t k = (size_t)v % 2;
    unixsock__reserve_off = v >= 2 && v < 4;
    long_len = v < 4 ? 1000 : LONG_LEN_MAX;
    unsigned pairs = v < 4 ? SHARED_PAIRS : SHARED_PAIRS / 5;
    unixsock *a, *b;
    CHECK_OK(unixsock_pair(kinds[k], &a, &b));
    CHECK_OK(unixsock_set_send_buffer(a, 1 << 20));
    unsigned char *seen = calloc(2 * SHARED_PAIRS, 1);
    CHECK(seen != NULL);
    struct shared_reader rd[2] = {{.s = b, .seen = seen}, {.s = b, .seen = seen}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
      CHECK(pthread_create(&t[i], NULL, receive_until_stop, &rd[i]) == 0);
    static char msg[LONG_LEN_MAX];
    for (unsigned i = 0; i < 2 * pairs; i++) {
      memcpy(msg, &i, sizeof(i));
      CHECK((size_t)unixsock_send(a, msg, i % 2 ? long_len : SHORT_LEN) ==
            (i % 2 ? long_len : SHORT_LEN));
      if (i % 8 == 7)
        usleep(50); /* let both readers wait, so that one message wakes both */
    }
    CHECK_EQ(unixsock_send(a, "x", 1), 1);
    CHECK_EQ(unixsock_send(a, "x", 1), 1);
    CHECK(pthread_join(t[0], NULL) == 0 && pthread_join(t[1], NULL) == 0);
    CHECK_EQ(rd[0].failed + rd[1].failed, 0);
    CHECK_EQ(rd[0].whole + rd[1].whole, 2 * pairs);
    free(seen);
    unixsock_close(a);
    unixsock_close(b);
  }
  unixsock__reserve_off = false;
}

/* A poller waited on in one thread while another adds and removes descriptors
 * (epoll allows it): the table of what was registered with each fd grows under
 * the waiter, which read it as it was moved (a use after free). */
struct poller_waiter {
  unixsock_poller *p;
  int fd;
  void *want;
  int wrong, seen;
  bool stop;
};

static void *wait_for_events(void *arg) {
  struct poller_waiter *w = arg;
  while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
    unixsock_event ev[8];
    int n = unixsock_poller_wait(w->p, ev, 8, 10);
    for (int i = 0; i < n; i++)
      if (ev[i].fd == w->fd) {
        __atomic_add_fetch(&w->seen, 1, __ATOMIC_RELEASE);
        if (ev[i].data != w->want)
          w->wrong++;
      }
  }
  return NULL;
}

TEST(test_a_poller_is_waited_on_while_another_thread_adds_descriptors) {
  int always[2];
  CHECK(pipe(always) == 0);
  CHECK(write(always[1], "x", 1) == 1); /* readable for ever */
  struct rlimit lim;
  CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0);
  int top = lim.rlim_cur > 4096 ? 4096 : (int)lim.rlim_cur - 1;
  int tag;
  for (int round = 0; round < 20; round++) { /* a new poller's table starts small */
    unixsock_poller *p;
    CHECK_OK(unixsock_poller_new(&p));
    CHECK_OK(unixsock_poller_set(p, always[0], UNIXSOCK_READABLE, &tag));
    struct poller_waiter w = {.p = p, .fd = always[0], .want = &tag};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, wait_for_events, &w) == 0);
    /* the waiter is at work before the table grows (slow under valgrind) */
    for (int i = 0; i < 10000 && __atomic_load_n(&w.seen, __ATOMIC_ACQUIRE) == 0; i++)
      usleep(1000);
    CHECK(__atomic_load_n(&w.seen, __ATOMIC_ACQUIRE) > 0);
    for (int fd = 100; fd < top; fd = fd * 3 / 2) { /* each higher fd grows the table */
      CHECK(dup2(always[1], fd) == fd);
      CHECK_OK(unixsock_poller_set(p, fd, UNIXSOCK_WRITABLE, NULL));
      CHECK_OK(unixsock_poller_remove(p, fd));
      close(fd);
    }
    __atomic_store_n(&w.stop, true, __ATOMIC_RELEASE);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK_EQ(w.wrong, 0);
    unixsock_poller_free(p);
  }
  close(always[0]);
  close(always[1]);
}

/* fork() while another thread holds one of a handle's locks (inside
 * recv_message's read, or asleep for a stream's send lock): the child has only
 * the forking thread, and its copy of the lock stayed held for ever, so its first
 * recv_message, or a send that woke the waiter that is not there, hung with no
 * timeout to end it.  The test holds the locks itself, as those threads would. */
static int child_uses_both(unixsock *dgram, unixsock *stream) {
  unixsock_message m = {0};
  if (unixsock_settimeout(dgram, 2000) < 0 || unixsock_recv_message(dgram, &m) != 1 ||
      m.len != 5 || memcmp(m.data, "hello", 5) != 0)
    return 1;
  unixsock_message_release(&m);
  return unixsock_send(stream, "x", 1) == 1 ? 0 : 2;
}

TEST(test_a_forked_child_uses_a_handle_whose_locks_another_thread_held) {
  unixsock *a, *b, *c, *d;
  CHECK_OK(unixsock_pair(UNIXSOCK_DGRAM, &a, &b));
  CHECK_OK(unixsock_pair(UNIXSOCK_STREAM, &c, &d));
  CHECK_EQ(unixsock_send(a, "hello", 5), 5);
  CHECK(pthread_mutex_lock(&b->recv_mutex) == 0);
  CHECK(pthread_mutex_lock(&d->send_mutex) == 0);
  __atomic_store_n(&d->send_waiters, 1, __ATOMIC_SEQ_CST);
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0)
    _exit(child_uses_both(b, d));
  __atomic_store_n(&d->send_waiters, 0, __ATOMIC_SEQ_CST);
  CHECK(pthread_mutex_unlock(&d->send_mutex) == 0);
  CHECK(pthread_mutex_unlock(&b->recv_mutex) == 0);
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 1000 && done == 0; i++) { /* 10 s at most */
    done = waitpid(child, &status, WNOHANG);
    if (done == 0)
      usleep(10000);
  }
  if (done == 0) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
  }
  CHECK(done == child); /* it hung */
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char x;
  CHECK_EQ(unixsock_recv(c, &x, 1), 1);
  unixsock_close(a);
  unixsock_close(b);
  unixsock_close(c);
  unixsock_close(d);
}
