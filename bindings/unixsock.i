/* SWIG interface: the raw Python layer over core/.  Users import the `unixsock`
 * package (python/unixsock/), never this module.
 *
 * The shim functions below only adapt arguments (Python objects in and out, the
 * GIL); every rule lives in core/.  Their contract for the typemaps (shim.h):
 *  - a function returning us_status fails when the value is negative (-errno);
 *  - a function returning us_status_at also names the address it was given, which
 *    is always its first argument pair (name, namelen): it becomes `filename`;
 *  - a function returning us_status_on names its socket, always its first
 *    argument, by the address core's unixsock_error_address picks.
 * The rest of the extension is C of its own, by concern: the handle (handle.c),
 * arguments (arguments.c), errors (errors.c), the calls a Socket binds to its
 * handle (fast_calls.c, message_calls.c: vectorcall, which SWIG's wrappers are
 * not), batches (batch.c) and the Message type (message_type.c). */
%module(package="unixsock") capi

%{
#include <limits.h>
#include <unistd.h>

#include "message_type.h"
#include "shim.h"

/* The core retries EINTR; this hook lets Python's signal handlers run on each one
 * and ends the call when a handler raised (KeyboardInterrupt). */
static int us_check_signals(void *arg) {
  (void)arg;
  PyGILState_STATE st = PyGILState_Ensure();
  int stop = PyErr_CheckSignals() < 0;
  PyGILState_Release(st);
  return stop;
}
%}

typedef long us_status;
typedef long us_status_at;
typedef long us_status_on;
typedef struct unixsock us_socket;

%init %{
  unixsock_set_interrupt_hook(us_check_signals, NULL);
%}

/* ---- results ---- */

%typemap(out) us_status {
  if ($1 < 0) {
    us_raise($1, "$symname" + 3, 0, NULL, NULL, 0);
    SWIG_fail;
  }
  $result = PyLong_FromLong($1);
}

%typemap(out) us_status_at {
  if ($1 < 0) {
    us_raise($1, "$symname" + 3, 0, NULL, arg1, arg2);
    SWIG_fail;
  }
  $result = PyLong_FromLong($1);
}

%typemap(out) us_status_on {
  if ($1 < 0) {
    us_raise_on($1, "$symname" + 3, arg1);
    SWIG_fail;
  }
  $result = PyLong_FromLong($1);
}

/* ---- arguments ---- */

/* The opaque handle travels as a capsule that owns it: the capsule's destructor
 * closes and frees the socket, so a handle can never dangle.  An explicit close
 * only releases the fd (unixsock_release), and every later call on the handle is
 * EBADF.  None (a closed Python Socket) arrives as NULL and is EBADF too. */
%typemap(in) us_socket * {
  if (us_handle_of($input, &$1) < 0)
    SWIG_fail;
}

/* A new handle returned through an out-pointer. */
%typemap(in, numinputs=0) us_socket **ret (us_socket *tmp = NULL) {
  $1 = &tmp;
}
%typemap(argout) us_socket **ret {
  Py_DECREF($result);
  $result = us_wrap(*$1);
  if ($result == NULL)
    SWIG_fail;
}

/* Two handles (pair): one typemap for both, so neither is wrapped twice. */
%typemap(in, numinputs=0) (us_socket **ret_a, us_socket **ret_b) (us_socket *a = NULL, us_socket *b = NULL) {
  $1 = &a;
  $2 = &b;
}
%typemap(argout) (us_socket **ret_a, us_socket **ret_b) {
  PyObject *first = us_wrap(*$1);
  PyObject *second = us_wrap(*$2);
  Py_DECREF($result);
  $result = (first && second) ? PyTuple_Pack(2, first, second) : NULL;
  Py_XDECREF(first);
  Py_XDECREF(second);
  if ($result == NULL)
    SWIG_fail;
}

/* Addresses: str (encoded like os.fsencode) or any bytes-like object. */
%typemap(in) (const char *name, size_t namelen) (PyObject *encoded = NULL) {
  encoded = us_address_bytes($input);
  if (encoded == NULL)
    SWIG_fail;
  $1 = ($1_ltype)PyBytes_AS_STRING(encoded);
  $2 = (size_t)PyBytes_GET_SIZE(encoded);
}
%typemap(freearg) (const char *name, size_t namelen) {
  Py_XDECREF(encoded$argnum);
}

/* A Python object handed back through an out-pointer (bytes, tuples). */
%typemap(in, numinputs=0) PyObject **ret_obj (PyObject *tmp = NULL) {
  $1 = &tmp;
}
%typemap(argout) PyObject **ret_obj {
  Py_DECREF($result);
  $result = *$1;
}

/* Integers (sizes, counts): Python's own conversion and message, the same as the
 * socket module's ("'str' object cannot be interpreted as an integer"). */
%typemap(in) long {
  $1 = us_as_long($input);
  if ($1 == -1 && PyErr_Occurred())
    SWIG_fail;
}
/* ... and the same for int (kinds, modes, buffer sizes) and long long (owners):
 * SWIG's own would name its wrapper ("in method 'us_listen', argument 5"). */
%typemap(in) int (long v) {
  v = us_as_long($input);
  if (v == -1 && PyErr_Occurred())
    SWIG_fail;
  if (v < INT_MIN || v > INT_MAX)
    SWIG_exception_fail(SWIG_OverflowError, "Python int too large to convert to C int");
  $1 = (int)v;
}
%typemap(in) long long {
  $1 = us_as_long_long($input);
  if ($1 == -1 && PyErr_Occurred())
    SWIG_fail;
}
%typemap(in) PyObject *allow_uids "$1 = $input;"
%typemap(in) PyObject *allow_gids "$1 = $input;"

/* ---- the shim ---- */

%constant int STREAM = UNIXSOCK_STREAM;
%constant int DGRAM = UNIXSOCK_DGRAM;
%constant int SEQPACKET = UNIXSOCK_SEQPACKET;
%constant int ADDRESS_MAX = UNIXSOCK_ADDRESS_MAX;
%constant int MAX_FDS = UNIXSOCK_MAX_FDS;
%constant int VERSION_MAJOR = UNIXSOCK_VERSION_MAJOR;
%constant int VERSION_MINOR = UNIXSOCK_VERSION_MINOR;
%constant int VERSION_PATCH = UNIXSOCK_VERSION_PATCH;

%inline %{

static us_status us_kind_parse(const char *kind) {
  return unixsock_kind_parse(kind);
}

static const char *us_kind_name(int kind) {
  const char *n = unixsock_kind_name(kind);
  return n != NULL ? n : "unknown";
}

static const char *us_errname(int err) {
  return unixsock_errname(err < 0 ? err : -err);
}

static const char *us_strerror(int err) {
  return unixsock_strerror(err < 0 ? err : -err);
}

/* seconds -> the core's milliseconds (-1: for ever), or None for NaN or a
 * negative time, which the Python layer refuses with its ValueError */
static PyObject *us_timeout_ms(double seconds) {
  int ms;
  if (unixsock_timeout_ms(seconds, &ms) < 0)
    Py_RETURN_NONE;
  return PyLong_FromLong(ms);
}
%}

%{
static us_status_at us_listen(const char *name, size_t namelen, int kind, int backlog,
                              int mode, long long uid, long long gid, PyObject *allow_uids,
                              PyObject *allow_gids, us_socket **ret) {
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  unsigned int *uids = NULL, *gids = NULL;
  long r;
  if (us_id_list(allow_uids, "allow_uids", &uids, &o.allow_uids_count) < 0 ||
      us_id_list(allow_gids, "allow_gids", &gids, &o.allow_gids_count) < 0) {
    PyMem_Free(uids);
    return -EINVAL; /* the Python error is already set and kept */
  }
  o.allow_uids = uids;
  o.allow_gids = gids;
  o.backlog = backlog;
  o.mode = mode;
  o.uid = uid;
  o.gid = gid;
  const char *op = kind == UNIXSOCK_DGRAM ? "bind" : "listen";
  /* without the GIL: a listener may wait its turn in the directory (up to 1 s)
   * while another thread's listener finishes starting there */
  Py_BEGIN_ALLOW_THREADS
  if (kind == UNIXSOCK_DGRAM)
    r = unixsock_bind(name, namelen, kind, &o, ret);
  else
    r = unixsock_listen(name, namelen, kind, &o, ret);
  Py_END_ALLOW_THREADS
  /* Raised here, where the operation is known (the typemap would say "listen"),
   * with the option at fault named when one is. */
  const char *why = r == -EINVAL ? unixsock_options_error(name, namelen, &o) : NULL;
  if (r < 0)
    us_raise_why(r, why != NULL ? why : unixsock_strerror((int)r), op, kind, NULL, name, namelen);
  PyMem_Free(uids);
  PyMem_Free(gids);
  return r;
}
%}

us_status_at us_listen(const char *name, size_t namelen, int kind, int backlog, int mode,
                       long long uid, long long gid, PyObject *allow_uids,
                       PyObject *allow_gids, us_socket **ret);

%{
typedef int (*us_address_fn)(const unixsock *, char *, size_t *);

static long us_address_of(us_socket *sock, us_address_fn fn, PyObject **ret_obj) {
  if (sock == NULL)
    return -EBADF;
  size_t len = 0;
  long r = fn(sock, NULL, &len);
  if (r < 0)
    return r;
  PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
  if (b == NULL)
    return -ENOMEM;
  r = fn(sock, PyBytes_AS_STRING(b), &len);
  if (r < 0) {
    Py_DECREF(b);
    return r;
  }
  *ret_obj = b;
  return 0;
}

%}

%inline %{
static us_status_at us_connect(const char *name, size_t namelen, int kind, int timeout_ms,
                               us_socket **ret) {
  long r;
  Py_BEGIN_ALLOW_THREADS r = unixsock_connect(name, namelen, kind, timeout_ms, ret);
  Py_END_ALLOW_THREADS
  if (r < 0) /* raised here, where the kind is known: what is there may be another */
    us_raise(r, "connect", kind, NULL, name, namelen);
  return r;
}

static us_status us_pair(int kind, us_socket **ret_a, us_socket **ret_b) {
  return unixsock_pair(kind, ret_a, ret_b);
}

static us_status us_adopt(int fd, us_socket **ret) {
  int r = unixsock_adopt(fd, ret);
  char why[200]; /* what fd is, where the errno does not say */
  if (r < 0)
    us_raise_noted(r, unixsock_strerror(r), "adopt", NULL, 0,
                   unixsock_fd_error(fd, r, why, sizeof(why)) > 0 ? why : NULL);
  return r;
}

static us_status_on us_accept(us_socket *sock, us_socket **ret) {
  long r;
  if (sock == NULL)
    return -EBADF;
  US_BLOCKING(sock, unixsock_accept(sock, ret), r);
  return r;
}

static void us_close(us_socket *sock) {
  if (sock != NULL)
    (void)unixsock_release(sock, UNIXSOCK_RELEASE_CLOSE); /* the capsule frees it */
}

static us_status_on us_shutdown(us_socket *sock, int how) {
  long r;
  if (sock == NULL)
    return -EBADF;
  US_BLOCKING(sock, unixsock_shutdown(sock, how), r); /* may write a kept frame's end */
  return r;
}

static us_status_on us_flush(us_socket *sock) {
  long r;
  if (sock == NULL)
    return -EBADF;
  US_BLOCKING(sock, unixsock_flush(sock), r);
  return r;
}

static us_status_on us_detach(us_socket *sock) {
  return sock == NULL ? -EBADF : unixsock_release(sock, 0);
}

/* try_recv for unixsock.aio's recv: its errors name recv, the call the task made
 * (raised here; the typemap then keeps this one). */
static us_status_on us_aio_recv(us_socket *sock, long size, PyObject **ret_obj) {
  if (size < 0)
    return us_bad_size("negative buffersize in recv");
  long r = us_recv_new(sock, size, true, ret_obj);
  if (r < 0)
    us_raise_on(r, "recv", sock);
  return r;
}

static us_status_on us_settimeout(us_socket *sock, int timeout_ms) {
  return sock == NULL ? -EBADF : unixsock_settimeout(sock, timeout_ms);
}

/* -> the timeout in ms, -1 for none: a value, so it comes back beside the status */
static us_status_on us_gettimeout(us_socket *sock, PyObject **ret_obj) {
  if (sock == NULL)
    return -EBADF;
  *ret_obj = PyLong_FromLong(unixsock_gettimeout(sock));
  return *ret_obj != NULL ? 0 : -ENOMEM;
}

static us_status_on us_fd(us_socket *sock) {
  return sock == NULL ? -EBADF : unixsock_fd(sock);
}

static us_status_on us_kind(us_socket *sock) {
  return sock == NULL ? -EBADF : unixsock_kind(sock);
}

static us_status_on us_local_address(us_socket *sock, PyObject **ret_obj) {
  return us_address_of(sock, unixsock_local_address, ret_obj);
}

static us_status_on us_peer_address(us_socket *sock, PyObject **ret_obj) {
  return us_address_of(sock, unixsock_peer_address, ret_obj);
}

static us_status_on us_set_send_buffer(us_socket *sock, int bytes) {
  if (sock == NULL)
    return -EBADF;
  int r = unixsock_set_send_buffer(sock, bytes); /* EINVAL: a negative size */
  return r == -EINVAL ? us_einval("send_buffer must be >= 0") : r;
}

static us_status_on us_get_send_buffer(us_socket *sock) {
  return sock == NULL ? -EBADF : unixsock_get_send_buffer(sock);
}

static us_status_on us_set_recv_buffer(us_socket *sock, int bytes) {
  if (sock == NULL)
    return -EBADF;
  int r = unixsock_set_recv_buffer(sock, bytes); /* EINVAL: a negative size */
  return r == -EINVAL ? us_einval("recv_buffer must be >= 0") : r;
}

static us_status_on us_get_recv_buffer(us_socket *sock) {
  return sock == NULL ? -EBADF : unixsock_get_recv_buffer(sock);
}

static us_status_on us_listening(us_socket *sock) {
  return sock == NULL ? -EBADF : unixsock_listening(sock);
}

static unsigned long long us_refused(us_socket *sock) {
  return unixsock_refused(sock);
}
%}

/* ---- messages, identity, activation ---- */

%typemap(in) PyObject *messages "$1 = $input;"

us_status_on us_send_batch(us_socket *sock, PyObject *messages);
us_status_on us_recv_batch(us_socket *sock, long count, long size, long max_fds, PyObject **ret_obj);

%init %{
  /* on failure the import raises */
  if (us_add_native_methods(m) < 0 || us_message_setup(m) < 0)
    return NULL;
%}

%inline %{
static us_status_on us_set_max_message(us_socket *sock, long long bytes) {
  if (sock == NULL)
    return -EBADF;
  /* taken signed: -1 was SWIG's "argument 2 of type 'unsigned long long'" */
  int r = unixsock_set_max_message(sock, bytes < 0 ? 0 : (size_t)bytes);
  return r == -EINVAL ? us_einval("max_message must be 1 to 2147483647") : r;
}

static us_status_on us_get_max_message(us_socket *sock) {
  return sock == NULL ? -EBADF : unixsock_get_max_message(sock);
}

/* -> (pid, uid, gid, pidfd or -1, label bytes, groups tuple) */
static us_status_on us_peer(us_socket *sock, int pidfd, PyObject **ret_obj) {
  unixsock_peer_info p;
  if (sock == NULL)
    return -EBADF;
  long r = unixsock_peer(sock, pidfd ? UNIXSOCK_PEER_PIDFD : 0, &p);
  if (r < 0)
    return r;
  PyObject *groups = PyTuple_New((Py_ssize_t)p.ngroups);
  for (size_t i = 0; groups != NULL && i < p.ngroups; i++)
    PyTuple_SET_ITEM(groups, (Py_ssize_t)i, PyLong_FromUnsignedLong(p.groups[i]));
  *ret_obj = groups == NULL ? NULL
                            : Py_BuildValue("(lkkiyN)", (long)p.pid, (unsigned long)p.uid,
                                            (unsigned long)p.gid, p.pidfd, p.label, groups);
  if (*ret_obj == NULL) {
    if (p.pidfd >= 0)
      close(p.pidfd);
    return -ENOMEM;
  }
  return 0;
}

/* -> list of (fd, name bytes, handle or None, errno) for every fd passed: counted
 * first (max 0 adopts nothing), then adopted into an array that holds them all. */
static us_status us_listen_fds(int unset, PyObject **ret_obj) {
  long n = unixsock_listen_fds(0, NULL, 0);
  if (n < 0) {
    const char *why = unixsock_listen_fds_error(); /* before the variables go */
    (void)unixsock_listen_fds(unset, NULL, 0); /* unset as asked, even so */
    if (why != NULL)
      us_raise_why(n, why, "listen_fds", 0, NULL, NULL, 0);
    return n;
  }
  unixsock_listen_fd *got = PyMem_Calloc(n > 0 ? (size_t)n : 1, sizeof(*got));
  if (got == NULL)
    return -ENOMEM;
  long passed = unixsock_listen_fds(unset, got, (size_t)n);
  if (passed > n)
    passed = n; /* the environment changed in between: those past n are left alone */
  PyObject *list = PyList_New(passed > 0 ? passed : 0);
  long i = 0;
  for (; list != NULL && i < passed; i++) {
    PyObject *h = got[i].sock ? us_wrap(got[i].sock) : (Py_INCREF(Py_None), Py_None);
    PyObject *t = h != NULL ? Py_BuildValue("(iyNi)", got[i].fd, got[i].name, h, -got[i].error) : NULL;
    if (t == NULL)
      Py_CLEAR(list); /* h, if made, went with the failed tuple or was never made */
    else
      PyList_SET_ITEM(list, i, t);
  }
  for (; i < passed; i++)
    unixsock_close(got[i].sock); /* out of memory: not one left unowned */
  PyMem_Free(got);
  if (passed < 0)
    return passed;
  if (list == NULL)
    return -ENOMEM;
  *ret_obj = list;
  return 0;
}
%}
