/* What the files of the Python extension (unixsock._capi) share: the handle a
 * Python Socket holds, how arguments are read, how errors are raised, and how
 * a call releases the GIL.  Every rule lives in core/; these only adapt Python
 * objects to it.  The helpers every send and receive calls are inline here: the
 * extension is built without link-time optimisation, and a call each would show
 * in the instructions per round trip (bench/). */
#ifndef UNIXSOCK_BINDINGS_SHIM_H
#define UNIXSOCK_BINDINGS_SHIM_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdbool.h>

#include "unixsock.h"

/* A shim's result, for the SWIG typemaps (unixsock.i): negative is -errno.
 * us_status_at also names the address it was given (its first argument pair);
 * us_status_on names its socket (its first argument). */
typedef long us_status;
typedef long us_status_at;
typedef long us_status_on;
typedef unixsock us_socket;

/* ---- the handle (handle.c) ---- */

/* A Python Socket's handle is a capsule that owns the socket: its destructor
 * closes and frees it (with a ResourceWarning if it was never closed).  Capsules
 * carry no name (PyCapsule_GetPointer would strcmp it on every call); their
 * context points at this tag instead, which no other capsule can have. */
extern const char us_capsule_tag[];

/* A capsule that owns sock; NULL with an exception, sock then closed. */
PyObject *us_wrap(unixsock *sock);

/* A handle argument -> the socket: NULL for None (a closed Python Socket: the
 * call is then EBADF), -1 with TypeError for anything that is not our capsule. */
static inline int us_handle_of(PyObject *o, unixsock **ret) {
  *ret = NULL;
  if (o == Py_None)
    return 0;
  if (!PyCapsule_CheckExact(o) || PyCapsule_GetContext(o) != us_capsule_tag) {
    PyErr_SetString(PyExc_TypeError, "expected a unixsock handle");
    return -1;
  }
  *ret = (unixsock *)PyCapsule_GetPointer(o, NULL);
  return *ret != NULL ? 0 : -1;
}

/* ---- arguments (arguments.c) ---- */

/* PyObject_GetBuffer(o, view, PyBUF_SIMPLE), filled here for bytes, the usual
 * payload, without the protocol's calls; released alike by PyBuffer_Release
 * (bytes have no releasebuffer: the view holds a reference, as the protocol's). */
static inline int us_get_buffer(PyObject *o, Py_buffer *view) {
  if (!PyBytes_CheckExact(o))
    return PyObject_GetBuffer(o, view, PyBUF_SIMPLE);
  Py_INCREF(o);
  *view = (Py_buffer){.obj = o, .buf = PyBytes_AS_STRING(o), .len = PyBytes_GET_SIZE(o),
                      .readonly = 1, .itemsize = 1, .ndim = 1};
  return 0;
}

/* A payload argument: any object with the buffer protocol, never str (whose
 * bytes would depend on an encoding).  -1 with the TypeError. */
static inline int us_get_data(PyObject *o, Py_buffer *view) {
  if (PyUnicode_Check(o)) {
    PyErr_SetString(PyExc_TypeError, "data must be bytes-like, not str");
    return -1;
  }
  return us_get_buffer(o, view);
}

/* An integer argument read as Python 3.10 and later read one, on every version:
 * an int, or an object with __index__, never a float (3.8 and 3.9 cut a float
 * down, with a DeprecationWarning, where socket's own calls refuse it).  -1 with
 * the error set, as PyLong_AsLong. */
long us_index_as_long(PyObject *o); /* its slow path: the object's __index__ */
static inline long us_as_long(PyObject *o) {
  return PyLong_CheckExact(o) ? PyLong_AsLong(o) : us_index_as_long(o);
}

/* The same for long long (owners, max_message). */
long long us_as_long_long(PyObject *o);

/* An address argument as bytes: a str encoded as os.fsencode does, another
 * bytes-like object copied (bytes itself shared), an os.PathLike's path.  NULL
 * with TypeError for anything else. */
PyObject *us_address_bytes(PyObject *o);

/* A sequence of descriptors (ints, or objects with fileno()) -> fds, which
 * holds UNIXSOCK_MAX_FDS.  More than that are not read: *ret_n says how many
 * there are, so the caller can refuse them (E2BIG).  item >= 0 is the
 * send_batch item an error names.  -1 with the TypeError. */
int us_fd_list(PyObject *seq, int *fds, size_t *ret_n, Py_ssize_t item);

/* Python's max_fds=0 accepts none (the core's 0 means the most). */
static inline size_t us_fd_limit(long max_fds) {
  return max_fds == 0 ? UNIXSOCK_NO_FDS : (size_t)max_fds;
}

/* An allow list (any iterable of ints, or None) as the core's array, which the
 * caller frees with PyMem_Free; a bad one raises, naming field and the entry at
 * fault (-1). */
int us_id_list(PyObject *seq, const char *field, unsigned int **ret, size_t *ret_n);

/* ---- errors (errors.c) ----
 * Each raises the OSError subclass of -r, the address as its filename, and "in
 * unixsock.<op>" as a note; a Python error already set (a bad argument, a
 * signal handler's KeyboardInterrupt) is kept instead. */

/* ... with why as the message, and more (if not NULL) as a second note. */
void us_raise_noted(long r, const char *why, const char *op, const char *name, size_t namelen,
                    const char *more);

/* An error at name, given as a kind socket (0: unknown) in a call on sock (NULL:
 * none yet), with a second note for what the errno leaves unsaid
 * (unixsock_address_error, then unixsock_call_error). */
void us_raise_why(long r, const char *why, const char *op, int kind, const unixsock *sock,
                  const char *name, size_t namelen);
void us_raise(long r, const char *op, int kind, const unixsock *sock, const char *name,
              size_t namelen);

/* An error of a call on sock (NULL: closed), naming the address the core picks
 * for it; us_raise_on adds what a broken frame or a call that does not fit the
 * socket says, us_raise_on_noted the note given. */
void us_raise_on(long r, const char *op, const unixsock *sock);
void us_raise_on_noted(long r, const char *op, const unixsock *sock, const char *more);

/* An error of sending m (to name, if namelen > 0) on sock: an -EBADF that was
 * one of m's fds names it.  item >= 0: m is that item of a batch. */
void us_raise_sent(long r, const char *op, const unixsock *sock, const char *name,
                   size_t namelen, const unixsock_message *m, int item);

/* A size socket.recv* refuses with ValueError, refused the same way (its
 * message); an argument the core would refuse, as OSError(EINVAL, msg).  Both
 * return -EINVAL, for the shim to return. */
long us_bad_size(const char *msg);
long us_einval(const char *msg);

/* ---- the GIL ---- */

/* Blocking calls release the GIL; a socket with timeout 0 cannot block, so it
 * keeps the GIL and saves the hand-over. */
#define US_BLOCKING(sock, expr, result)                                          \
  do {                                                                           \
    if (unixsock_gettimeout(sock) == 0) {                                        \
      result = (expr);                                                           \
    } else {                                                                     \
      Py_BEGIN_ALLOW_THREADS result = (expr);                                    \
      Py_END_ALLOW_THREADS                                                       \
    }                                                                            \
  } while (0)

/* US_BLOCKING, but on dgram and seqpacket try_expr (the same call that never
 * waits) goes first with the GIL held: only a call that must wait releases it. */
#define US_PACKET_TRY_FIRST(sock, try_expr, expr, result)                       \
  do {                                                                           \
    if (unixsock_gettimeout(sock) != 0 && unixsock_kind(sock) != UNIXSOCK_STREAM && \
        (result = (try_expr)) != -EAGAIN)                                        \
      break;                                                                     \
    US_BLOCKING(sock, expr, result);                                             \
  } while (0)

/* ---- the calls a Socket binds to its handle (fast_calls.c, message_calls.c) ---- */

/* recv into a new bytes object; now: never wait, and None instead of -EAGAIN
 * (try_recv: for pollers, without an exception). */
us_status_on us_recv_new(us_socket *sock, long size, bool now, PyObject **ret_obj);

/* send_message and recv_message, with the vectorcall convention (see there). */
PyObject *us_send_message(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames);
PyObject *us_recv_message(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames);

/* Adds send, recv, try_recv, recv_into, sendto, recvfrom, send_message and
 * recv_message to module m, each as "us_" + its name.  -1 with an exception. */
int us_add_native_methods(PyObject *m);

/* ---- batches (batch.c), wrapped by SWIG ---- */

/* messages: bytes-like objects, (data, fds[, creds[, address]]) tuples, or
 * received Message objects (their data, fds, whether they had credentials, and
 * their sender as where they go) -> how many were sent */
us_status_on us_send_batch(us_socket *sock, PyObject *messages);

/* -> a list of at most count Message objects, data cut to size bytes each */
us_status_on us_recv_batch(us_socket *sock, long count, long size, long max_fds, PyObject **ret_obj);

#endif
