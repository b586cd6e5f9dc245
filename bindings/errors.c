/* How the extension raises: the OSError subclass of the errno, the address as
 * its filename, the operation in a note, and what the core can say beyond the
 * errno (unixsock_address_error, unixsock_call_error, unixsock_frame_error) in
 * a second one.  Contracts in shim.h. */
#include <stdio.h>

#include "shim.h"

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
void us_raise_noted(long r, const char *why, const char *op, const char *name, size_t namelen, const char *more) {
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
void us_raise_why(long r, const char *why, const char *op, int kind, const unixsock *sock,
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
void us_raise(long r, const char *op, int kind, const unixsock *sock, const char *name,
              size_t namelen) {
  us_raise_why(r, unixsock_strerror((int)r), op, kind, sock, name, namelen);
}

/* The same for a call on sock (NULL: closed), naming the address core picks for
 * its errors (none when it has none to give), with more as a second note. */
void us_raise_on_noted(long r, const char *op, const unixsock *sock, const char *more) {
  char name[4096]; /* a long path is named whole */
  size_t len = sizeof(name);
  if (sock == NULL || unixsock_error_address(sock, (int)r, name, &len) < 0)
    len = 0;
  us_raise_noted(r, unixsock_strerror((int)r), op, len > 0 ? name : NULL, len, more);
}

void us_raise_on(long r, const char *op, const unixsock *sock) {
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
void us_raise_sent(long r, const char *op, const unixsock *sock, const char *name,
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

/* A size that socket.recv* refuses with ValueError is refused the same way (with
 * its message); us_raise leaves a set Python error in place. */
long us_bad_size(const char *msg) {
  PyErr_SetString(PyExc_ValueError, msg);
  return -EINVAL;
}

/* An argument the core would refuse with EINVAL: OSError(EINVAL) still, but with
 * a message that says which one and why. */
long us_einval(const char *msg) {
  PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", EINVAL, msg);
  if (exc != NULL) {
    PyErr_SetObject(PyExc_OSError, exc);
    Py_DECREF(exc);
  }
  return -EINVAL;
}
