/* unixsock — Unix domain sockets (AF_UNIX) for C, Python and Lua.
 *
 * Conventions, stated once:
 *  - Every function that can fail returns >= 0 on success and -errno on failure.
 *    The library never prints, never reads or leaves state in errno, and the handle
 *    holds no error state.  unixsock_strerror() turns a result into text.
 *  - Outputs are named ret_* and are written only on success.  In/out sizes are io_*.
 *  - Addresses are (name, namelen) byte strings:
 *      "/run/app.sock", "rel/app.sock"  a filesystem path;
 *      "@name"                          the Linux abstract namespace, exact length
 *                                       (the bytes after '@' may contain NUL;
 *                                       "@" alone is the empty abstract name);
 *      "" (namelen 0)                   autobind (bind only): the kernel picks a name.
 *    A path that does not fit sun_path is -ENAMETOOLONG, never truncated; when its
 *    directory exists it is reached through a directory descriptor instead.  The
 *    kernel then names a socket bound there "/proc/self/fd/N/name", which peers see
 *    as its address (recvfrom's sender) and cannot answer: a dgram socket that must
 *    be answered needs a path that fits, or an abstract name.
 *  - Timeouts are in milliseconds: -1 blocks, 0 never blocks (-EAGAIN), > 0 bounds the
 *    whole call (-ETIMEDOUT).  EINTR is retried inside the library.
 *  - Every descriptor the library creates is close-on-exec; no send raises SIGPIPE.
 *  - Ownership: a unixsock handle owns its fd.  "borrows" means the caller keeps
 *    ownership; "takes" means the library closes it.  unixsock_close(NULL) is a no-op.
 *  - Threads: calls on one handle may run in several threads at once.  Messages
 *    sent on a stream go whole, one after another (a sender waits, as its timeout
 *    allows, for another thread's message to finish); one thread at a time
 *    receives a stream's messages, and while it does another thread's
 *    recv_message, recv_batch or plain read of that stream is -EBUSY.  Threads may
 *    receive dgram and seqpacket messages from one handle at once: each message
 *    goes to one of them, whole.
 *    unixsock_release from another thread never frees what a call in progress
 *    uses (a call already waiting in the kernel finishes on the old descriptor);
 *    unixsock_close and unixsock_detach free the handle, so nothing may be using it.
 *    A child of fork() may use its copy of a handle that other threads were using:
 *    their locks are made anew in it, but a stream message they were sending or
 *    receiving stays theirs (the child's stream sends wait for it as their
 *    timeout allows; its stream recv_message is -EBUSY).
 */
#ifndef UNIXSOCK_H
#define UNIXSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(UNIXSOCK_BUILDING) && defined(__GNUC__)
#define UNIXSOCK_EXTERN __attribute__((visibility("default")))
#else
#define UNIXSOCK_EXTERN
#endif

#define UNIXSOCK_VERSION_MAJOR 0
#define UNIXSOCK_VERSION_MINOR 1
#define UNIXSOCK_VERSION_PATCH 0

typedef struct unixsock unixsock;

/* Socket kinds. */
enum {
  UNIXSOCK_STREAM = 1,    /* SOCK_STREAM: bytes, connection */
  UNIXSOCK_DGRAM = 2,     /* SOCK_DGRAM: messages, no connection needed */
  UNIXSOCK_SEQPACKET = 3  /* SOCK_SEQPACKET: messages, connection */
};

/* Largest address string, '@' and a terminating NUL included. */
#define UNIXSOCK_ADDRESS_MAX 112

/* Options for unixsock_listen() and unixsock_bind().  Start from
 * UNIXSOCK_OPTIONS_INIT and set what you need. */
typedef struct unixsock_options {
  int backlog;       /* listen backlog; 0 = SOMAXCONN */
  int mode;          /* exact permission bits of the socket file; -1 = umask decides */
  long long uid;     /* owner of the socket file; -1 = leave; a uid_t below 2^32 - 1 */
  long long gid;     /* group of the socket file; -1 = leave; likewise (else -EINVAL) */
  /* Access control (listen: checked on accept with SO_PEERCRED; dgram: checked on
   * each message's credentials).  A peer is admitted when its uid is in allow_uids
   * or its gid is in allow_gids; with both lists empty every peer is admitted.
   * The kernel shows a uid or gid with no mapping in this user namespace as the
   * overflow id (65534, "nobody"), so listing that id admits every such peer. */
  const uid_t *allow_uids;
  size_t allow_uids_count;
  const gid_t *allow_gids;
  size_t allow_gids_count;
} unixsock_options;

#define UNIXSOCK_OPTIONS_INIT {0, -1, -1, -1, NULL, 0, NULL, 0}

/* ---- endpoints ---------------------------------------------------------- */

/* Listen on an address (stream or seqpacket).  On a path: a live server there
 * makes it -EADDRINUSE; a socket file nobody answers on is stale and replaced; a
 * file that is not a socket is never touched (-EEXIST).  The file gets exactly
 * opts->mode and is never more open than that, even for an instant.  Listeners
 * starting at once in one directory take turns (an flock of the directory from
 * bind to listen, waited for 1 s at most), so none mistakes another's socket,
 * bound but not listening yet, for a stale one.  The listener unlinks its file
 * on close only if the path still holds the inode it created.
 * opts may be NULL.  The new handle is returned in *ret_sock. */
UNIXSOCK_EXTERN int unixsock_listen(const char *name, size_t namelen, int kind,
                                    const unixsock_options *opts, unixsock **ret_sock);

/* Why unixsock_listen() and unixsock_bind() at name would refuse opts with
 * -EINVAL: a sentence naming the field ("uid must be 0 to 4294967294"), or NULL
 * when opts (which may be NULL) are valid there.  Owner ids and allow-list
 * entries alike must be 0 to 4294967294: (uid_t)-1 is no one's id.  mode, uid and
 * gid are a socket file's, so an abstract name or an autobind (namelen 0), which
 * have no file, refuse them rather than leave the socket open to every peer that
 * the caller meant to keep out.  For error messages; the text is static. */
UNIXSOCK_EXTERN const char *unixsock_options_error(const char *name, size_t namelen,
                                                   const unixsock_options *opts);

/* Bind a datagram endpoint (kind UNIXSOCK_DGRAM).  namelen 0 autobinds, which is
 * what a client needs so that replies find it.  Same socket-file rules as listen. */
UNIXSOCK_EXTERN int unixsock_bind(const char *name, size_t namelen, int kind,
                                  const unixsock_options *opts, unixsock **ret_sock);

/* Connect to an address.  timeout_ms bounds the wait for a full backlog and becomes
 * the socket's timeout.  A dgram socket is connected with an autobound reply
 * address, so the server can answer it.  Errors as the seeds show them: -ENOENT
 * (no such file), -ECONNREFUSED (stale file), -EPROTOTYPE (wrong kind), -EACCES. */
UNIXSOCK_EXTERN int unixsock_connect(const char *name, size_t namelen, int kind,
                                     int timeout_ms, unixsock **ret_sock);

/* Accept one connection, waiting up to the listener's timeout.  Peers refused by
 * the allow-list are closed here and never returned (see unixsock_refused()).
 * -EINVAL once the listener's reading is shut down (unixsock_shutdown with
 * UNIXSOCK_SHUT_RD, here or in another thread, which wakes a waiting accept), as
 * the kernel's blocking accept says. */
UNIXSOCK_EXTERN int unixsock_accept(unixsock *listener, unixsock **ret_conn);

/* A connected pair (socketpair). */
UNIXSOCK_EXTERN int unixsock_pair(int kind, unixsock **ret_a, unixsock **ret_b);

/* Wrap an existing AF_UNIX descriptor.  Checks that it is one (-ENOTSOCK,
 * -EAFNOSUPPORT), reads its kind, sets close-on-exec (and SO_PASSCRED on a
 * seqpacket listener or a named dgram socket: see UNIXSOCK_MSG_CREDS), and takes
 * the fd on success only.  An adopted socket never unlinks anything. */
UNIXSOCK_EXTERN int unixsock_adopt(int fd, unixsock **ret_sock);

/* Close the socket (and, for a listener that created its file, unlink the file if
 * it is still the same inode).  NULL is a no-op. */
UNIXSOCK_EXTERN void unixsock_close(unixsock *sock);

/* Let go of the descriptor but keep the handle, for bindings whose objects can
 * outlive an explicit close: with UNIXSOCK_RELEASE_CLOSE the fd is closed (and a
 * listener's file cleaned up, as unixsock_close does) and 0 is returned; without
 * it the fd is handed to the caller untouched and returned (as unixsock_detach).
 * Later calls on the handle fail with -EBADF; unixsock_close() frees it.  The end
 * of a frame still waiting to be written (unixsock_flush) gets one more try that
 * does not wait; then closing drops it (the peer sees the frame cut, ECONNRESET)
 * and handing the fd over fails with -EBUSY instead, changing nothing.  Handing it
 * over is -EBUSY too inside a frame a receive cut short (its start was read). */
enum { UNIXSOCK_RELEASE_CLOSE = 1u << 0 };
UNIXSOCK_EXTERN int unixsock_release(unixsock *sock, unsigned int flags);

/* Shut down one direction or both (the peer reads end of stream after WR).  Shutting
 * down writing first writes the end of a started frame (unixsock_flush). */
enum { UNIXSOCK_SHUT_RD = 1, UNIXSOCK_SHUT_WR = 2, UNIXSOCK_SHUT_RDWR = 3 };
UNIXSOCK_EXTERN int unixsock_shutdown(unixsock *sock, int how);

/* Give up ownership: returns the fd and frees the handle without closing the fd or
 * unlinking anything.  -EBUSY (and the handle stays the caller's) while the end of
 * a frame is waiting to be written (unixsock_flush), or inside a frame that
 * recv_message or recv_batch cut short (finish it first). */
UNIXSOCK_EXTERN int unixsock_detach(unixsock *sock);

/* ---- bytes -------------------------------------------------------------- */

/* Send bytes.  On a stream every byte is written or the call fails (except with
 * timeout 0, where it returns what the kernel took, or -EAGAIN); a timeout that
 * passes part-way is -ETIMEDOUT with the bytes before it written, as with
 * Python's sendall (a message, by contrast, is cut: see send_message); the end of a
 * frame that a send_message with timeout 0 left (unixsock_flush) goes first.
 * Threads may share a stream: one send's bytes go out together, never mixed with
 * another thread's send or message (a send waits for those, as its timeout allows;
 * with timeout 0 it is -EAGAIN while another thread writes).
 * Returns the number of bytes sent.  Never raises SIGPIPE: a closed peer is -EPIPE. */
UNIXSOCK_EXTERN ssize_t unixsock_send(unixsock *sock, const void *buf, size_t len);

/* A send that never waits, whatever the timeout: the bytes the kernel took now
 * (on a stream possibly fewer than len), or -EAGAIN (also while another thread
 * writes to the stream).  For callers that want to
 * know whether a send would block before paying for blocking (a binding that
 * releases an interpreter lock only when it must). */
UNIXSOCK_EXTERN ssize_t unixsock_try_send(unixsock *sock, const void *buf, size_t len);

/* Receive up to len bytes.  Returns the count, 0 at end of stream.  On dgram and
 * seqpacket a message longer than len is -EMSGSIZE (and is consumed): it is never
 * silently truncated.  len 0 returns 0 at once and consumes nothing.  On a stream
 * that also carries messages, a plain read never splits one: -EBUSY inside a frame
 * that recv_message or recv_batch cut short (finish it with them), and once a
 * frame broke the stream (-EMSGSIZE, -EBADMSG...) that error again. */
UNIXSOCK_EXTERN ssize_t unixsock_recv(unixsock *sock, void *buf, size_t len);

/* One recv that never waits, whatever the timeout: what unixsock_recv would
 * return if the data is there now, else -EAGAIN.  The counterpart of
 * unixsock_try_send, for the same callers. */
UNIXSOCK_EXTERN ssize_t unixsock_try_recv(unixsock *sock, void *buf, size_t len);

/* Send one datagram to an address (dgram).  Stream and seqpacket sockets send
 * only to their peer: an address there is -EISCONN, and nothing is sent.
 * The kernel queues net.unix.max_dgram_qlen datagrams (10 by default) from a
 * sender the receiver is not connected to; while that queue is full the call
 * waits (as its timeout allows) for the receiver to read, asleep: the sender's
 * own fd polls writable meanwhile, so with timeout 0 (-EAGAIN) poll a dgram
 * socket connected to the receiver instead.  So do send_message and
 * send_batch with an address. */
UNIXSOCK_EXTERN ssize_t unixsock_sendto(unixsock *sock, const void *buf, size_t len,
                                        const char *name, size_t namelen);

/* Receive one datagram and the sender's address.  ret_name has *io_namelen bytes of
 * room (UNIXSOCK_ADDRESS_MAX is always enough); on success *io_namelen is the
 * address length (0 for an unbound sender) and the name is NUL-terminated when room
 * allows.  ret_name may be NULL. */
UNIXSOCK_EXTERN ssize_t unixsock_recvfrom(unixsock *sock, void *buf, size_t len,
                                          char *ret_name, size_t *io_namelen);

/* ---- messages ----------------------------------------------------------- */

/* The most descriptors one message carries (the kernel's SCM_MAX_FD). */
#define UNIXSOCK_MAX_FDS 253
/* max_fds for a receiver that accepts no descriptors at all (0 means the most). */
#define UNIXSOCK_NO_FDS ((size_t)-1)
/* Default largest message recv_message accepts (payload bytes). */
#define UNIXSOCK_DEFAULT_MAX_MESSAGE (16u << 20)

/* A process's credentials, as the kernel vouches for them.  pid is 0 for a
 * process in a pid namespace this one cannot see into (the host's, seen from a
 * container); its uid and gid are still the kernel's. */
typedef struct unixsock_creds {
  pid_t pid;
  uid_t uid;
  gid_t gid;
} unixsock_creds;

/* Message flags.  Received credentials are the kernel's record of the sender.  A
 * stream frame has them only when its sender attached them.  On dgram and
 * seqpacket the kernel adds them to every message, attached or not, sent while
 * the receiver has SO_PASSCRED on: a socket from unixsock_bind, a dgram
 * unixsock_connect and a seqpacket listener's connections (adopted ones too) have
 * it from the start; a seqpacket client and a pair turn it on with their first
 * recv_message (earlier, the kernel would autobind them a name), and messages
 * that reached them before that have only the attached ones. */
enum {
  UNIXSOCK_MSG_CREDS = 1u << 0,    /* send: attach own credentials; recv: creds valid */
  UNIXSOCK_MSG_TRUNCATED = 1u << 1 /* recv_batch: the message did not fit its slot */
};

/* One message: a payload, descriptors and credentials.  The same record is used
 * to send (the caller fills it; nothing is taken) and to receive (the library
 * fills it; release it with unixsock_message_release()).
 *
 * Received descriptors belong to the message: take one by copying it out and
 * setting its slot to -1; unixsock_message_release() closes the rest.  They are
 * always close-on-exec. */
typedef struct unixsock_message {
  void *data;           /* payload */
  size_t len;           /* payload length */
  int *fds;             /* descriptors (send: borrowed; recv: owned by the message) */
  size_t nfds;
  unixsock_creds creds; /* recv: the sender's, when flags has UNIXSOCK_MSG_CREDS */
  unsigned int flags;   /* UNIXSOCK_MSG_* */
  size_t max_fds;       /* recv: most descriptors accepted (0 = UNIXSOCK_MAX_FDS,
                           UNIXSOCK_NO_FDS = none) */
  char address[UNIXSOCK_ADDRESS_MAX]; /* dgram only: destination (send; -EISCONN
                                         on the other kinds), sender (recv; none
                                         on the other kinds: it is the peer) */
  size_t addrlen;       /* 0: none (send on a connected socket; unnamed sender) */
} unixsock_message;

/* Send one message.  dgram and seqpacket keep boundaries natively (the payload is
 * the datagram, interoperable with plain send/recv); on a stream the message is a
 * length-prefixed frame (docs/wire-format.md).  More than UNIXSOCK_MAX_FDS
 * descriptors is -E2BIG before any syscall.  On a stream a frame, once started,
 * is always finished or the stream is shut down for writing: never half a frame
 * followed by another.  With timeout 0 a frame the kernel cannot take whole is
 * sent as far as it goes and the rest is kept (a copy) in the handle: the call
 * succeeds, and every later write on the stream writes that rest first (returning
 * -EAGAIN, having written nothing new, while it cannot), as does unixsock_flush;
 * with no memory for that copy it is -ENOMEM and the frame is cut (the stream shut
 * down for writing).  Returns the payload length. */
UNIXSOCK_EXTERN ssize_t unixsock_send_message(unixsock *sock, const unixsock_message *msg);

/* One send_message that never waits, whatever the timeout: what
 * unixsock_send_message does with timeout 0.  On dgram and seqpacket the message
 * is sent whole now, or -EAGAIN and nothing is sent; on a stream a frame the
 * kernel cannot take whole is started and its end kept for unixsock_flush (or
 * -EAGAIN when not a byte of it fits).  The counterpart of unixsock_try_send. */
UNIXSOCK_EXTERN ssize_t unixsock_try_send_message(unixsock *sock, const unixsock_message *msg);

/* Write the end of a frame that a send_message or send_batch with timeout 0
 * started (see there), waiting as the timeout allows.  0 when nothing is left to
 * write (at once when nothing was), -EAGAIN (timeout 0) or -ETIMEDOUT while some
 * is; -EPIPE and other errors of the connection drop it.  Event loops call it
 * when the socket is writable until it returns 0, and before closing. */
UNIXSOCK_EXTERN int unixsock_flush(unixsock *sock);

/* Receive one whole message into *ret_msg (zeroed first; max_fds is read from it
 * before that, and kept, whatever the result, for the next call).  Returns 1 for a message, 0 at end of stream (on dgram: once
 * reading is shut down, its only end), or -errno:
 *   -EMSGSIZE  a message over the socket's maximum (a stream is then shut down
 *              for reading: it cannot be resynchronised);
 *   -ENOBUFS   more descriptors arrived than max_fds allows, or the kernel
 *              truncated them (MSG_CTRUNC); every one that did arrive is closed;
 *   -EBADMSG   a malformed frame header; -ECONNRESET  end of stream mid-frame.
 * On dgram and seqpacket one read takes a packet whole (one syscall), whoever
 * else reads the socket: the calling thread keeps room for the socket's largest
 * message, 64 KiB of memory and past it address space whose pages are handed
 * back after a packet used them.  A packet over 64 KiB is copied out of that
 * room, so after one the next packets are measured first (FIONREAD on dgram,
 * else a peek: two syscalls) and read straight into a buffer of their size,
 * until one fits in 64 KiB again; a packet that another process or a plain recv
 * takes while it is measured leaves the next one, returned whole all the same.
 * Under valgrind (which checks every byte of that room on each call), with
 * vm.overcommit_memory=2 (which would charge that address space as memory, and
 * other allocations could fail for it), and with a maximum over 256 MiB, every
 * packet is measured, and one read in place of
 * the measured one is returned whole only up to 64 KiB longer (else -EMSGSIZE,
 * lost).  A packet over the socket's maximum (unixsock_set_max_message) is
 * -EMSGSIZE, dropped with its descriptors closed, and the next call goes on.
 * An empty packet is a message (1 with len 0) even when the peer left after
 * sending it.
 * Turns SO_PASSCRED on the first time where it is not on yet (see
 * UNIXSOCK_MSG_CREDS). */
UNIXSOCK_EXTERN int unixsock_recv_message(unixsock *sock, unixsock_message *ret_msg);

/* unixsock_recv_message that never waits, whatever the timeout: -EAGAIN when no
 * whole message is there now (a stream frame begun stays for the next call, as
 * a timeout leaves it).  The counterpart of unixsock_try_send_message, for the
 * same callers. */
UNIXSOCK_EXTERN int unixsock_try_recv_message(unixsock *sock, unixsock_message *ret_msg);

/* After sending msg failed with -EBADF on an open socket, which of its fds it
 * was, since the kernel's error names none: the index of the first that is not
 * an open descriptor, or -1 (none is: the socket was closed meanwhile).  The
 * bindings name it ("fds[1] (99) is not an open descriptor"). */
UNIXSOCK_EXTERN int unixsock_message_bad_fd(const unixsock_message *msg);

/* Free a received message's payload and close the descriptors not taken.
 * Safe on a zeroed record; leaves the record zeroed. */
UNIXSOCK_EXTERN void unixsock_message_release(unixsock_message *msg);

/* Largest message payload this socket's recv_message accepts: a stream's frame,
 * a dgram or seqpacket packet (default UNIXSOCK_DEFAULT_MAX_MESSAGE, at most
 * 2^31 - 1). */
UNIXSOCK_EXTERN int unixsock_set_max_message(unixsock *sock, size_t bytes);
/* The current one (it fits an int), or -EINVAL. */
UNIXSOCK_EXTERN int unixsock_get_max_message(const unixsock *sock);

/* Send up to count messages in one call (sendmmsg on dgram and seqpacket; one
 * writev of many frames on a stream).  Returns how many were sent, or -errno if
 * none was.  All are sent unless the timeout ran out, a message failed (its error
 * is returned by the next call) or, with timeout 0, the queue was full (on a
 * stream a frame that started counts as sent: its end is kept as send_message
 * does). */
UNIXSOCK_EXTERN int unixsock_send_batch(unixsock *sock, const unixsock_message *msgs,
                                        size_t count);

/* The Python and Lua recv_batch take at most UNIXSOCK_BATCH_MAX slots (what
 * recvmmsg fills in one call) of at most UNIXSOCK_BATCH_SLOT_MAX bytes each, so
 * one buffer of count * size bytes holds a whole batch and its size cannot wrap.
 * The C calls take any count (on dgram and seqpacket at most
 * UNIXSOCK_BATCH_MAX are filled per call) and slots of any size. */
#define UNIXSOCK_BATCH_MAX 1024
#define UNIXSOCK_BATCH_SLOT_MAX (64 * 1024 * 1024)

/* Receive up to count messages in one call (one recvmmsg on dgram and
 * seqpacket, so at most UNIXSOCK_BATCH_MAX there), waiting up to the timeout for
 * the first only: every one waiting, up to count, comes back.  Each slot's data and len are the
 * caller's buffer and its capacity; the library sets len, fds, creds and address.
 * A datagram or packet longer than its slot comes back with
 * UNIXSOCK_MSG_TRUNCATED and its full length in len (the rest is gone: size slots
 * for your protocol; the flag also marks a slot whose descriptors did not fit and
 * were closed); a stream frame longer than its slot stays unread, ends the
 * batch, and is -EMSGSIZE if it is the first (take it with recv_message).
 * Returns how many slots were filled, 0 at end of stream, or -errno.  Release each
 * slot with unixsock_message_release() to close unclaimed fds (it leaves the
 * caller's buffer alone). */
UNIXSOCK_EXTERN int unixsock_recv_batch(unixsock *sock, unixsock_message *msgs,
                                        size_t count);

/* ---- peer identity ------------------------------------------------------ */

#define UNIXSOCK_LABEL_MAX 256
#define UNIXSOCK_GROUPS_MAX 64

/* Who is at the other end of a connected socket (or a socketpair), as the kernel
 * recorded it at connect time.  Absent values are absent, not errors: pidfd -1
 * (not asked for, or a kernel without SO_PEERPIDFD), label "" (no LSM label),
 * ngroups 0 (unknown). */
typedef struct unixsock_peer_info {
  pid_t pid;
  uid_t uid;
  gid_t gid;
  int pidfd;                       /* with UNIXSOCK_PEER_PIDFD; the caller closes it */
  char label[UNIXSOCK_LABEL_MAX];  /* security label (SO_PEERSEC), NUL-terminated */
  gid_t groups[UNIXSOCK_GROUPS_MAX];
  size_t ngroups;                  /* supplementary groups (SO_PEERGROUPS) */
  int groups_truncated;            /* more than UNIXSOCK_GROUPS_MAX */
} unixsock_peer_info;

/* -ENOTCONN where there is no peer: listeners (the kernel keeps their own identity
 * there, which is never reported as a peer) and dgram sockets (use
 * per-message credentials there). */
enum { UNIXSOCK_PEER_PIDFD = 1u << 0 /* also open a pidfd (a descriptor to close) */ };
UNIXSOCK_EXTERN int unixsock_peer(const unixsock *sock, unsigned int flags,
                                  unixsock_peer_info *ret_info);

/* ---- poller ------------------------------------------------------------- */

typedef struct unixsock_poller unixsock_poller;

enum {
  UNIXSOCK_READABLE = 1u << 0,
  UNIXSOCK_WRITABLE = 1u << 1,
  UNIXSOCK_HANGUP = 1u << 2, /* reported only */
  UNIXSOCK_ERROR = 1u << 3   /* reported only */
};

typedef struct unixsock_event {
  int fd;
  unsigned int events; /* UNIXSOCK_READABLE | ... */
  void *data;          /* what was registered with the fd */
} unixsock_event;

/* A readiness poller (epoll) over any descriptors: unixsock_fd() of sockets, raw
 * fds.  It borrows the fds: remove an fd before closing it.  As with epoll, one
 * thread may wait while others set and remove descriptors. */
UNIXSOCK_EXTERN int unixsock_poller_new(unixsock_poller **ret_poller);
UNIXSOCK_EXTERN void unixsock_poller_free(unixsock_poller *poller);
/* Add fd, or change its events and data if it is already there.  A negative fd
 * (a closed socket's or fd object's) is -EBADF for set and remove alike. */
UNIXSOCK_EXTERN int unixsock_poller_set(unixsock_poller *poller, int fd, unsigned int events,
                                        void *data);
UNIXSOCK_EXTERN int unixsock_poller_remove(unixsock_poller *poller, int fd);
/* Wait up to timeout_ms (-1 forever, 0 not at all) for at least one event; fills
 * up to max events and returns how many (0 on timeout).  EINTR is retried within
 * the deadline. */
UNIXSOCK_EXTERN int unixsock_poller_wait(unixsock_poller *poller, unixsock_event *ret_events,
                                         size_t max, int timeout_ms);
UNIXSOCK_EXTERN int unixsock_poller_fd(const unixsock_poller *poller);

/* ---- socket activation -------------------------------------------------- */

typedef struct unixsock_listen_fd {
  unixsock *sock;         /* adopted (never unlinks), or NULL when error is set */
  int fd;                 /* the inherited descriptor */
  int error;              /* 0, or why it was not adopted (-EAFNOSUPPORT: not AF_UNIX) */
  char name[256];         /* from LISTEN_FDNAMES, "" when absent */
} unixsock_listen_fd;

/* Adopt the sockets a service manager passed (systemd's LISTEN_PID, LISTEN_FDS,
 * LISTEN_FDNAMES; fds from 3).  Fills up to max entries and returns how many fds
 * were passed (0 when none were, or they were meant for another process); fds past
 * max are left alone, so call with max 0 (ret_fds may be NULL, nothing is adopted)
 * to size the array first.  -EINVAL, as sd_listen_fds says, when LISTEN_PID is not
 * a process id or LISTEN_FDS (for this process) is not 0 to UNIXSOCK_LISTEN_FDS_MAX.
 * With unset_environment the variables are removed, as sd_listen_fds does.  An fd
 * that is not AF_UNIX is left open, not adopted, and reported with its error. */
#define UNIXSOCK_LISTEN_FDS_MAX 32767
UNIXSOCK_EXTERN int unixsock_listen_fds(int unset_environment, unixsock_listen_fd *ret_fds,
                                        size_t max);

/* Why unixsock_listen_fds() returns -EINVAL now: which variable holds what ("LISTEN_FDS
 * must be 0 to 32767"), or NULL.  Call it before the variables are unset.  For
 * error messages; the text is static. */
UNIXSOCK_EXTERN const char *unixsock_listen_fds_error(void);

/* ---- control ------------------------------------------------------------ */

/* Timeouts are milliseconds: -1 waits for ever, 0 never waits, > 0 bounds each
 * whole call.  unixsock_timeout_ms turns seconds (what the bindings and the CLI
 * take) into them the one way every language shares: rounded up, so a small
 * positive time never becomes "do not wait"; +infinity is -1; a finite time past
 * INT_MAX ms is INT_MAX (24.8 days).  -EINVAL for NaN or a negative time. */
UNIXSOCK_EXTERN int unixsock_timeout_ms(double seconds, int *ret_ms);
UNIXSOCK_EXTERN int unixsock_settimeout(unixsock *sock, int timeout_ms);
UNIXSOCK_EXTERN int unixsock_gettimeout(const unixsock *sock);
UNIXSOCK_EXTERN int unixsock_fd(const unixsock *sock);
UNIXSOCK_EXTERN int unixsock_kind(const unixsock *sock);
/* 1 when the socket listens (accept takes connections from it), 0 when it does
 * not (a connection, a dgram socket), or -errno.  The kernel's answer
 * (SO_ACCEPTCONN), so it holds for adopted and activated sockets too: systemd
 * passes listeners (Accept=no) or connections (Accept=yes). */
UNIXSOCK_EXTERN int unixsock_listening(const unixsock *sock);
/* "stream", "dgram", "seqpacket"; NULL for an unknown kind. */
UNIXSOCK_EXTERN const char *unixsock_kind_name(int kind);
/* Parse a kind name; -EINVAL when unknown. */
UNIXSOCK_EXTERN int unixsock_kind_parse(const char *name);

/* This socket's address and the connected peer's, in the address syntax above
 * (abstract and autobound names intact, "" for an unnamed socket).  A long path
 * that was reached through its directory is reported as given (for a connection
 * accepted there too: its listener's), so it may need up
 * to PATH_MAX bytes; -ENOBUFS when ret_name is too small.  ret_name may be NULL
 * to learn the length. */
UNIXSOCK_EXTERN int unixsock_local_address(const unixsock *sock, char *ret_name,
                                           size_t *io_namelen);
UNIXSOCK_EXTERN int unixsock_peer_address(const unixsock *sock, char *ret_name,
                                          size_t *io_namelen);
/* The address that an error result of a call on this socket names, for messages
 * ("send /run/app.sock: Broken pipe"), in the same syntax and with the same
 * buffer contract: the address given to connect, listen or bind, as given; else
 * the peer's, if it has a name; else the socket's own (an accepted connection's
 * is its listener's).  "" when there is none (a pair), and for -EAGAIN, which a
 * poller meets on every empty try: that one names nothing, so that it costs no
 * syscall.  The bindings name every failed call this way. */
UNIXSOCK_EXTERN int unixsock_error_address(const unixsock *sock, int result,
                                           char *ret_name, size_t *io_namelen);

/* Why a stream's messages stopped, where the errno alone does not say: once
 * recv_message or recv_batch on a stream failed for good (its -EBADMSG,
 * -EMSGSIZE or -ECONNRESET), a sentence such as
 *   not a unixsock frame header: "hello th" (a peer that sends plain bytes,
 *   not frames?)
 *   the stream ended 10 bytes into a 4096-byte message
 * For result, a call's error on sock: copies the sentence, NUL-terminated and
 * cut to fit, into buf (size bytes; 0 copies nothing) and returns its whole
 * length; 0 when result is not how the stream broke (no frame broke on this
 * socket, the kernel's own error said it all, or result is another error, as
 * the -EAGAIN of an empty try).  The bindings add it to every error it fits. */
UNIXSOCK_EXTERN size_t unixsock_frame_error(const unixsock *sock, int result, char *buf,
                                            size_t size);

/* After result, the error of op ("accept", "recv", "send", "sendto", "peer"...,
 * as the call is named) on sock, what the kernel's errno leaves unsaid: that
 * the call does not fit what sock is, or who a send waited for in vain:
 *   this stream socket listens: it only accepts connections; recv on one that
 *   accept returns                      (EINVAL, ENOTCONN on a listener)
 *   this stream socket is not a listener: only one made by listen accepts
 *   connections                         (accept's EINVAL on a connection)
 *   a dgram socket has no connections to accept: ...
 *   a stream socket sends only to its peer: send without an address (EISCONN)
 *   this dgram socket is not connected: give each datagram an address (sendto)
 *   the peer has not read what was sent before: its receive buffer, and this
 *   socket's send buffer, are full     (a send's ETIMEDOUT)
 *   the peer closed before reading all that this socket sent it
 *                                      (ECONNRESET on a stream or seqpacket)
 *   the peer closed its end, or shut down its reading: nothing more reaches
 *   it; this socket was shut down for writing: it sends nothing more  (EPIPE)
 *   this socket sends a datagram of at most 212960 bytes: its send buffer
 *   (212992 bytes) less 32; a larger send_buffer raises it (up to
 *   net.core.wmem_max, 212992 bytes)   (a send's EMSGSIZE, dgram or seqpacket)
 *   the datagram that arrived had 100 bytes, more than recv asked for: it was
 *   dropped, not cut (ask for as many, or use recv_message)
 *   a seqpacket message of 100 bytes, over this socket's max_message (50): it
 *   was dropped                        (a receive's EMSGSIZE)
 *   the next frame has 100 bytes, more than recv_batch's size lets one message
 *   hold: it waits, whole, for a larger size or recv_message
 *                                      (a stream's recv_batch EMSGSIZE)
 *   3 descriptors came with a message, more than max_fds (2) allows: they were
 *   closed, and the message was dropped
 *   the kernel cut the descriptors that came with a message (MSG_CTRUNC): this
 *   process holds 61 descriptors, and its limit (RLIMIT_NOFILE, ulimit -n) is
 *   64; ...                            (a receive's ENOBUFS, dgram or seqpacket;
 *                                       a stream's: unixsock_frame_error)
 *   this process holds as many descriptors as its limit allows (RLIMIT_NOFILE,
 *   ulimit -n: 64)                     (EMFILE, of any call: sock may be NULL)
 * Copies it as unixsock_frame_error does and returns its whole length; 0 when
 * there is nothing to add (or result is another error, as the -EAGAIN of an
 * empty try).
 * Asks the kernel whether sock listens: for error paths.  The bindings add it
 * to those errors. */
UNIXSOCK_EXTERN size_t unixsock_call_error(const unixsock *sock, const char *op, int result,
                                           char *buf, size_t size);

/* After result, the error of a call given the descriptor fd (unixsock_adopt,
 * unixsock_poller_set, unixsock_poller_remove), what fd is where the errno
 * ("Socket operation on non-socket", "Address family not supported by
 * protocol", "Operation not permitted") does not say: "descriptor 5 is a
 * regular file, not a socket", "descriptor 5 is an AF_INET socket, not an
 * AF_UNIX one", "descriptor 5 is a regular file, which epoll cannot watch: it
 * is always ready", "descriptor 5 is not watched by this poller", "descriptor 9
 * is not open".  Copies it as unixsock_frame_error does and returns its whole
 * length; 0 when there is nothing to add.  The bindings add it to those
 * calls' errors. */
UNIXSOCK_EXTERN size_t unixsock_fd_error(int fd, int result, char *buf, size_t size);

/* After result, the -EACCES of a call given name (connect, sendto, send_message
 * with an address: creating 0; listen, bind: creating 1), which file refused
 * and why, in words: "uid 65534 (nobody) may not write to /run/app.sock (owner
 * root:root mode 0600)", or may not search a directory on the way, or may not
 * create files in the socket file's directory; the kernel's "Permission
 * denied" says none of that.  Asked after the fact, with this process's
 * effective ids.  Returns the text's length (buf, NUL-terminated, holds what
 * fits; NULL: the length alone), 0 when result is not -EACCES, name is abstract
 * (no permissions there), or no file refuses now.  The bindings add it to those
 * errors, and the CLI on a line of its own. */
UNIXSOCK_EXTERN size_t unixsock_access_error(const char *name, size_t namelen, int result,
                                             int creating, char *buf, size_t size);

/* After result, the error of op ("connect", "listen", "bind", or a send such as
 * "sendto") given name as a kind socket, what the errno leaves unsaid, in
 * words, found without connecting:
 *  - ECONNREFUSED, EPROTOTYPE: what is there instead ("/run/app.sock is a
 *    regular file, not a socket", "... is a stale socket file: nobody answers
 *    there", "the stream socket bound to ... does not listen", "... is a dgram
 *    socket, not a stream one", "no stream socket holds @x; a dgram socket does");
 *  - EADDRINUSE, EEXIST (listen, bind): what holds the address ("... is in use
 *    by a seqpacket socket", "... is a regular file, which listen never replaces");
 *  - ENOENT, ENOTDIR: a symbolic link that leads nowhere, and where it points;
 *    a directory on the way that is missing, or is a file;
 *  - ENAMETOOLONG: which limit the name broke (an abstract name's 107 bytes, a
 *    file name's 255, a path's 4095, a long path's own name's 90 or so, a
 *    message's address field's UNIXSOCK_ADDRESS_MAX);
 *  - ETIMEDOUT, EAGAIN (connect): the listener's backlog is full;
 *  - ETIMEDOUT (a dgram send): the receiver has not read what came before;
 *  - EPERM (a dgram send): the socket there is connected to another;
 *  - EACCES: unixsock_access_error's text (listen and bind create);
 *  - EINVAL for "": an empty address names no socket; for a path holding a NUL
 *    byte: a path cannot hold one (a leading one: an abstract name is @name).
 * *other_kind (may be NULL): the one other kind the text says holds the name,
 * else 0 (the CLI says "try -k dgram").  Returns the text's length (buf,
 * NUL-terminated, holds what fits; NULL: the length alone), 0 when there is
 * nothing to add.  The bindings add it to those errors, and the CLI on a line
 * of its own. */
UNIXSOCK_EXTERN size_t unixsock_address_error(const char *op, int kind, const char *name,
                                              size_t namelen, int result, int *other_kind,
                                              char *buf, size_t size);

/* Kernel buffer sizes in bytes (SO_SNDBUF / SO_RCVBUF). */
UNIXSOCK_EXTERN int unixsock_set_send_buffer(unixsock *sock, int bytes);
UNIXSOCK_EXTERN int unixsock_get_send_buffer(const unixsock *sock);
UNIXSOCK_EXTERN int unixsock_set_recv_buffer(unixsock *sock, int bytes);
UNIXSOCK_EXTERN int unixsock_get_recv_buffer(const unixsock *sock);

/* How many peers the allow-list refused on this socket so far. */
UNIXSOCK_EXTERN unsigned long long unixsock_refused(const unixsock *sock);

/* ---- signals ------------------------------------------------------------ */

/* EINTR is retried inside the library.  A program that wants a signal to end a
 * blocking call (Ctrl-C in Python, a host's shutdown) installs a hook: it runs on
 * every EINTR, and a nonzero return ends the call with -EINTR.  Process-wide; set
 * it before starting threads.  NULL removes it. */
typedef int (*unixsock_interrupt_fn)(void *arg);
UNIXSOCK_EXTERN void unixsock_set_interrupt_hook(unixsock_interrupt_fn fn, void *arg);

/* ---- errors ------------------------------------------------------------- */

/* Text for a negative result ("No such file or directory"); never NULL.  The
 * library's own -E2BIG (too many descriptors, which the kernel never returns
 * here) says so: "More than 253 descriptors in one message". */
UNIXSOCK_EXTERN const char *unixsock_strerror(int result);
/* The errno's name for a negative result ("ENOENT"); never NULL. */
UNIXSOCK_EXTERN const char *unixsock_errname(int result);
/* An address as error messages show it (the bindings' and the CLI's): its bytes
 * as they are, UTF-8 included, but control bytes (an abstract name's NUL, a
 * newline) as \xNN; an empty one as "".  Writes at most outsize - 1 bytes and a
 * NUL, cut before an escape rather than inside it (4 * namelen + 3 bytes always
 * hold it all); returns the length written. */
UNIXSOCK_EXTERN size_t unixsock_address_text(const char *name, size_t namelen, char *out,
                                             size_t outsize);

#ifdef __cplusplus
}
#endif

#endif /* UNIXSOCK_H */
