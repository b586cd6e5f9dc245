/* unixsock.Message (message_type.h).  The same object the Python class was:
 * writable data, creds, address and truncated; its descriptors in a list it
 * owns (_fds, which send_batch reads to send a message on), closed by close(),
 * by leaving a with block or when it is collected, unless taken. */
#include "message_type.h"

#include <stdbool.h>
#include <structmember.h>
#include <unistd.h>

typedef struct {
  PyObject_HEAD
  PyObject *data;
  PyObject *fds; /* a list of ints, never NULL once made */
  PyObject *creds;
  PyObject *address;
  PyObject *truncated;
} us_message_obj;

static PyTypeObject us_message_type;

/* ---- credentials ---- */

static PyObject *us_creds_class; /* unixsock.Credentials, a NamedTuple */

/* The last credentials made, given again while the next are the same: a
 * NamedTuple is immutable, and a server mostly hears from the same few
 * senders.  Guarded by the GIL, as every call here is. */
static struct {
  PyObject *obj;
  long pid;
  unsigned long uid, gid;
} us_last_creds;

static PyObject *us_use_credentials(PyObject *module, PyObject *cls) {
  (void)module;
  if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type)) {
    PyErr_SetString(PyExc_TypeError, "us_use_credentials takes a tuple class");
    return NULL;
  }
  Py_INCREF(cls);
  Py_XSETREF(us_creds_class, cls);
  Py_CLEAR(us_last_creds.obj);
  Py_RETURN_NONE;
}

/* Credentials(pid, uid, gid): a tuple of the class's own layout (a NamedTuple
 * adds no fields to tuple's), filled as tuple.__new__ fills it. */
static PyObject *us_credentials(long pid, unsigned long uid, unsigned long gid) {
  if (us_last_creds.obj != NULL && us_last_creds.pid == pid && us_last_creds.uid == uid &&
      us_last_creds.gid == gid) {
    Py_INCREF(us_last_creds.obj);
    return us_last_creds.obj;
  }
  PyObject *items[3] = {PyLong_FromLong(pid), PyLong_FromUnsignedLong(uid),
                        PyLong_FromUnsignedLong(gid)};
  PyObject *t = NULL;
  if (items[0] != NULL && items[1] != NULL && items[2] != NULL) {
    PyTypeObject *cls = us_creds_class != NULL ? (PyTypeObject *)us_creds_class : &PyTuple_Type;
    t = cls->tp_alloc(cls, 3);
  }
  for (int i = 0; i < 3; i++) {
    if (t != NULL)
      PyTuple_SET_ITEM(t, i, items[i]);
    else
      Py_XDECREF(items[i]);
  }
  if (t != NULL) {
    Py_INCREF(t);
    Py_XSETREF(us_last_creds.obj, t);
    us_last_creds.pid = pid;
    us_last_creds.uid = uid;
    us_last_creds.gid = gid;
  }
  return t;
}

/* ---- making one ---- */

/* Set every field (new references taken; the ones they replace let go: a list
 * of descriptors given before is let go unclosed, as the Python class did). */
static void msg_set(us_message_obj *self, PyObject *data, PyObject *fds_list, PyObject *creds,
                    PyObject *address, PyObject *truncated) {
  Py_INCREF(data);
  Py_INCREF(fds_list);
  Py_INCREF(creds);
  Py_INCREF(address);
  Py_INCREF(truncated);
  Py_XSETREF(self->data, data);
  Py_XSETREF(self->fds, fds_list);
  Py_XSETREF(self->creds, creds);
  Py_XSETREF(self->address, address);
  Py_XSETREF(self->truncated, truncated);
}

static PyObject *us_new_message(PyTypeObject *type, PyObject *data, PyObject *fds_list,
                                PyObject *creds, PyObject *address, PyObject *truncated) {
  us_message_obj *self = (us_message_obj *)type->tp_alloc(type, 0);
  if (self != NULL)
    msg_set(self, data, fds_list, creds, address, truncated);
  return (PyObject *)self;
}

PyObject *us_message_from(unixsock_message *m, size_t len) {
  static PyObject *empty; /* "", the address of every message but a datagram's */
  if (empty == NULL && (empty = PyUnicode_FromStringAndSize("", 0)) == NULL)
    return NULL;
  PyObject *data = PyBytes_FromStringAndSize(m->data, (Py_ssize_t)len);
  PyObject *fds = PyList_New((Py_ssize_t)m->nfds);
  PyObject *creds = NULL, *address = NULL, *msg = NULL;
  if (data == NULL || fds == NULL)
    goto out;
  for (size_t i = 0; i < m->nfds; i++) {
    PyObject *fd = PyLong_FromLong(m->fds[i]);
    if (fd == NULL)
      goto out;
    PyList_SET_ITEM(fds, (Py_ssize_t)i, fd);
  }
  if (m->flags & UNIXSOCK_MSG_CREDS)
    creds = us_credentials((long)m->creds.pid, (unsigned long)m->creds.uid,
                           (unsigned long)m->creds.gid);
  else
    creds = (Py_INCREF(Py_None), Py_None);
  if (creds == NULL)
    goto out;
  if (m->addrlen == 0)
    address = (Py_INCREF(empty), empty);
  else
    address = PyUnicode_DecodeFSDefaultAndSize(m->address, (Py_ssize_t)m->addrlen);
  if (address == NULL)
    goto out;
  msg = us_new_message(&us_message_type, data, fds, creds, address,
                       (m->flags & UNIXSOCK_MSG_TRUNCATED) ? Py_True : Py_False);
  if (msg != NULL)
    for (size_t i = 0; i < m->nfds; i++)
      m->fds[i] = -1; /* the Message owns them now */
out:
  Py_XDECREF(data);
  Py_XDECREF(fds);
  Py_XDECREF(creds);
  Py_XDECREF(address);
  return msg;
}

/* A Message with no fields yet but its empty descriptor list (__init__ sets
 * them), so a subclass's __init__ may take arguments of its own. */
static PyObject *msg_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
  (void)args;
  (void)kwargs;
  us_message_obj *self = (us_message_obj *)type->tp_alloc(type, 0);
  if (self != NULL && (self->fds = PyList_New(0)) == NULL)
    Py_CLEAR(self);
  return (PyObject *)self;
}

/* Message(data, fds=(), creds=None, address="", truncated=False) */
static int msg_init(PyObject *op, PyObject *args, PyObject *kwargs) {
  static char *names[] = {"data", "fds", "creds", "address", "truncated", NULL};
  us_message_obj *self = (us_message_obj *)op;
  PyObject *data, *fds = NULL, *creds = Py_None, *address = NULL, *truncated = Py_False;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOOO:Message", names, &data, &fds, &creds,
                                   &address, &truncated))
    return -1;
  PyObject *list = fds != NULL ? PySequence_List(fds) : PyList_New(0);
  PyObject *addr = address != NULL ? (Py_INCREF(address), address) : PyUnicode_FromString("");
  bool made = list != NULL && addr != NULL;
  if (made)
    msg_set(self, data, list, creds, addr, truncated);
  Py_XDECREF(list);
  Py_XDECREF(addr);
  return made ? 0 : -1;
}

/* ---- its descriptors ---- */

/* Close every descriptor the message still owns (errors ignored, as os.close's
 * were: there is nobody to tell, and the number is no longer ours). */
static int msg_close_fds(us_message_obj *self) {
  PyObject *empty = PyList_New(0);
  if (empty == NULL)
    return -1;
  PyObject *fds = self->fds;
  self->fds = empty; /* first: a message closed twice closes nothing twice */
  for (Py_ssize_t i = 0; fds != NULL && i < PyList_GET_SIZE(fds); i++) {
    long fd = PyLong_AsLong(PyList_GET_ITEM(fds, i));
    if (fd == -1 && PyErr_Occurred())
      PyErr_Clear(); /* not a number someone put there: not ours to close */
    else if (fd >= 0 && fd <= INT_MAX)
      (void)close((int)fd);
  }
  Py_XDECREF(fds);
  return 0;
}

static PyObject *msg_close(PyObject *self, PyObject *unused) {
  (void)unused;
  if (msg_close_fds((us_message_obj *)self) < 0)
    return NULL;
  Py_RETURN_NONE;
}

/* The descriptor list, or NULL with AttributeError once a cycle's collection
 * cleared it (reached only from an object brought back to life). */
static PyObject *msg_fds(us_message_obj *self) {
  if (self->fds == NULL)
    PyErr_SetString(PyExc_AttributeError, "this Message was cleared");
  return self->fds;
}

static PyObject *msg_take_fds(PyObject *op, PyObject *unused) {
  us_message_obj *self = (us_message_obj *)op;
  (void)unused;
  if (msg_fds(self) == NULL)
    return NULL;
  PyObject *empty = PyList_New(0);
  if (empty == NULL)
    return NULL;
  PyObject *fds = self->fds;
  self->fds = empty;
  return fds;
}

static PyObject *msg_take_fd(PyObject *op, PyObject *args, PyObject *kwargs) {
  static char *names[] = {"index", NULL};
  us_message_obj *self = (us_message_obj *)op;
  PyObject *index = NULL;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:take_fd", names, &index) ||
      msg_fds(self) == NULL)
    return NULL;
  Py_ssize_t i = 0, n = PyList_GET_SIZE(self->fds);
  if (index != NULL) {
    i = PyNumber_AsSsize_t(index, NULL); /* a huge one is out of range, not an overflow */
    if (i == -1 && PyErr_Occurred())
      return NULL;
  }
  if (i < -n || i >= n) {
    PyObject *shown = index != NULL ? PyObject_Str(index) : PyUnicode_FromString("0");
    if (shown != NULL)
      PyErr_Format(PyExc_IndexError,
                   "take_fd(%U): the message has %zd descriptor(s) left (taken ones are gone "
                   "from it)",
                   shown, n);
    Py_XDECREF(shown);
    return NULL;
  }
  if (i < 0)
    i += n;
  PyObject *fd = PyList_GET_ITEM(self->fds, i);
  Py_INCREF(fd);
  if (PySequence_DelItem(self->fds, i) < 0) {
    Py_DECREF(fd);
    return NULL;
  }
  return fd;
}

static PyObject *msg_get_fds(PyObject *op, void *closure) {
  (void)closure;
  PyObject *fds = msg_fds((us_message_obj *)op);
  return fds != NULL ? PyList_AsTuple(fds) : NULL;
}

/* ---- the rest of the protocol ---- */

static PyObject *msg_enter(PyObject *self, PyObject *unused) {
  (void)unused;
  Py_INCREF(self);
  return self;
}

static PyObject *msg_exit(PyObject *self, PyObject *args) {
  (void)args;
  return msg_close(self, NULL);
}

/* A field deleted (del m.data) reads as missing, as a slot's would. */
static int msg_has_fields(us_message_obj *self) {
  if (self->data != NULL && self->creds != NULL && self->address != NULL &&
      self->truncated != NULL && self->fds != NULL)
    return 0;
  PyErr_SetString(PyExc_AttributeError, "a field of this Message was deleted");
  return -1;
}

static PyObject *msg_bytes(PyObject *self, PyObject *unused) {
  (void)unused;
  if (msg_has_fields((us_message_obj *)self) < 0)
    return NULL;
  PyObject *data = ((us_message_obj *)self)->data;
  Py_INCREF(data);
  return data;
}

/* A shallow copy would share the descriptor list, so both copies closed the same
 * numbers (the second time, whatever fd had reused them). */
static PyObject *msg_reduce_ex(PyObject *self, PyObject *protocol) {
  (void)protocol;
  const char *name = Py_TYPE(self)->tp_name, *dot = strrchr(name, '.');
  PyErr_Format(PyExc_TypeError, "cannot pickle or copy '%s' object (it owns its descriptors)",
               dot != NULL ? dot + 1 : name);
  return NULL;
}

static PyObject *msg_repr(PyObject *op) {
  us_message_obj *self = (us_message_obj *)op;
  if (msg_has_fields(self) < 0)
    return NULL;
  PyObject *fds = PyList_AsTuple(self->fds); /* as .fds reads them: a tuple */
  if (fds == NULL)
    return NULL;
  PyObject *r = PyUnicode_FromFormat("Message(%R, fds=%R, creds=%S, address=%R%s)", self->data,
                                     fds, self->creds, self->address,
                                     PyObject_IsTrue(self->truncated) == 1 ? ", truncated=True" : "");
  Py_DECREF(fds);
  return r; /* truncated shown only when it matters */
}

/* Collected with descriptors nobody took: they are closed, never leaked. */
static void msg_finalize(PyObject *self) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  PyObject *fds = ((us_message_obj *)self)->fds; /* NULL once cleared in a cycle */
  if (fds != NULL && PyList_GET_SIZE(fds) > 0 &&
      msg_close_fds((us_message_obj *)self) < 0)
    PyErr_WriteUnraisable(self);
  PyErr_Restore(type, value, tb);
}

static int msg_traverse(PyObject *op, visitproc visit, void *arg) {
  us_message_obj *self = (us_message_obj *)op;
  Py_VISIT(self->data);
  Py_VISIT(self->fds);
  Py_VISIT(self->creds);
  Py_VISIT(self->address);
  Py_VISIT(self->truncated);
  return 0;
}

static int msg_clear(PyObject *op) {
  us_message_obj *self = (us_message_obj *)op;
  Py_CLEAR(self->data);
  Py_CLEAR(self->fds);
  Py_CLEAR(self->creds);
  Py_CLEAR(self->address);
  Py_CLEAR(self->truncated);
  return 0;
}

static void msg_dealloc(PyObject *self) {
  if (PyObject_CallFinalizerFromDealloc(self) < 0)
    return; /* resurrected by a subclass's __del__ */
  PyObject_GC_UnTrack(self);
  msg_clear(self);
  Py_TYPE(self)->tp_free(self);
}

static PyMemberDef msg_members[] = {
    {"data", T_OBJECT_EX, offsetof(us_message_obj, data), 0, "the payload (bytes)"},
    {"creds", T_OBJECT_EX, offsetof(us_message_obj, creds), 0,
     "the sender's Credentials as the kernel vouches for them, or None"},
    {"address", T_OBJECT_EX, offsetof(us_message_obj, address), 0,
     "a datagram's sender (\"\" if unbound; \"\" on stream and seqpacket)"},
    {"truncated", T_OBJECT_EX, offsetof(us_message_obj, truncated), 0,
     "recv_batch only: the message did not fit its slot (data is cut) or its descriptors "
     "did not fit and were closed"},
    {"_fds", T_OBJECT_EX, offsetof(us_message_obj, fds), READONLY,
     "the descriptors still owned, as the list itself (send_batch sends them on)"},
    {NULL, 0, 0, 0, NULL}};

static PyGetSetDef msg_getset[] = {
    {"fds", msg_get_fds, NULL, "The descriptors still owned by this message (read-only view).",
     NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyMethodDef msg_methods[] = {
    {"take_fds", msg_take_fds, METH_NOARGS,
     "Hand every descriptor over to the caller, who must close them."},
    {"take_fd", (PyCFunction)(void (*)(void))msg_take_fd, METH_VARARGS | METH_KEYWORDS,
     "take_fd(index=0): hand one descriptor over (the others stay with the message); "
     "IndexError when there is none at that index."},
    {"close", msg_close, METH_NOARGS, "Close the descriptors nobody took.  Idempotent."},
    {"__enter__", msg_enter, METH_NOARGS, NULL},
    {"__exit__", msg_exit, METH_VARARGS, NULL},
    {"__bytes__", msg_bytes, METH_NOARGS, "The payload."},
    {"__reduce_ex__", msg_reduce_ex, METH_O, "Refused: a copy would close the same fds twice."},
    {NULL, NULL, 0, NULL}};

static PyTypeObject us_message_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "unixsock.Message",
    .tp_basicsize = sizeof(us_message_obj),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Message(data, fds=(), creds=None, address='', truncated=False)\n\n"
              "A received message: ``data``, ``fds``, ``creds`` and ``address`` (a datagram's "
              "sender, \"\" if unbound; \"\" on stream and seqpacket, whose sender is always "
              "the peer: see ``peer_address``).\n\n"
              "The message owns its descriptors (close-on-exec): take them with take_fds() "
              "(or take_fd()); whatever is not taken is closed by close(), by leaving a "
              "``with`` block, or when the message is collected, so a received descriptor "
              "can never leak.",
    .tp_new = msg_new,
    .tp_init = msg_init,
    .tp_dealloc = msg_dealloc,
    .tp_finalize = msg_finalize,
    .tp_traverse = msg_traverse,
    .tp_clear = msg_clear,
    .tp_repr = msg_repr,
    .tp_members = msg_members,
    .tp_getset = msg_getset,
    .tp_methods = msg_methods,
};

static PyMethodDef us_message_functions[] = {
    {"us_use_credentials", us_use_credentials, METH_O,
     "us_use_credentials(cls): received credentials are made as cls(pid, uid, gid)"},
    {NULL, NULL, 0, NULL}};

int us_message_setup(PyObject *module) {
  if (PyType_Ready(&us_message_type) < 0)
    return -1;
  Py_INCREF(&us_message_type);
  if (PyModule_AddObject(module, "Message", (PyObject *)&us_message_type) < 0) {
    Py_DECREF(&us_message_type);
    return -1;
  }
  return PyModule_AddFunctions(module, us_message_functions);
}
