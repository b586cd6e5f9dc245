/* send_batch and recv_batch: a list of messages in one call to the core (one
 * sendmmsg / recvmmsg where the kind allows), wrapped by SWIG.  Contracts in
 * shim.h. */
#include <string.h>

#include "message_type.h"
#include "shim.h"

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

us_status_on us_send_batch(us_socket *sock, PyObject *messages) {
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

us_status_on us_recv_batch(us_socket *sock, long count, long size, long max_fds, PyObject **ret_obj) {
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
