/* The handle a Python Socket holds: a capsule that owns the socket, and closes
 * it when it goes.  Contracts in shim.h. */
#include "shim.h"

const char us_capsule_tag[] = "unixsock";

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

PyObject *us_wrap(unixsock *sock) {
  PyObject *c = PyCapsule_New(sock, NULL, us_capsule_free);
  if (c == NULL || PyCapsule_SetContext(c, (void *)us_capsule_tag) < 0) {
    if (c == NULL)
      unixsock_close(sock);
    Py_XDECREF(c);
    return NULL;
  }
  return c;
}
