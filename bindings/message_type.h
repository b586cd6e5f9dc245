/* unixsock.Message, the received message, as a C type of the extension: what
 * recv_message and recv_batch return, made without a Python frame (a Python
 * class cost more per message than the receive itself).  Its Python contract
 * is documented on the type (docs/python.md). */
#ifndef UNIXSOCK_BINDINGS_MESSAGE_TYPE_H
#define UNIXSOCK_BINDINGS_MESSAGE_TYPE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "unixsock.h"

/* Adds the type to the module as Message, and us_use_credentials(cls), which
 * names the class received credentials are made as (unixsock.Credentials).
 * -1 with an exception set. */
int us_message_setup(PyObject *module);

/* A new Message of m's first len data bytes, its descriptors (taken: m's
 * become -1, so releasing m closes none of them), credentials, sender and
 * truncated flag.  NULL with an exception set; m's descriptors are then still
 * m's. */
PyObject *us_message_from(unixsock_message *m, size_t len);

#endif
