/* Python arguments read for the core: integers, addresses, descriptor lists
 * and allow lists, each refused with the message Python's own calls give (or
 * one that names the argument at fault).  Contracts in shim.h. */
#include <limits.h>
#include <stdio.h>

#include "shim.h"

/* us_as_long for what is not an int: its __index__, as Python 3.10 and later
 * read every int argument. */
long us_index_as_long(PyObject *o) {
  PyObject *i = PyNumber_Index(o); /* "'str' object cannot be interpreted as an integer" */
  if (i == NULL)
    return -1;
  long v = PyLong_AsLong(i);
  Py_DECREF(i);
  return v;
}

long long us_as_long_long(PyObject *o) {
  PyObject *i = PyNumber_Index(o);
  if (i == NULL)
    return -1;
  long long v = PyLong_AsLongLong(i);
  Py_DECREF(i);
  return v;
}

PyObject *us_address_bytes(PyObject *o) {
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

int us_id_list(PyObject *seq, const char *field, unsigned int **ret, size_t *ret_n) {
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

int us_fd_list(PyObject *seq, int *fds, size_t *ret_n, Py_ssize_t item) {
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

