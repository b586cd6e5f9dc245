/* SWIG interface: the raw Python layer over core/.  Users import the `unixsock`
 * package (python/unixsock/), never this module.
 *
 * The shim functions below only adapt arguments (Python objects in and out, the
 * GIL); every rule lives in core/.  Their contract for the typemaps:
 *  - a function returning us_status fails when the value is negative (-errno);
 *  - a function returning us_status_at also names the address it was given, which
 *    is always its first argument pair (name, namelen): it becomes `filename`;
 *  - a function returning us_status_on names its socket, always its first
 *    argument, by the address core's unixsock_error_address picks.
 * The calls a Socket binds to its handle (send, recv, try_recv, recv_into,
 * sendto, recvfrom, send_message, recv_message) are written by hand, for the vectorcall
 * convention (see there): SWIG's wrappers all take an argument tuple.  Message,
 * the type recv_message returns, is message_type.c's. */
%module(package="unixsock") capi

%ignore us_recv_new; /* a helper of recv, try_recv and aio's recv */
/* written for the hand-made entries below (us_fast_send and the others) */
%ignore us_send;
%ignore us_sendto;
%ignore us_recvfrom;

%{
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>
#include "message_type.h"
#include "unixsock.h"

typedef long us_status;
typedef long us_status_at;
typedef long us_status_on;
typedef unixsock us_socket;

/* PyObject_GetBuffer(o, view, PyBUF_SIMPLE), filled here for bytes, the usual
 * payload, without the protocol's calls; released alike by PyBuffer_Release
 * (bytes have no releasebuffer: the view holds a reference, as the protocol's). */
static int us_get_buffer(PyObject *o, Py_buffer *view) {
  if (!PyBytes_CheckExact(o))
    return PyObject_GetBuffer(o, view, PyBUF_SIMPLE);
  Py_INCREF(o);
  *view = (Py_buffer){.obj = o, .buf = PyBytes_AS_STRING(o), .len = PyBytes_GET_SIZE(o),
                      .readonly = 1, .itemsize = 1, .ndim = 1};
  return 0;
}

/* A payload argument: any object with the buffer protocol, never str (whose
 * bytes would depend on an encoding).  -1 with the TypeError. */
static int us_get_data(PyObject *o, Py_buffer *view) {
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
static long us_as_long(PyObject *o) {
  if (PyLong_CheckExact(o)) /* the usual: no call */
    return PyLong_AsLong(o);
  PyObject *i = PyNumber_Index(o); /* "'str' object cannot be interpreted as an integer" */
  if (i == NULL)
    return -1;
  long v = PyLong_AsLong(i);
  Py_DECREF(i);
  return v;
}

static long long us_as_long_long(PyObject *o) {
  PyObject *i = PyNumber_Index(o);
  if (i == NULL)
    return -1;
  long long v = PyLong_AsLongLong(i);
  Py_DECREF(i);
  return v;
}

/* The note for each operation, made once: a caller that polls without waiting
 * (asyncio, a busy loop) meets -EAGAIN on every empty try, so raising must be
 * cheap.  op is a string literal, one per wrapper, so its address is the key. */
static PyObject *us_note(const char *op) {
  static struct {
    const char *op;
    PyObject *note;
  } cache[128];
  size_t i = 0;
  for (; i < sizeof(cache) / sizeof(cache[0]) && cache[i].op != NULL; i++)
    if (cache[i].op == op) {
      Py_INCREF(cache[i].note);
      return cache[i].note;
    }
  PyObject *note = PyUnicode_FromFormat("in unixsock.%s", op);
  if (note != NULL && i < sizeof(cache) / sizeof(cache[0])) {
    cache[i].op = op; /* kept for the life of the process, like the module */
    cache[i].note = note;
    Py_INCREF(note);
  }
  return note;
}

/* Raise the OSError subclass that matches -r (OSError's constructor picks it from
 * the errno), with the address as filename, and the operation in a note (set as
 * __notes__ directly: the same as add_note, without a method lookup).  A signal
 * handler that raised (Ctrl-C) wins over the EINTR it caused. */
static void us_raise_noted(long r, const char *why, const char *op, const char *name,
                           size_t namelen, const char *more) {
  if (PyErr_Occurred())
    return; /* a Python error (a bad argument, a signal handler's) is the truer one */
  PyObject *filename = NULL;
  if (name != NULL)
    filename = PyUnicode_DecodeFSDefaultAndSize(name, (Py_ssize_t)namelen);
  PyObject *exc = PyObject_CallFunction(PyExc_OSError, "isO", (int)-r, why,
                                        filename != NULL ? filename : Py_None);
  Py_XDECREF(filename);
  if (exc == NULL)
    return;
  PyObject *note = us_note(op);
  PyObject *notes = note != NULL ? PyList_New(more != NULL ? 2 : 1) : NULL;
  PyObject *more_note = more != NULL && notes != NULL ? PyUnicode_FromString(more) : NULL;
  if (notes != NULL && (more == NULL || more_note != NULL)) {
    PyList_SET_ITEM(notes, 0, note);
    note = NULL;
    if (more_note != NULL)
      PyList_SET_ITEM(notes, 1, more_note);
    static PyObject *attr; /* interned once: SetAttrString would make it each time */
    if (attr == NULL)
      attr = PyUnicode_InternFromString("__notes__");
    if (attr != NULL)
      (void)PyObject_SetAttr(exc, attr, notes);
  }
  PyErr_Clear(); /* no memory for the note: the error itself matters more */
  Py_XDECREF(note);
  Py_XDECREF(notes);
  PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
  Py_DECREF(exc);
}

/* An error at name, given as a kind socket (0: unknown) in a call on sock (NULL:
 * none yet), says in a second note what the errno leaves unsaid: which file
 * refused an EACCES, and why, what is at a refused address instead
 * (unixsock_address_error), or that the call does not fit what sock is
 * (unixsock_call_error).  Both say nothing of other errors. */
static void us_raise_why(long r, const char *why, const char *op, int kind, const unixsock *sock,
                         const char *name, size_t namelen) {
  char more[700];
  size_t said = name == NULL ? 0
                             : unixsock_address_error(op, kind, name, namelen, (int)r, NULL, more,
                                                      sizeof(more));
  if (said == 0)
    said = unixsock_call_error(sock, op, (int)r, more, sizeof(more));
  us_raise_noted(r, why, op, name, namelen, said > 0 ? more : NULL);
}

/* The same with the errno's own text. */
static void us_raise(long r, const char *op, int kind, const unixsock *sock, const char *name,
                     size_t namelen) {
  us_raise_why(r, unixsock_strerror((int)r), op, kind, sock, name, namelen);
}

/* The same for a call on sock (NULL: closed), naming the address core picks for
 * its errors (none when it has none to give), with more as a second note. */
static void us_raise_on_noted(long r, const char *op, const unixsock *sock, const char *more) {
  char name[4096]; /* a long path is named whole */
  size_t len = sizeof(name);
  if (sock == NULL || unixsock_error_address(sock, (int)r, name, &len) < 0)
    len = 0;
  us_raise_noted(r, unixsock_strerror((int)r), op, len > 0 ? name : NULL, len, more);
}

static void us_raise_on(long r, const char *op, const unixsock *sock) {
  /* a stream's frame that broke says how, in a second note (plain bytes from
   * socat read as "Connection reset by peer" alone); a call that does not fit
   * the socket (recv on a listener: "Invalid argument") says so */
  char why[256];
  bool said = sock != NULL && (unixsock_frame_error(sock, (int)r, why, sizeof(why)) > 0 ||
                               unixsock_call_error(sock, op, (int)r, why, sizeof(why)) > 0);
  us_raise_on_noted(r, op, sock, said ? why : NULL);
}

/* An -EBADF of sending m on an open socket was one of its fds: that one is named
 * in a second note (the kernel's error read as if the socket were closed).  item
 * >= 0: m is that item of a batch. */
static void us_raise_sent(long r, const char *op, const unixsock *sock, const char *name,
                          size_t namelen, const unixsock_message *m, int item) {
  char why[128], of[32] = "";
  int bad = r == -EBADF && sock != NULL ? unixsock_message_bad_fd(m) : -1;
  if (item >= 0)
    snprintf(of, sizeof(of), "item %d's ", item);
  if (bad >= 0)
    snprintf(why, sizeof(why), "%sfds[%d] (%d) is not an open descriptor", of, bad, m->fds[bad]);
  if (namelen > 0 && bad < 0)
    us_raise(r, op, unixsock_kind(sock), sock, name, namelen); /* what is there, if it can say */
  else if (namelen > 0)
    us_raise_noted(r, unixsock_strerror((int)r), op, name, namelen, why);
  else if (bad >= 0)
    us_raise_on_noted(r, op, sock, why);
  else
    us_raise_on(r, op, sock);
}

/* Capsules carry no name (PyCapsule_GetPointer would strcmp it on every call);
 * their context points at this tag instead, which no other capsule can have. */
static const char us_capsule_tag[] = "unixsock";

/* A socket collected without close(): a ResourceWarning, as socket.socket gives,
 * then closed all the same.  Said when the capsule goes, not the Python Socket:
 * a bound method (unixsock.connect(a).send) may still be using the handle. */
static void us_warn_unclosed(unixsock *sock) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb); /* a collection may happen while an error is set */
  char name[4096];                 /* a long path is reported whole */
  size_t len = sizeof(name);
  if (unixsock_local_address(sock, name, &len) < 0)
    len = 0;
  PyObject *addr = PyUnicode_DecodeFSDefaultAndSize(name, (Py_ssize_t)len);
  if (addr == NULL ||
      PyErr_ResourceWarning(NULL, 1, "unclosed <unixsock.Socket %s %R fd=%d>",
                            unixsock_kind_name(unixsock_kind(sock)), addr, unixsock_fd(sock)) < 0)
    PyErr_WriteUnraisable(NULL); /* warnings made errors cannot raise from here; the
                                  * capsule, half freed, must not be named */
  Py_XDECREF(addr);
  PyErr_Restore(type, value, tb);
}

static void us_capsule_free(PyObject *capsule) {
  unixsock *sock = (unixsock *)PyCapsule_GetPointer(capsule, NULL);
  if (sock != NULL && unixsock_fd(sock) >= 0)
    us_warn_unclosed(sock);
  unixsock_close(sock);
}

/* A handle argument -> the socket: NULL for None (a closed Python Socket: the
 * call is then EBADF), -1 with TypeError for anything that is not our capsule. */
static int us_handle_of(PyObject *o, unixsock **ret) {
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

/* An address argument as bytes: a str encoded as os.fsencode does, another
 * bytes-like object copied (bytes itself shared).  NULL with TypeError for
 * anything else. */
static PyObject *us_address_bytes(PyObject *o) {
  if (PyUnicode_Check(o))
    return PyUnicode_EncodeFSDefault(o);
  if (PyBytes_Check(o)) {
    Py_INCREF(o);
    return o;
  }
  if (PyObject_CheckBuffer(o))
    return PyBytes_FromObject(o);
  if (PyObject_HasAttrString(o, "__fspath__")) { /* pathlib.Path and the like */
    PyObject *path = PyOS_FSPath(o);               /* a str or bytes, or an error */
    PyObject *encoded = path != NULL ? us_address_bytes(path) : NULL;
    Py_XDECREF(path);
    return encoded;
  }
  PyErr_Format(PyExc_TypeError, "an address is str, bytes or os.PathLike, not %.100s",
               Py_TYPE(o)->tp_name);
  return NULL;
}

/* A capsule that owns the handle (closes it if even the capsule fails). */
static PyObject *us_wrap(unixsock *sock) {
  PyObject *c = PyCapsule_New(sock, NULL, us_capsule_free);
  if (c == NULL || PyCapsule_SetContext(c, (void *)us_capsule_tag) < 0) {
    if (c == NULL)
      unixsock_close(sock);
    Py_XDECREF(c);
    return NULL;
  }
  return c;
}

/* The core retries EINTR; this hook lets Python's signal handlers run on each one
 * and ends the call when a handler raised (KeyboardInterrupt). */
static int us_check_signals(void *arg) {
  (void)arg;
  PyGILState_STATE st = PyGILState_Ensure();
  int stop = PyErr_CheckSignals() < 0;
  PyGILState_Release(st);
  return stop;
}

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

static us_status_at us_listen(const char *name, size_t namelen, int kind, int backlog,
                              int mode, long long uid, long long gid, PyObject *allow_uids,
                              PyObject *allow_gids, us_socket **ret);
static int us_id_list(PyObject *seq, const char *field, unsigned int **ret, size_t *ret_n);
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
/* A flag is any truth value, as send_batch's (data, fds, creds) items take it. */
%typemap(in) int creds {
  $1 = PyObject_IsTrue($input);
  if ($1 < 0)
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
/* An allow list (any iterable of ints) as the core's array; a bad one raises,
 * naming field and the entry at fault. */
static int us_id_list(PyObject *seq, const char *field, unsigned int **ret, size_t *ret_n) {
  *ret = NULL;
  *ret_n = 0;
  if (seq == NULL || seq == Py_None)
    return 0;
  PyObject *fast = PySequence_Fast(seq, "");
  if (fast == NULL) {
    PyErr_Format(PyExc_TypeError, "%s must be a sequence of ints, not %.100s", field,
                 Py_TYPE(seq)->tp_name);
    return -1;
  }
  Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  unsigned int *ids = n > 0 ? PyMem_Malloc((size_t)n * sizeof(*ids)) : NULL;
  if (n > 0 && ids == NULL) {
    Py_DECREF(fast);
    PyErr_NoMemory();
    return -1;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
    PyObject *number = PyNumber_Index(item); /* an int, or anything with __index__ */
    long long v = -1;
    if (number == NULL) {
      PyErr_Format(PyExc_TypeError, "%s[%zd] must be an int (a uid/gid), not %.100s", field, i,
                   Py_TYPE(item)->tp_name);
    } else {
      v = PyLong_AsLongLong(number); /* -1 and OverflowError past long long: out of range too */
      if (v < 0 || v >= UINT_MAX) { /* UINT_MAX is (uid_t)-1, no one's id: the core's rule */
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s[%zd] must be a uid/gid (0 to %u), not %R", field, i,
                     UINT_MAX - 1, number);
      }
      Py_DECREF(number);
    }
    if (PyErr_Occurred()) {
      PyMem_Free(ids);
      Py_DECREF(fast);
      return -1;
    }
    ids[i] = (unsigned int)v;
  }
  Py_DECREF(fast);
  *ret = ids;
  *ret_n = (size_t)n;
  return 0;
}

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

%{
/* On dgram and seqpacket, like us_send: try first with the GIL held, since the
 * answer is nearly always there already (a peer on this CPU ran when our send
 * woke it: 97% of round trips in bench/); only a receive that must wait
 * releases the GIL.  Not on a stream, where the kernel's wake-up does not let
 * the peer run first as often (about 60%), and a failed try costs a syscall. */
static long us_recv_bytes(us_socket *sock, void *buf, size_t len) {
  long r;
  US_PACKET_TRY_FIRST(sock, unixsock_try_recv(sock, buf, len), unixsock_recv(sock, buf, len), r);
  return r;
}

/* A size that socket.recv* refuses with ValueError is refused the same way (with
 * its message); us_raise leaves a set Python error in place. */
static long us_bad_size(const char *msg) {
  PyErr_SetString(PyExc_ValueError, msg);
  return -EINVAL;
}

/* An argument the core would refuse with EINVAL: OSError(EINVAL) still, but with
 * a message that says which one and why. */
static long us_einval(const char *msg) {
  PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", EINVAL, msg);
  if (exc != NULL) {
    PyErr_SetObject(PyExc_OSError, exc);
    Py_DECREF(exc);
  }
  return -EINVAL;
}

static us_status_on us_recv_into(us_socket *sock, void *wbuf, size_t wlen, long nbytes) {
  if (sock == NULL)
    return -EBADF;
  if (nbytes < 0)
    return us_bad_size("negative buffersize in recv_into");
  if ((size_t)nbytes > wlen)
    return us_bad_size("buffer too small for requested bytes");
  if (nbytes > 0)
    wlen = (size_t)nbytes;
  return us_recv_bytes(sock, wbuf, wlen);
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

/* Try first with the GIL held: a send the kernel takes at once (the common case)
 * costs no GIL hand-over; only the rest, if it must wait, releases it.  On a
 * stream, only a send the kernel takes whole or not at all: between a try that
 * took part and the send of the rest, another thread's bytes could go in.  Up to
 * 2 KiB is one buffer even at the smallest SO_SNDBUF (4608 bytes, of which a
 * stream buffer takes at most half less 64), so it is never taken in part. */
#define US_STREAM_TRY_MAX 2048

static us_status_on us_send(us_socket *sock, const void *buf, size_t len) {
  long r;
  if (sock == NULL)
    return -EBADF;
  if (unixsock_gettimeout(sock) == 0)
    return unixsock_send(sock, buf, len);
  bool stream = unixsock_kind(sock) == UNIXSOCK_STREAM;
  long done = !stream || len <= US_STREAM_TRY_MAX ? unixsock_try_send(sock, buf, len) : -EAGAIN;
  if (done == (long)len || (done < 0 && done != -EAGAIN))
    return done;
  if (done < 0 || !stream)
    done = 0; /* a message goes whole or not at all */
  Py_BEGIN_ALLOW_THREADS r = unixsock_send(sock, (const char *)buf + done, len - (size_t)done);
  Py_END_ALLOW_THREADS
  return r < 0 ? r : done + r;
}

/* recv into a new bytes object; now: never wait, and None instead of -EAGAIN
 * (try_recv: for pollers, without an exception). */
static us_status_on us_recv_new(us_socket *sock, long size, bool now, PyObject **ret_obj) {
  long r;
  if (sock == NULL)
    return -EBADF;
  if (size < 0)
    return us_bad_size(now ? "negative buffersize in try_recv" : "negative buffersize in recv");
  PyObject *b = PyBytes_FromStringAndSize(NULL, size);
  if (b == NULL)
    return -ENOMEM;
  r = now ? unixsock_try_recv(sock, PyBytes_AS_STRING(b), (size_t)size)
          : us_recv_bytes(sock, PyBytes_AS_STRING(b), (size_t)size);
  if (r < 0) {
    Py_DECREF(b);
    if (now && r == -EAGAIN) {
      Py_INCREF(Py_None);
      *ret_obj = Py_None;
      return 0;
    }
    return r;
  }
  if (r != size && _PyBytes_Resize(&b, r) < 0)
    return -ENOMEM;
  *ret_obj = b;
  return r;
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

static us_status_at us_sendto(const char *name, size_t namelen, us_socket *sock,
                              const void *buf, size_t len) {
  long r;
  if (sock == NULL)
    return -EBADF;
  US_BLOCKING(sock, unixsock_sendto(sock, buf, len, name, namelen), r);
  if (r < 0) /* raised here, where the kind is known */
    us_raise(r, "sendto", unixsock_kind(sock), sock, name, namelen);
  return r;
}

/* recvfrom: returns (bytes, address str). */
static us_status_on us_recvfrom(us_socket *sock, long size, PyObject **ret_obj) {
  char from[UNIXSOCK_ADDRESS_MAX];
  size_t fromlen = sizeof(from);
  long r;
  if (sock == NULL)
    return -EBADF;
  if (size < 0)
    return us_bad_size("negative buffersize in recvfrom");
  PyObject *b = PyBytes_FromStringAndSize(NULL, size);
  if (b == NULL)
    return -ENOMEM;
  US_BLOCKING(sock, unixsock_recvfrom(sock, PyBytes_AS_STRING(b), (size_t)size, from, &fromlen), r);
  if (r < 0) {
    Py_DECREF(b);
    return r;
  }
  if (r != size && _PyBytes_Resize(&b, r) < 0)
    return -ENOMEM;
  PyObject *sender = PyUnicode_DecodeFSDefaultAndSize(from, (Py_ssize_t)fromlen); /* os.fsdecode */
  *ret_obj = sender != NULL ? PyTuple_Pack(2, b, sender) : NULL;
  Py_DECREF(b);
  Py_XDECREF(sender);
  return *ret_obj != NULL ? r : -ENOMEM;
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

%typemap(in) PyObject *fds "$1 = $input;"
%typemap(in) PyObject *messages "$1 = $input;"

%{
/* A sequence of ints -> fds (at most UNIXSOCK_MAX_FDS + 1, so the core can say
 * E2BIG itself).  item >= 0 is the send_batch item an error names. */
static int us_fd_list(PyObject *seq, int *fds, size_t *ret_n, Py_ssize_t item) {
  *ret_n = 0;
  if (seq == NULL || seq == Py_None)
    return 0;
  /* One descriptor alone (an int, a file, a socket) is refused before it is
   * iterated: a file would be read to its end as a list of lines.  So is a str or
   * bytes, which would be taken as a list of characters or ints. */
  bool listed = PyList_CheckExact(seq) || PyTuple_CheckExact(seq); /* the usual: no lookup */
  bool alone = !listed && (PyLong_Check(seq) || PyObject_HasAttrString(seq, "fileno"));
  PyObject *fast = alone || PyUnicode_Check(seq) || PyBytes_Check(seq) ? NULL : PySequence_Fast(seq, "");
  if (fast == NULL) {
    if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_TypeError))
      return -1; /* what an iterable raised as it was read stays */
    PyErr_Clear();
    char of[48] = "";
    if (item >= 0)
      snprintf(of, sizeof(of), "send_batch: item %zd's ", item);
    PyErr_Format(PyExc_TypeError, "%sfds must be a sequence of descriptors, not %.100s%s", of,
                 Py_TYPE(seq)->tp_name, alone ? " (one alone: [fd])" : "");
    return -1;
  }
  Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  if (n > UNIXSOCK_MAX_FDS) {
    Py_DECREF(fast);
    *ret_n = (size_t)n;
    return 0;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    /* a fileno() may change a list while it is read: its items are then gone */
    if (PySequence_Fast_GET_SIZE(fast) != n) {
      PyErr_SetString(PyExc_RuntimeError, "fds changed size while being read");
      Py_DECREF(fast);
      return -1;
    }
    PyObject *o = PySequence_Fast_GET_ITEM(fast, i);
    Py_INCREF(o);
    int fd;
    if (!PyLong_Check(o) && !PyObject_HasAttrString(o, "fileno")) {
      /* CPython's own message names neither the list nor the item */
      if (item >= 0)
        PyErr_Format(PyExc_TypeError,
                     "send_batch: item %zd's fds[%zd] is %.100s, not a descriptor (an int or an object with fileno())",
                     item, i, Py_TYPE(o)->tp_name);
      else
        PyErr_Format(PyExc_TypeError,
                     "fds[%zd] is %.100s, not a descriptor (an int or an object with fileno())",
                     i, Py_TYPE(o)->tp_name);
      fd = -1;
    } else {
      fd = PyObject_AsFileDescriptor(o); /* ints, or objects with fileno() */
    }
    Py_DECREF(o);
    if (fd < 0) {
      Py_DECREF(fast);
      return -1;
    }
    fds[i] = fd;
  }
  Py_DECREF(fast);
  *ret_n = (size_t)n;
  return 0;
}

/* Python's max_fds=0 accepts none (the core's 0 means the most). */
static size_t us_fd_limit(long max_fds) {
  return max_fds == 0 ? UNIXSOCK_NO_FDS : (size_t)max_fds;
}

static __thread char *us_arena;
static __thread size_t us_arena_cap;

/* recv_batch slots: one buffer kept per thread and reused, so a batch does not
 * map and unmap megabytes on every call. */
static char *us_batch_arena(size_t need) {
  if (need > us_arena_cap) {
    char *p = PyMem_RawRealloc(us_arena, need);
    if (p == NULL)
      return NULL;
    us_arena = p;
    us_arena_cap = need;
  }
  return us_arena;
}

/* The arguments of a call by hand: args[0] the handle, then at most npos
 * positional ones and keywords among names (n of them), into slots (NULL where
 * not given).  Interned once in interned[]: keywords written in code are
 * interned, so a pointer compare is the usual hit.  -1 with the TypeError that
 * Python's own functions raise. */
static int us_fast_args(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames, const char *const *names, PyObject **interned,
                        int n, int npos, PyObject **slots) {
  if (nargs < 1 || nargs > 1 + npos) {
    PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional argument%s (%zd given)", fname,
                 npos, npos == 1 ? "" : "s", nargs - 1);
    return -1;
  }
  for (Py_ssize_t i = 1; i < nargs; i++)
    slots[i - 1] = args[i];
  for (Py_ssize_t k = 0, nk = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0; k < nk; k++) {
    PyObject *key = PyTuple_GET_ITEM(kwnames, k);
    int at = -1;
    for (int i = 0; i < n && at < 0; i++) {
      if (interned[i] == NULL && (interned[i] = PyUnicode_InternFromString(names[i])) == NULL)
        return -1;
      if (key == interned[i])
        at = i;
    }
    for (int i = 0; i < n && at < 0; i++)
      if (PyUnicode_Check(key) && PyUnicode_CompareWithASCIIString(key, names[i]) == 0)
        at = i;
    if (at < 0) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%S'", fname, key);
      return -1;
    }
    if (slots[at] != NULL) {
      PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%S'", fname, key);
      return -1;
    }
    slots[at] = args[nargs + k];
  }
  return 0;
}

/* send_message(handle, data=b"", fds=(), *, creds=False, address=None), by hand
 * with the vectorcall convention (METH_FASTCALL | METH_KEYWORDS): bound to a
 * handle with MethodType it is Socket.send_message itself, with no Python frame,
 * argument tuple or keyword dict in between.  A SWIG wrapper takes a tuple, and
 * keyword-only arguments would need a Python def around it, which cost more than
 * the send's own work (bench/, instructions per message sent with one fd). */
enum { US_SM_DATA, US_SM_FDS, US_SM_CREDS, US_SM_ADDRESS, US_SM_NARGS };

static PyObject *us_send_message(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames) {
  static const char *const names[US_SM_NARGS] = {"data", "fds", "creds", "address"};
  static PyObject *interned[US_SM_NARGS];
  PyObject *slots[US_SM_NARGS] = {NULL, NULL, NULL, NULL}, *result = NULL, *to = NULL;
  Py_buffer data = {0};
  int fdv[UNIXSOCK_MAX_FDS];
  unixsock_message m;
  us_socket *sock;
  long r;
  (void)module;
  if (us_fast_args("send_message", args, nargs, kwnames, names, interned, US_SM_NARGS, 2, slots) < 0)
    return NULL;
  if (us_handle_of(args[0], &sock) < 0)
    return NULL;
  memset(&m, 0, offsetof(unixsock_message, address)); /* of address only addrlen bytes are read */
  m.addrlen = 0;
  if (slots[US_SM_DATA] != NULL) {
    if (us_get_data(slots[US_SM_DATA], &data) < 0)
      return NULL;
    m.data = data.buf;
    m.len = (size_t)data.len;
  }
  if (slots[US_SM_ADDRESS] != NULL && slots[US_SM_ADDRESS] != Py_None &&
      (to = us_address_bytes(slots[US_SM_ADDRESS])) == NULL)
    goto out;
  const char *name = to != NULL ? PyBytes_AS_STRING(to) : NULL;
  m.addrlen = to != NULL ? (size_t)PyBytes_GET_SIZE(to) : 0;
  if (slots[US_SM_CREDS] != NULL) {
    int creds = PyObject_IsTrue(slots[US_SM_CREDS]); /* any truth value, as in send_batch */
    if (creds < 0)
      goto out;
    m.flags = creds ? UNIXSOCK_MSG_CREDS : 0;
  }
  if (sock == NULL)
    r = -EBADF;
  else if (us_fd_list(slots[US_SM_FDS], fdv, &m.nfds, -1) < 0)
    r = -EINVAL; /* with the TypeError us_fd_list set */
  else if (m.nfds > UNIXSOCK_MAX_FDS)
    r = -E2BIG;
  else if (m.addrlen > sizeof(m.address))
    r = -ENAMETOOLONG;
  else {
    m.fds = fdv;
    if (m.addrlen > 0)
      memcpy(m.address, name, m.addrlen);
    /* like us_send, tried first with the GIL held; a dgram or seqpacket message
     * goes whole or not at all, but not a stream frame: a try the kernel takes
     * in part keeps the frame's end for later, which a blocking send must not */
    US_PACKET_TRY_FIRST(sock, unixsock_try_send_message(sock, &m), unixsock_send_message(sock, &m), r);
  }
  if (r < 0)
    us_raise_sent(r, "send_message", sock, name, m.addrlen, &m, -1);
  else
    result = PyLong_FromLong(r);
out:
  if (data.obj != NULL)
    PyBuffer_Release(&data);
  Py_XDECREF(to);
  return result;
}

/* recv_message(handle, max_fds=MAX_FDS) -> Message, or None at the end; by hand
 * as send_message is, and bound the same way. */
static PyObject *us_recv_message(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                 PyObject *kwnames) {
  static const char *const names[1] = {"max_fds"};
  static PyObject *interned[1];
  PyObject *limit = NULL, *result = NULL;
  unixsock_message m;
  us_socket *sock;
  long max_fds = UNIXSOCK_MAX_FDS, r;
  (void)module;
  if (us_fast_args("recv_message", args, nargs, kwnames, names, interned, 1, 1, &limit) < 0)
    return NULL;
  if (us_handle_of(args[0], &sock) < 0)
    return NULL;
  if (limit != NULL) {
    max_fds = us_as_long(limit); /* an int, as SWIG's wrapper took */
    if (max_fds == -1 && PyErr_Occurred())
      return NULL;
  }
  if (sock == NULL) {
    us_raise_on(-EBADF, "recv_message", NULL);
    return NULL;
  }
  if (max_fds < 0) {
    us_einval("max_fds must be >= 0");
    return NULL;
  }
  memset(&m, 0, sizeof(m));
  m.max_fds = us_fd_limit(max_fds);
  /* like recv, tried first with the GIL held on dgram and seqpacket */
  US_PACKET_TRY_FIRST(sock, unixsock_try_recv_message(sock, &m), unixsock_recv_message(sock, &m), r);
  if (r < 0) {
    us_raise_on(r, "recv_message", sock);
    return NULL;
  }
  if (r == 0)
    Py_RETURN_NONE;
  result = us_message_from(&m, m.len);
  unixsock_message_release(&m); /* the data, and the fds if no Message took them */
  return result;
}

/* send, recv, try_recv and recv_into by hand as well: bound the same way, they
 * take no argument tuple, and a wrong call is told in the method's own words,
 * where SWIG's wrapper named itself and counted the handle ("us_recv expected 2
 * arguments, got 3" for socket's recv(size, flags)).  These take no flags, and
 * say so.  -1 with the TypeError. */
static int us_fast_arity(const char *fname, const char *takes, Py_ssize_t nargs, Py_ssize_t least,
                         Py_ssize_t most) {
  Py_ssize_t given = nargs > 0 ? nargs - 1 : 0; /* args[0] is the handle */
  if (nargs > 0 && given >= least && given <= most)
    return 0;
  PyErr_Format(PyExc_TypeError, "%s() takes %s, %zd given%s", fname, takes, given,
               given > most ? ": unixsock takes no flags" : "");
  return -1;
}

static PyObject *us_fast_send(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
  us_socket *sock;
  Py_buffer data;
  (void)module;
  if (us_fast_arity("send", "exactly one argument (data)", nargs, 1, 1) < 0 ||
      us_handle_of(args[0], &sock) < 0)
    return NULL;
  if (us_get_data(args[1], &data) < 0)
    return NULL;
  long r = us_send(sock, data.buf, (size_t)data.len);
  PyBuffer_Release(&data);
  if (r < 0) {
    us_raise_on(r, "send", sock);
    return NULL;
  }
  return PyLong_FromLong(r);
}

static PyObject *us_fast_recv_new(PyObject *const *args, Py_ssize_t nargs, bool now) {
  const char *op = now ? "try_recv" : "recv";
  us_socket *sock;
  PyObject *out = NULL;
  if (us_fast_arity(op, "exactly one argument (size)", nargs, 1, 1) < 0 ||
      us_handle_of(args[0], &sock) < 0)
    return NULL;
  long size = us_as_long(args[1]); /* Python's own message, as socket's */
  if (size == -1 && PyErr_Occurred())
    return NULL;
  long r = us_recv_new(sock, size, now, &out);
  if (r < 0) {
    us_raise_on(r, op, sock); /* a ValueError already set stays */
    return NULL;
  }
  return out;
}

static PyObject *us_fast_recv(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
  (void)module;
  return us_fast_recv_new(args, nargs, false);
}

static PyObject *us_fast_try_recv(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
  (void)module;
  return us_fast_recv_new(args, nargs, true);
}

/* nbytes is optional, as in socket.recv_into */
static PyObject *us_fast_recv_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
  us_socket *sock;
  Py_buffer view;
  long nbytes = 0;
  (void)module;
  if (us_fast_arity("recv_into", "one or two arguments (buffer, nbytes)", nargs, 1, 2) < 0 ||
      us_handle_of(args[0], &sock) < 0)
    return NULL;
  if (PyObject_GetBuffer(args[1], &view, PyBUF_WRITABLE) < 0) {
    PyErr_Clear(); /* as socket.recv_into: a read-only buffer is a TypeError */
    PyErr_SetString(PyExc_TypeError, "recv_into needs a writable bytes-like object");
    return NULL;
  }
  if (nargs > 2 && (nbytes = us_as_long(args[2])) == -1 && PyErr_Occurred()) {
    PyBuffer_Release(&view);
    return NULL;
  }
  long r = us_recv_into(sock, view.buf, (size_t)view.len, nbytes);
  PyBuffer_Release(&view);
  if (r < 0) {
    us_raise_on(r, "recv_into", sock);
    return NULL;
  }
  return PyLong_FromLong(r);
}

/* sendto(handle, data, address) -> bytes sent */
static PyObject *us_fast_sendto(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
  us_socket *sock;
  Py_buffer data;
  (void)module;
  if (us_fast_arity("sendto", "exactly two arguments (data, address)", nargs, 2, 2) < 0 ||
      us_handle_of(args[0], &sock) < 0)
    return NULL;
  if (us_get_data(args[1], &data) < 0)
    return NULL;
  PyObject *to = us_address_bytes(args[2]);
  if (to == NULL) {
    PyBuffer_Release(&data);
    return NULL;
  }
  const char *name = PyBytes_AS_STRING(to);
  size_t namelen = (size_t)PyBytes_GET_SIZE(to);
  long r = us_sendto(name, namelen, sock, data.buf, (size_t)data.len); /* raises, but EBADF */
  PyBuffer_Release(&data);
  if (r < 0 && !PyErr_Occurred())
    us_raise(r, "sendto", 0, NULL, name, namelen);
  Py_DECREF(to);
  return r < 0 ? NULL : PyLong_FromLong(r);
}

/* recvfrom(handle, size) -> (bytes, the sender's address as str, "" if unnamed) */
static PyObject *us_fast_recvfrom(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
  us_socket *sock;
  PyObject *got = NULL;
  (void)module;
  if (us_fast_arity("recvfrom", "exactly one argument (size)", nargs, 1, 1) < 0 ||
      us_handle_of(args[0], &sock) < 0)
    return NULL;
  long size = us_as_long(args[1]);
  if (size == -1 && PyErr_Occurred())
    return NULL;
  long r = us_recvfrom(sock, size, &got);
  if (r < 0) {
    us_raise_on(r, "recvfrom", sock); /* a ValueError already set stays */
    return NULL;
  }
  return got;
}

/* Each is the module's "us_" + its name; the name alone is what Python's own
 * messages call it ("recv() takes no keyword arguments"). */
static PyMethodDef us_native_methods[] = {
    {"send", (PyCFunction)(void (*)(void))us_fast_send, METH_FASTCALL,
     "us_send(handle, data) -> bytes sent"},
    {"recv", (PyCFunction)(void (*)(void))us_fast_recv, METH_FASTCALL,
     "us_recv(handle, size) -> bytes, b'' at the end"},
    {"try_recv", (PyCFunction)(void (*)(void))us_fast_try_recv, METH_FASTCALL,
     "us_try_recv(handle, size) -> bytes, or None when nothing is there"},
    {"recv_into", (PyCFunction)(void (*)(void))us_fast_recv_into, METH_FASTCALL,
     "us_recv_into(handle, buffer, nbytes=0) -> bytes received"},
    {"sendto", (PyCFunction)(void (*)(void))us_fast_sendto, METH_FASTCALL,
     "us_sendto(handle, data, address) -> bytes sent"},
    {"recvfrom", (PyCFunction)(void (*)(void))us_fast_recvfrom, METH_FASTCALL,
     "us_recvfrom(handle, size) -> (bytes, sender's address)"},
    {"send_message", (PyCFunction)(void (*)(void))us_send_message, METH_FASTCALL | METH_KEYWORDS,
     "us_send_message(handle, data=b'', fds=(), *, creds=False, address=None) -> payload length"},
    {"recv_message", (PyCFunction)(void (*)(void))us_recv_message, METH_FASTCALL | METH_KEYWORDS,
     "us_recv_message(handle, max_fds=MAX_FDS) -> Message, or None at the end"},
    {NULL, NULL, 0, NULL}};

static int us_add_native_methods(PyObject *m) {
  for (PyMethodDef *def = us_native_methods; def->ml_name != NULL; def++) {
    char name[32];
    snprintf(name, sizeof(name), "us_%s", def->ml_name);
    /* no module name: it would lead Python's messages (unixsock._capi.recv()) */
    PyObject *f = PyCFunction_NewEx(def, m, NULL);
    if (f == NULL || PyModule_AddObject(m, name, f) < 0) { /* which takes f when it succeeds */
      Py_XDECREF(f);
      return -1;
    }
  }
  return 0;
}
%}

%init %{
  /* on failure the import raises */
  if (us_add_native_methods(m) < 0 || us_message_setup(m) < 0)
    return NULL;
%}

%inline %{
/* messages: bytes-like objects, (data, fds[, creds[, address]]) tuples, or
 * received Message objects (their data, fds and whether they had credentials) */
static us_status_on us_send_batch(us_socket *sock, PyObject *messages) {
  long r = 0;
  if (sock == NULL)
    return -EBADF;
  PyObject *fast = PySequence_Fast(messages, "messages must be a sequence");
  if (fast == NULL)
    return -EINVAL;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
  unixsock_message *ms = PyMem_Calloc((size_t)n + 1, sizeof(*ms));
  Py_buffer *views = PyMem_Calloc((size_t)n + 1, sizeof(*views));
  size_t *fd_at = PyMem_Malloc(((size_t)n + 1) * sizeof(*fd_at)); /* each one's fds in fdv */
  int one[UNIXSOCK_MAX_FDS], *fdv = NULL; /* fdv grows only by the fds given */
  size_t fd_used = 0, fd_cap = 0;
  Py_ssize_t held = 0;
  PyObject *got_item = NULL, *got_data = NULL, *got_fds = NULL, *got_addr = NULL; /* held while read */
  if (ms == NULL || views == NULL || fd_at == NULL) {
    r = -ENOMEM;
    goto out;
  }
  for (Py_ssize_t i = 0; i < n; i++) {
    Py_CLEAR(got_data);
    Py_CLEAR(got_fds);
    Py_CLEAR(got_addr);
    Py_CLEAR(got_item);
    /* a Message-like item's properties may change the list while it is read */
    if (PySequence_Fast_GET_SIZE(fast) != n) {
      PyErr_SetString(PyExc_RuntimeError, "messages changed size while being read");
      r = -EINVAL;
      goto out;
    }
    PyObject *t = got_item = PySequence_Fast_GET_ITEM(fast, i);
    Py_INCREF(t);
    PyObject *data = t, *fds = Py_None, *addr = Py_None, *message_creds = NULL;
    int creds = 0;
    if (PyUnicode_Check(t)) {
      PyErr_Format(PyExc_TypeError, "send_batch: item %zd must be bytes-like, not str", i);
      r = -EINVAL;
      goto out;
    }
    if (PyTuple_Check(t)) { /* (data, fds[, creds[, address]]) */
      if (PyTuple_GET_SIZE(t) < 2 || PyTuple_GET_SIZE(t) > 4) {
        PyErr_Format(PyExc_TypeError,
                     "send_batch: item %zd must be (data, fds[, creds[, address]]), not a %zd-tuple",
                     i, PyTuple_GET_SIZE(t));
        r = -EINVAL;
        goto out;
      }
      if (!PyArg_ParseTuple(t, "OO|pO", &data, &fds, &creds, &addr)) {
        r = -EINVAL;
        goto out;
      }
    } else if (!PyObject_CheckBuffer(t)) { /* a received Message, sent on */
      /* held, not borrowed: a property may make them afresh for each access */
      data = got_data = PyObject_GetAttrString(t, "data");
      fds = got_fds = data ? PyObject_GetAttrString(t, "_fds") : NULL;
      message_creds = fds ? PyObject_GetAttrString(t, "creds") : NULL;
      if (message_creds == NULL) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) /* not a Message at all */
          PyErr_Format(PyExc_TypeError,
                       "send_batch: item %zd must be bytes-like, a (data, fds[, creds[, "
                       "address]]) tuple or a received Message, not %.100s",
                       i, Py_TYPE(t)->tp_name);
        r = -EINVAL;
        goto out;
      }
      creds = message_creds != Py_None;
      Py_DECREF(message_creds);
      /* its address, where it goes: a received datagram goes back to its sender,
       * as a tuple's fourth item and a Lua message table's address do */
      addr = got_addr = PyObject_GetAttrString(t, "address");
      if (addr == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
          r = -EINVAL;
          goto out;
        }
        PyErr_Clear(); /* a Message-like without one: no address */
        addr = Py_None;
      }
    }
    if (PyUnicode_Check(data)) {
      PyErr_Format(PyExc_TypeError, "send_batch: item %zd's data must be bytes-like, not str", i);
      r = -EINVAL;
      goto out;
    }
    if (us_get_buffer(data, &views[i]) < 0) { /* held until the send is done */
      r = -EINVAL;
      goto out;
    }
    held = i + 1;
    if (us_fd_list(fds, one, &ms[i].nfds, i) < 0) {
      r = -EINVAL;
      goto out;
    }
    if (ms[i].nfds > UNIXSOCK_MAX_FDS) {
      r = -E2BIG;
      goto out;
    }
    fd_at[i] = fd_used;
    if (ms[i].nfds > 0) {
      if (fd_used + ms[i].nfds > fd_cap) {
        size_t cap = fd_cap * 2 > fd_used + ms[i].nfds ? fd_cap * 2 : fd_used + UNIXSOCK_MAX_FDS;
        int *grown = PyMem_Realloc(fdv, cap * sizeof(int));
        if (grown == NULL) {
          r = -ENOMEM;
          goto out;
        }
        fdv = grown;
        fd_cap = cap;
      }
      memcpy(fdv + fd_used, one, ms[i].nfds * sizeof(int));
      fd_used += ms[i].nfds;
    }
    ms[i].data = views[i].buf;
    ms[i].len = (size_t)views[i].len;
    ms[i].flags = creds ? UNIXSOCK_MSG_CREDS : 0;
    if (addr != Py_None) { /* str or bytes-like, as send_message's */
      PyObject *to = us_address_bytes(addr);
      if (to == NULL) {
        r = -EINVAL;
        goto out;
      }
      size_t alen = (size_t)PyBytes_GET_SIZE(to);
      if (alen > sizeof(ms[i].address)) {
        r = -ENAMETOOLONG;
        us_raise(r, "send_batch", 0, NULL, PyBytes_AS_STRING(to), alen); /* its address, not ours */
        Py_DECREF(to);
        goto out;
      }
      memcpy(ms[i].address, PyBytes_AS_STRING(to), alen);
      Py_DECREF(to);
      ms[i].addrlen = alen;
    }
  }
  for (Py_ssize_t i = 0; i < n; i++) /* fdv has stopped moving */
    ms[i].fds = ms[i].nfds > 0 ? fdv + fd_at[i] : NULL;
  US_BLOCKING(sock, unixsock_send_batch(sock, ms, (size_t)n), r);
  if (r < 0) /* none went: the first failed (at its address, if it has one) */
    us_raise_sent(r, "send_batch", sock, ms[0].address, ms[0].addrlen, &ms[0], 0);
out:
  Py_XDECREF(got_data); /* the views hold what the send read */
  Py_XDECREF(got_fds);
  Py_XDECREF(got_addr);
  Py_XDECREF(got_item);
  for (Py_ssize_t i = 0; i < held; i++)
    PyBuffer_Release(&views[i]);
  PyMem_Free(ms);
  PyMem_Free(views);
  PyMem_Free(fd_at);
  PyMem_Free(fdv);
  Py_DECREF(fast);
  return r;
}

/* -> list of Message */
static us_status_on us_recv_batch(us_socket *sock, long count, long size, long max_fds,
                               PyObject **ret_obj) {
  long r;
  if (sock == NULL)
    return -EBADF;
  _Static_assert(UNIXSOCK_BATCH_MAX == 1024 && UNIXSOCK_BATCH_SLOT_MAX == 67108864,
                 "the messages below name the bounds");
  if (count <= 0 || count > UNIXSOCK_BATCH_MAX)
    return us_einval("count must be 1..1024");
  if (size < 0 || size > UNIXSOCK_BATCH_SLOT_MAX)
    return us_einval("size must be 0..67108864");
  if (max_fds < 0)
    return us_einval("max_fds must be >= 0");
  unixsock_message *ms = PyMem_Calloc((size_t)count, sizeof(*ms));
  char *arena = us_batch_arena((size_t)count * (size_t)size + 1);
  if (ms == NULL || arena == NULL) {
    PyMem_Free(ms);
    return -ENOMEM;
  }
  for (long i = 0; i < count; i++) {
    ms[i].data = arena + (size_t)i * (size_t)size;
    ms[i].len = (size_t)size;
    ms[i].max_fds = us_fd_limit(max_fds);
  }
  US_BLOCKING(sock, unixsock_recv_batch(sock, ms, (size_t)count), r);
  if (r >= 0) {
    PyObject *list = PyList_New(r);
    for (long i = 0; list != NULL && i < r; i++) {
      size_t cap = (size_t)size;
      size_t real = ms[i].len;
      if (real > cap)
        ms[i].len = cap; /* truncated: what arrived, flagged */
      PyObject *t = us_message_from(&ms[i], ms[i].len);
      ms[i].len = real;
      if (t == NULL) {
        Py_CLEAR(list);
        break;
      }
      PyList_SET_ITEM(list, i, t);
    }
    for (long i = 0; i < r; i++)
      unixsock_message_release(&ms[i]); /* closes fds not handed over */
    if (list == NULL)
      r = -ENOMEM;
    else
      *ret_obj = list;
  }
  PyMem_Free(ms);
  return r;
}

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
