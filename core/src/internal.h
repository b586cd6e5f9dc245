/* Helpers shared between core files.  Nothing here is exported. */
#ifndef UNIXSOCK_INTERNAL_H
#define UNIXSOCK_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "unixsock.h"

/* Handle flags. */
enum {
  UNIXSOCK__LISTENER = 1u << 0,  /* accept() is meaningful */
  UNIXSOCK__OWNS_FILE = 1u << 1, /* unlink path on close if inode still matches */
  UNIXSOCK__PASSCRED = 1u << 2,  /* SO_PASSCRED already turned on */
  /* Which end name is (set once, before the handle is returned): the peer's for
   * a connect, its own for listen, bind and accept.  An accepted connection
   * keeps its listener's long path only to report its own address; its errors
   * name its client when the client has a name. */
  UNIXSOCK__NAMES_PEER = 1u << 3,
  UNIXSOCK__ACCEPTED = 1u << 4,
  UNIXSOCK__SHUT_WR = 1u << 5 /* shut down for writing here (__atomic): an EPIPE is ours */
};

struct unixsock {
  int fd;
  int kind;
  int timeout_ms;
  unsigned int flags;
  char *path;       /* absolute path of the socket file we created, or NULL */
  dev_t dev;        /* its identity, checked before unlink */
  ino_t ino;
  pid_t owner_pid;  /* only the process that created the file removes it */
  char *name;       /* address given to listen/bind/connect (long paths report it) */
  size_t namelen;
  uid_t *allow_uids; /* access control (copied from the options) */
  size_t allow_uids_count;
  gid_t *allow_gids;
  size_t allow_gids_count;
  unsigned long long refused;
  size_t max_message;             /* largest message payload accepted (0: default) */
  struct unixsock__frame_in *in;  /* stream frames: a frame being received */
  char *out_tail;   /* stream frames: the unsent end of a frame that a send with */
  size_t out_len;   /* timeout 0 started (its control data went with its start) */
  size_t out_done;
  /* Threads sharing the handle (sharing.c): frame writes and the kept end hold
   * the send lock; a frame is received by one thread at a time, the one that set
   * receiving.  The frame state (in, out_tail) is freed only with the handle, so a
   * release from one thread never frees what a call in another still uses. */
  bool sending;                /* a thread holds the send lock (__atomic builtins) */
  bool receiving;              /* a thread receives a frame (__atomic builtins) */
  unsigned int send_waiters;   /* threads asleep for the send lock (__atomic) */
  pthread_mutex_t send_mutex;  /* what they sleep under, */
  pthread_cond_t send_free;    /* and on: signalled when sending goes false */
  /* Packets (dgram, seqpacket): when recv_message measures the next one's size
   * before reading it (message.c: after a large one, or with no reserve), its
   * read, and the measure again when another thread took a packet since its
   * first (packets_taken moved), hold recv_mutex, so that a thread never reads a
   * longer packet than it measured.  The wait for a packet holds nothing. */
  pthread_mutex_t recv_mutex;
  unsigned long generation; /* the fork generation send_mutex, send_free and recv_mutex
                             * were made in (sharing.c) */
  /* packets read by recv_message and recv_batch (__atomic); not by a plain recv,
   * which stays one syscall with nothing added */
  unsigned long packets_taken;
  /* recv_message read a packet over the spill at once, so it went through the
   * reserve and was copied out: measure the next ones, each read straight into a
   * buffer of its size, until one fits the spill again (__atomic, a hint) */
  bool packets_large;
  /* what the last receive dropped, for unixsock_call_error to say (__atomic,
   * hints): a packet too long (-EMSGSIZE), its length (0: none yet); refused
   * descriptors (-ENOBUFS), how many came, the max_fds they met, and whether the
   * kernel cut them */
  size_t dropped_len;
  size_t refused_fds, refused_fds_max;
  bool refused_fds_cut;
};

/* A packet of len bytes that a receive drops as too long: -EMSGSIZE, its length
 * kept for unixsock_call_error. */
static inline int unixsock__dropped(unixsock *s, size_t len) {
  __atomic_store_n(&s->dropped_len, len, __ATOMIC_RELAXED);
  return -EMSGSIZE;
}

/* Room for what a receive can bring: the most descriptors, credentials, and what
 * a socket made elsewhere may have asked for too (a service manager's
 * PassPIDFD=, PassSecurity=): a pidfd and a security label, which would
 * otherwise truncate a message with the most descriptors. */
enum { UNIXSOCK__LABEL_ROOM = 256 };
union unixsock__cmsgbuf {
  struct cmsghdr align;
  char buf[CMSG_SPACE(sizeof(int) * UNIXSOCK_MAX_FDS) + CMSG_SPACE(sizeof(struct ucred)) +
           CMSG_SPACE(sizeof(int)) + CMSG_SPACE(UNIXSOCK__LABEL_ROOM)];
};

/* What arrived beside the bytes of one message. */
struct unixsock__inbox {
  int fds[UNIXSOCK_MAX_FDS];
  size_t nfds;
  size_t max_fds; /* the receiver's limit */
  unixsock_creds creds;
  bool has_creds;
  bool creds_came; /* SCM_CREDENTIALS came, recorded or not: a packet was read */
  size_t came;     /* descriptors that came (SCM_RIGHTS), kept or not */
  bool cut;        /* the kernel cut them (MSG_CTRUNC): this process is out of fds */
};

/* Message flags the library keeps for itself. */
#define UNIXSOCK__MSG_OWNS_DATA (1u << 31) /* release() frees data */

/* ---- address.c ---- */

/* A parsed address ready for bind/connect.  dirfd >= 0 when a long path is reached
 * through /proc/self/fd/N/base; release it with unixsock__addr_release(). */
struct unixsock__addr {
  struct sockaddr_un sa;
  socklen_t len;
  int dirfd;
  bool is_path;
};

/* Parse (name, namelen).  namelen 0 gives the autobind address.  Long paths are
 * reached through their directory when allow_long is set, else -ENAMETOOLONG. */
int unixsock__addr_parse(const char *name, size_t namelen, bool allow_long,
                         struct unixsock__addr *ret_addr);
void unixsock__addr_release(struct unixsock__addr *addr);
/* Open the directory holding the last component of path[0, len) ("/" for
 * "/name"), with flags | O_DIRECTORY | O_CLOEXEC: the fd, or -errno (-EINVAL
 * when path has no '/'). */
int unixsock__open_parent_dir(const char *path, size_t len, int flags);
/* Format a kernel address into the string syntax; -ENOBUFS when it does not fit. */
int unixsock__addr_format(const struct sockaddr_un *sa, socklen_t salen, char *ret_name,
                          size_t *io_namelen);
/* Whether the kernel knows this address by a /proc/self/fd/N/... alias: a path
 * too long for sun_path, reached through its directory. */
bool unixsock__addr_is_long_path(const char *name, size_t namelen);
/* Copy a stored string name out (same contract as unixsock__addr_format); inline,
 * since an error's name on a poller's empty try is one. */
static inline int unixsock__name_copy(const char *name, size_t namelen, char *ret_name,
                                      size_t *io_namelen) {
  if (io_namelen == NULL)
    return -EINVAL;
  if (ret_name != NULL) {
    if (*io_namelen < namelen)
      return -ENOBUFS;
    memcpy(ret_name, name, namelen);
    if (*io_namelen > namelen)
      ret_name[namelen] = '\0';
  }
  *io_namelen = namelen;
  return 0;
}

/* ---- socket.c ---- */

int unixsock__socket(int kind);                       /* new CLOEXEC fd or -errno */
int unixsock__wrap(int fd, int kind, unixsock **ret); /* takes fd on success only */
int unixsock__kind_to_type(int kind);                 /* SOCK_* or -EINVAL */
/* Keep a copy of the address the socket was made with, to report it (sock->name);
 * nothing for the empty one.  0 or -ENOMEM. */
int unixsock__set_name(unixsock *s, const char *name, size_t namelen);

/* ---- socketfile.c ---- */

/* Bind fd to addr on behalf of listen/bind, applying the socket-file rules and
 * the options' mode/owner, and with backlog >= 0 listen, before another listener
 * in the directory may look at the file.  On success records the file in sock. */
int unixsock__bind_file(unixsock *sock, const char *name, size_t namelen,
                        const unixsock_options *opts, int backlog);
/* Unlink the socket file if it is still ours. */
void unixsock__unlink_file(unixsock *sock);

/* ---- cmsg.c ---- */

/* Point mh at control data carrying fds and (with creds) our credentials.
 * -E2BIG over UNIXSOCK_MAX_FDS, -EBADF for a negative fd. */
int unixsock__cmsg_build(struct msghdr *mh, union unixsock__cmsgbuf *cb, const int *fds,
                         size_t nfds, bool creds);
/* Move received fds and credentials into in.  Fds beyond in->max_fds, or a
 * truncation by the kernel, close every fd in `in` and give -ENOBUFS; control
 * data whose lengths do not add up closes them too and gives -EBADMSG. */
int unixsock__cmsg_parse(const struct msghdr *mh, struct unixsock__inbox *in);
void unixsock__close_fds(int *fds, size_t n);
/* How many descriptors a message's max_fds lets in: 0 means the most, and
 * UNIXSOCK_NO_FDS none. */
static inline size_t unixsock__fd_limit(size_t max_fds) {
  if (max_fds == UNIXSOCK_NO_FDS)
    return 0;
  return max_fds == 0 || max_fds > UNIXSOCK_MAX_FDS ? UNIXSOCK_MAX_FDS : max_fds;
}
/* An empty inbox that accepts what max_fds lets in (unixsock__fd_limit). */
void unixsock__inbox_init(struct unixsock__inbox *in, size_t max_fds);

/* ---- message.c / frame.c ---- */

int unixsock__passcred(unixsock *s); /* SO_PASSCRED on, once */
/* Hand an inbox's fds and creds to a message (fds array allocated). */
int unixsock__inbox_to_message(struct unixsock__inbox *in, unixsock_message *msg);
/* now: never wait, as with timeout 0 (unixsock_try_send_message). */
ssize_t unixsock__frame_send(unixsock *s, const unixsock_message *msg, bool now);
#define UNIXSOCK__FRAME_HEADER 8
void unixsock__frame_header(unsigned char *h, size_t len, size_t nfds, bool creds);
/* Check a header: -EBADMSG when malformed, -EMSGSIZE over max. */
int unixsock__frame_parse(const unsigned char *h, size_t max, size_t *ret_len,
                          size_t *ret_nfds);
ssize_t unixsock__frame_write(unixsock *s, struct msghdr *mh, bool now);
/* Write the kept end of a started frame (s->out_tail), waiting as the deadline
 * allows: 0 once it is all written, else -errno (-EAGAIN/-ETIMEDOUT keep it for
 * the next call; an error of the connection drops it).  Every write on a stream
 * calls this first, so a later write never lands inside that frame. */
int unixsock__frame_flush(unixsock *s, long long *deadline);
/* The same with the send lock held. */
int unixsock__frame_flush_locked(unixsock *s, long long *deadline);
/* The same, inline for the common case where nothing is kept (every send). */
static inline int unixsock__flush_first(unixsock *s, long long *deadline) {
  return s->out_tail != NULL ? unixsock__frame_flush(s, deadline) : 0;
}
void unixsock__frame_drop_tail(unixsock *s);
/* Before a release: one try that does not wait to write a kept frame end, then
 * -EBUSY when the fd cannot be handed over (not closing) as it is: a frame end is
 * still kept, another thread is writing or receiving a frame, or a frame is half
 * read.  Closing is never refused.  Frees nothing: the frame state goes with the
 * handle, since another thread's call may still be using it. */
int unixsock__frame_let_go(unixsock *s, bool closing);
/* Receive one frame (max_fds: a limit from unixsock__fd_limit): 1, 0 at end of
 * stream, or -errno.  With buf, the payload goes there and -ENOSPC (frame kept
 * whole) when cap is too small.  now: never wait, whatever the timeout. */
int unixsock__frame_recv(unixsock *s, unixsock_message *msg, size_t max_fds, void *buf,
                         size_t cap, bool now);
void unixsock__frame_free(unixsock *s);
/* The payload length the next frame's header announced, when its header is in
 * and its payload waits (kept whole for a larger buffer); else 0.  For errors. */
size_t unixsock__frame_waiting_len(const unixsock *s);
/* Whether plain reads may go on (s->in set): 0, the error that broke the framed
 * stream, or -EBUSY inside a frame that a recv_message or recv_batch cut short,
 * or while another thread is receiving one. */
int unixsock__frame_reading(const unixsock *s);
static inline int unixsock__plain_read_allowed(const unixsock *s) {
  return __atomic_load_n(&s->in, __ATOMIC_ACQUIRE) == NULL ? 0 : unixsock__frame_reading(s);
}
/* One recvmsg of a datagram/packet into iov with control data and sender; returns
 * its full length (MSG_TRUNC), which exceeds the iov's room when it did not fit. */
ssize_t unixsock__recv_packet_iov(unixsock *s, struct iovec *iov, size_t iovlen,
                                  struct unixsock__inbox *in, unixsock_message *msg,
                                  long long *deadline);
static inline ssize_t unixsock__recv_packet(unixsock *s, void *buf, size_t cap,
                                            struct unixsock__inbox *in, unixsock_message *msg,
                                            long long *deadline) {
  struct iovec iov = {.iov_base = buf, .iov_len = cap};
  return unixsock__recv_packet_iov(s, &iov, 1, in, msg, deadline);
}
/* The largest message payload the socket accepts, on every kind. */
static inline size_t unixsock__max_message(const unixsock *s) {
  return s->max_message ? s->max_message : UNIXSOCK_DEFAULT_MAX_MESSAGE;
}

/* ---- spill.c ---- */

/* A packet is read whole in one syscall into this thread's spill and, past it,
 * its reserve, which together hold the socket's largest message: no need to
 * measure it first (message.c). */
enum { UNIXSOCK__SPILL_BYTES = 64 * 1024 };
/* Larger maxima are measured instead: the reserve is only address space, but
 * one per receiving thread. */
#define UNIXSOCK__RESERVE_MAX ((size_t)256 << 20)
/* This thread's spill region of UNIXSOCK__SPILL_BYTES (reused: its contents last
 * until this thread's next call), or NULL when there is no memory for it. */
void *unixsock__spill(void);
/* This thread's reserve of at least len bytes (reused, like the spill), or NULL:
 * len over UNIXSOCK__RESERVE_MAX, no address space for it, or the reserve is
 * off.  Its pages cost memory only once a packet lands in them. */
void *unixsock__reserve(size_t len);
/* Hand back the memory of the first used bytes of the reserve. */
void unixsock__reserve_discard(void *reserve, size_t used);
/* No reserve, so packets are measured, as under valgrind (which checks every
 * byte of a receive buffer on each call): for tests, to try both ways. */
extern bool unixsock__reserve_off;

/* A destination address is for dgram only: stream and seqpacket sockets send to
 * their peer, and the kernel would ignore the address (seqpacket) or refuse it
 * with EISCONN (stream), so both refuse it here, before anything is sent. */
static inline int unixsock__destination_allowed(const unixsock *s, size_t addrlen) {
  return addrlen > 0 && s->kind != UNIXSOCK_DGRAM ? -EISCONN : 0;
}

/* A received message names its sender on dgram only: on seqpacket it is always
 * the peer (peer_address), and naming it would make the message, sent on as it
 * is, carry a destination that a connected socket refuses (EISCONN above). */
static inline bool unixsock__reports_sender(const unixsock *s) {
  return s->kind == UNIXSOCK_DGRAM;
}

/* ---- access.c ---- */

/* Inline: it sits on every dgram recv. */
static inline bool unixsock__has_allow_list(const unixsock *s) {
  return s->allow_uids_count != 0 || s->allow_gids_count != 0;
}
bool unixsock__admitted(const unixsock *s, uid_t uid, gid_t gid);
/* Atomic: receivers in several threads may refuse peers at once. */
static inline void unixsock__count_refused(unixsock *s) {
  __atomic_add_fetch(&s->refused, 1, __ATOMIC_RELAXED);
}

/* ---- sharing.c ---- */

int unixsock__sharing_init(unixsock *s); /* 0 or -errno */
void unixsock__sharing_free(unixsock *s);
/* Make the handle's mutexes and condition variable anew if the process forked
 * since they were made (another thread may have held them): before using them. */
void unixsock__sharing_renew(unixsock *s);
/* The send lock (see sharing.c), inline where no other thread wants it: every
 * stream write takes it. */
static inline bool unixsock__send_trylock(unixsock *s) { /* true when taken */
  bool free_ = false;
  return __atomic_compare_exchange_n(&s->sending, &free_, true, false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_RELAXED);
}
/* When another thread holds it. */
int unixsock__send_lock_wait(unixsock *s, long long *deadline);
void unixsock__send_wake(unixsock *s);
/* Take the send lock, waiting as the socket's timeout allows (the deadline is
 * the call's, set here on the first wait): 0, -EAGAIN (timeout 0, or the deadline
 * is UNIXSOCK__NEVER_WAIT), -ETIMEDOUT, or -EINTR when a signal handler asked. */
static inline int unixsock__send_lock(unixsock *s, long long *deadline) {
  return unixsock__send_trylock(s) ? 0 : unixsock__send_lock_wait(s, deadline);
}
/* Letting go must store the flag before it looks for waiters, an order the CPU
 * keeps only behind a fence.  Where membarrier(2) works (set once, at the first
 * handle), a thread that comes to wait makes every running thread pass a fence
 * instead, so letting go costs a plain store and a load: it is on every stream
 * write, and on one CPU even a few nanoseconds more per write show, as the
 * scheduler switches more often to a woken reader (bench/README.md). */
extern bool unixsock__send_unlock_light; /* written once, before any handle exists */
/* Waits for the send lock that timed out with the lock free: a wake-up that was
 * missed, or one lost to a timeout at the instant the lock was let go (tests). */
extern unsigned long unixsock__send_waits_unwoken; /* __atomic */
static inline void unixsock__send_unlock(unixsock *s) {
  bool waiters;
  if (unixsock__send_unlock_light) {
    __atomic_store_n(&s->sending, false, __ATOMIC_RELEASE);
    __atomic_signal_fence(__ATOMIC_SEQ_CST); /* the compiler keeps the order too */
    waiters = __atomic_load_n(&s->send_waiters, __ATOMIC_RELAXED) > 0;
  } else {
    __atomic_store_n(&s->sending, false, __ATOMIC_SEQ_CST);
    waiters = __atomic_load_n(&s->send_waiters, __ATOMIC_SEQ_CST) > 0;
  }
  if (waiters)
    unixsock__send_wake(s);
}
/* A packet was read: a recv_message that peeked before it measures again. */
static inline void unixsock__packets_taken(unixsock *s, unsigned long n) {
  __atomic_add_fetch(&s->packets_taken, n, __ATOMIC_RELEASE);
}
/* Claim the frame receive for this thread: false when another thread has it. */
static inline bool unixsock__recv_claim(unixsock *s) {
  return !__atomic_exchange_n(&s->receiving, true, __ATOMIC_ACQUIRE);
}
static inline void unixsock__recv_unclaim(unixsock *s) {
  __atomic_store_n(&s->receiving, false, __ATOMIC_RELEASE);
}

/* ---- wait.c ---- */

/* Deadlines in CLOCK_MONOTONIC milliseconds; -1 means none. */
long long unixsock__deadline(int timeout_ms);
long long unixsock__now_ms(void);
/* On EINTR: -EINTR when the interrupt hook asks to stop, else 0 (retry). */
int unixsock__interrupted(void);
/* Wait until fd has events or the deadline passes: 0, -ETIMEDOUT or -errno.
 * EINTR is retried with the remaining time. */
int unixsock__wait(int fd, short events, long long deadline);

/* ---- io.c ---- */

#define UNIXSOCK__NO_DEADLINE_YET (-2LL)
#define UNIXSOCK__NEVER_WAIT (-3LL) /* a deadline that has always passed: -EAGAIN */
/* After a syscall failed with err: 0 = try it again (EINTR, or ready after a wait),
 * < 0 = give up with that result.  The deadline is computed on the first wait, so
 * the fast path never reads the clock.  With the deadline UNIXSOCK__NEVER_WAIT,
 * EINTR is tried again without running the interrupt hook. */
int unixsock__retry(const unixsock *s, int err, short events, long long *io_deadline);
/* unixsock__retry for a datagram sent to an address (to = NULL: none, as
 * unixsock__retry).  Our socket's readiness says nothing of the receiver's queue
 * (net.unix.max_dgram_qlen), so on would-block this also waits, through a socket
 * connected to that receiver, until its queue has room; poll() alone would
 * report ready at once and the call would spin until its deadline. */
int unixsock__retry_send_to(const unixsock *s, int err, const struct unixsock__addr *to,
                            long long *io_deadline);
/* The socket's timeout, read atomically: another thread may set it meanwhile. */
static inline int unixsock__timeout(const unixsock *s) {
  return __atomic_load_n(&s->timeout_ms, __ATOMIC_RELAXED);
}
/* The flag a send or receive that may wait passes to the kernel: MSG_DONTWAIT when
 * a timeout makes poll() bound the wait, 0 when the call may sleep in the kernel
 * (one syscall). */
static inline int unixsock__wait_flag(const unixsock *s) {
  return unixsock__timeout(s) >= 0 ? MSG_DONTWAIT : 0;
}
/* The same for a call with this deadline: UNIXSOCK__NEVER_WAIT never waits. */
static inline int unixsock__wait_flag_for(const unixsock *s, long long deadline) {
  return deadline == UNIXSOCK__NEVER_WAIT ? MSG_DONTWAIT : unixsock__wait_flag(s);
}

/* ---- platform_linux.c (the portability seam) ---- */

int unixsock__platform_accept(int fd);                 /* accept4 CLOEXEC */
int unixsock__platform_peer_ids(int fd, pid_t *ret_pid, uid_t *ret_uid, gid_t *ret_gid);
int unixsock__platform_set_cloexec(int fd);
bool unixsock__platform_read_ended(int fd);
/* Whether this process runs under valgrind (false when built without its header). */
bool unixsock__platform_under_valgrind(void);
/* The number (0 or more) in file, a /proc/sys entry; unset where it cannot be
 * read. */
long unixsock__platform_sysctl(const char *file, long unset);
/* How many descriptors this process holds (/proc/self/fd's entries, less the one
 * that reads them); -1 when they cannot be counted (none left to read them with). */
long unixsock__platform_open_fds(void);
/* Whether file (/proc/sys/vm/overcommit_memory) says 2: strict accounting, under
 * which MAP_NORESERVE is ignored and address space is charged as memory.  False
 * when it cannot be read. */
bool unixsock__platform_strict_overcommit(const char *file);
/* Bytes waiting to be read (FIONREAD): on dgram the next datagram's size, on
 * seqpacket and stream all that is queued (the kernel walks the queue to count
 * them); -errno (a listener: -EINVAL). */
int unixsock__platform_queued(int fd);
int unixsock__platform_set_nonblock(int fd, bool on);
int unixsock__platform_socket_type(int fd, int *ret_type); /* SO_TYPE + SO_DOMAIN check */
int unixsock__platform_bind_mode(int fd, int mode);    /* restrict mode before bind */
/* membarrier(2): register this process once; then a full memory barrier on every
 * running thread of it.  Each true on success. */
bool unixsock__platform_barrier_register(void);
bool unixsock__platform_barrier_all_threads(void);
/* Whether received SCM_CREDENTIALS are the kernel's "none recorded" (the message
 * was sent while neither end had SO_PASSCRED on and its sender attached none):
 * pid 0 with the overflow uid and gid.  Pid 0 alone is a sender in a pid
 * namespace this process cannot see into, whose ids are real. */
bool unixsock__platform_creds_unrecorded(pid_t pid, uid_t uid, gid_t gid);
/* Directory-relative name usable in sun_path for a descriptor; -ENAMETOOLONG. */
int unixsock__platform_dir_path(int dirfd, const char *base, size_t baselen,
                                char *ret_path, size_t size);

/* ---- call_error.c, limit_error.c ---- */

/* The calls an op names: "send", "sendall", "sendto", "send_message",
 * "send_batch", "try_send"...; "recv", "recv_into", "recvfrom", "recv_message",
 * "recv_batch", "try_recv"... */
static inline bool unixsock__op_sends(const char *op) {
  return strncmp(op, "send", 4) == 0 || strncmp(op, "try_send", 8) == 0;
}
static inline bool unixsock__op_receives(const char *op) {
  return strncmp(op, "recv", 4) == 0 || strncmp(op, "try_recv", 8) == 0;
}

/* unixsock_call_error for EMSGSIZE, ENOBUFS, EMFILE and ENFILE (sock may be
 * NULL for the last two): the limit the call met. */
size_t unixsock__limit_error(const unixsock *sock, const char *op, int result, char *buf,
                             size_t size);
/* A receive whose descriptors in were refused (more than its max_fds, or cut by
 * the kernel): -ENOBUFS, what came kept in s for unixsock_call_error. */
int unixsock__fds_refused(unixsock *s, const struct unixsock__inbox *in);
/* The sentence for it (unixsock__say's contract): came descriptors over max, or
 * cut, closed, and the message dropped (a stream: shut down for reading). */
size_t unixsock__say_fds_refused(char *buf, size_t size, size_t came, size_t max, bool cut,
                                 bool stream);

/* A sentence of the error explainers (unixsock_*_error) into buf, NUL-terminated
 * and cut to fit (buf NULL or size 0: nothing written); its whole length. */
size_t unixsock__say(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* What a file of mode m is, for those sentences: "a regular file", "a device"... */
const char *unixsock__file_type(mode_t m);

#endif
