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
 *                                       (the bytes after '@' may contain NUL);
 *      "" (namelen 0)                   autobind (bind only): the kernel picks a name.
 *    A path that does not fit sun_path is -ENAMETOOLONG, never truncated; when its
 *    directory exists it is reached through a directory descriptor instead.
 *  - Timeouts are in milliseconds: -1 blocks, 0 never blocks (-EAGAIN), > 0 bounds the
 *    whole call (-ETIMEDOUT).  EINTR is retried inside the library.
 *  - Every descriptor the library creates is close-on-exec; no send raises SIGPIPE.
 *  - Ownership: a unixsock handle owns its fd.  "borrows" means the caller keeps
 *    ownership; "takes" means the library closes it.  unixsock_close(NULL) is a no-op.
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
  long long uid;     /* owner of the socket file; -1 = leave */
  long long gid;     /* group of the socket file; -1 = leave */
  /* Access control (listen: checked on accept with SO_PEERCRED; dgram: checked on
   * each message's credentials).  A peer is admitted when its uid is in allow_uids
   * or its gid is in allow_gids; with both lists empty every peer is admitted. */
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
 * opts->mode and is never more open than that, even for an instant.  The listener
 * unlinks its file on close only if the path still holds the inode it created.
 * opts may be NULL.  The new handle is returned in *ret_sock. */
UNIXSOCK_EXTERN int unixsock_listen(const char *name, size_t namelen, int kind,
                                    const unixsock_options *opts, unixsock **ret_sock);

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
 * the allow-list are closed here and never returned (see unixsock_refused()). */
UNIXSOCK_EXTERN int unixsock_accept(unixsock *listener, unixsock **ret_conn);

/* A connected pair (socketpair). */
UNIXSOCK_EXTERN int unixsock_pair(int kind, unixsock **ret_a, unixsock **ret_b);

/* Wrap an existing AF_UNIX descriptor.  Checks that it is one (-ENOTSOCK,
 * -EAFNOSUPPORT), reads its kind, sets close-on-exec, and takes the fd on success
 * only.  An adopted socket never unlinks anything. */
UNIXSOCK_EXTERN int unixsock_adopt(int fd, unixsock **ret_sock);

/* Close the socket (and, for a listener that created its file, unlink the file if
 * it is still the same inode).  NULL is a no-op. */
UNIXSOCK_EXTERN void unixsock_close(unixsock *sock);

/* Give up ownership: returns the fd and frees the handle without closing the fd or
 * unlinking anything. */
UNIXSOCK_EXTERN int unixsock_detach(unixsock *sock);

/* ---- bytes -------------------------------------------------------------- */

/* Send bytes.  On a stream every byte is written or the call fails (except with
 * timeout 0, where it returns what the kernel took, or -EAGAIN).  Returns the
 * number of bytes sent.  Never raises SIGPIPE: a closed peer is -EPIPE. */
UNIXSOCK_EXTERN ssize_t unixsock_send(unixsock *sock, const void *buf, size_t len);

/* Receive up to len bytes.  Returns the count, 0 at end of stream.  On dgram and
 * seqpacket a message longer than len is -EMSGSIZE (and is consumed): it is never
 * silently truncated. */
UNIXSOCK_EXTERN ssize_t unixsock_recv(unixsock *sock, void *buf, size_t len);

/* Send one datagram to an address (dgram). */
UNIXSOCK_EXTERN ssize_t unixsock_sendto(unixsock *sock, const void *buf, size_t len,
                                        const char *name, size_t namelen);

/* Receive one datagram and the sender's address.  ret_name has *io_namelen bytes of
 * room (UNIXSOCK_ADDRESS_MAX is always enough); on success *io_namelen is the
 * address length (0 for an unbound sender) and the name is NUL-terminated when room
 * allows.  ret_name may be NULL. */
UNIXSOCK_EXTERN ssize_t unixsock_recvfrom(unixsock *sock, void *buf, size_t len,
                                          char *ret_name, size_t *io_namelen);

/* ---- control ------------------------------------------------------------ */

UNIXSOCK_EXTERN int unixsock_settimeout(unixsock *sock, int timeout_ms);
UNIXSOCK_EXTERN int unixsock_gettimeout(const unixsock *sock);
UNIXSOCK_EXTERN int unixsock_fd(const unixsock *sock);
UNIXSOCK_EXTERN int unixsock_kind(const unixsock *sock);
/* "stream", "dgram", "seqpacket"; NULL for an unknown kind. */
UNIXSOCK_EXTERN const char *unixsock_kind_name(int kind);
/* Parse a kind name; -EINVAL when unknown. */
UNIXSOCK_EXTERN int unixsock_kind_parse(const char *name);

/* This socket's address and the connected peer's, in the address syntax above
 * (abstract and autobound names intact, "" for an unnamed socket).  A long path
 * that was reached through its directory is reported as given, so it may need up
 * to PATH_MAX bytes; -ENOBUFS when ret_name is too small.  ret_name may be NULL
 * to learn the length. */
UNIXSOCK_EXTERN int unixsock_local_address(const unixsock *sock, char *ret_name,
                                           size_t *io_namelen);
UNIXSOCK_EXTERN int unixsock_peer_address(const unixsock *sock, char *ret_name,
                                          size_t *io_namelen);

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

/* Text for a negative result ("No such file or directory"); never NULL. */
UNIXSOCK_EXTERN const char *unixsock_strerror(int result);
/* The errno's name for a negative result ("ENOENT"); never NULL. */
UNIXSOCK_EXTERN const char *unixsock_errname(int result);

#ifdef __cplusplus
}
#endif

#endif /* UNIXSOCK_H */
