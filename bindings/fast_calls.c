/* The calls a Python Socket binds to its handle with MethodType (send, recv,
 * try_recv, recv_into, sendto, recvfrom; send_message and recv_message are
 * message_calls.c's), written by hand with the vectorcall convention
 * (METH_FASTCALL): bound, each is the Socket's method itself, with no Python
 * frame and no argument tuple in between.  SWIG's wrappers all take a tuple,
 * which cost more than a small send's own work (bench/, instructions per round
 * trip).  Contracts in shim.h. */
#include "shim.h"

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

us_status_on us_recv_new(us_socket *sock, long size, bool now, PyObject **ret_obj) {
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

/* A wrong call is told in the method's own words, where SWIG's wrapper named
 * itself and counted the handle ("us_recv expected 2 arguments, got 3" for
 * socket's recv(size, flags)).  These take no flags, and say so.  -1 with the
 * TypeError. */
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

int us_add_native_methods(PyObject *m) {
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
