/* send_message and recv_message, bound to a Python Socket's handle as
 * fast_calls.c's are, and taking keywords as well (METH_FASTCALL |
 * METH_KEYWORDS).  Contracts in shim.h. */
#include <stddef.h>
#include <string.h>

#include "message_type.h"
#include "shim.h"

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

PyObject *us_send_message(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
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
PyObject *us_recv_message(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
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

