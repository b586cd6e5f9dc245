/* Shared by the Lua module's files.  Conventions (from liolib):
 *  - operating-system failures return nil, message, errno; the message names the
 *    operation and the address;
 *  - a wrong argument type raises (luaL_check*);
 *  - a userdata exists before its descriptor, so a memory error cannot leak one. */
#ifndef UNIXSOCK_LUA_COMMON_H
#define UNIXSOCK_LUA_COMMON_H

#include <lauxlib.h>
#include <lua.h>
#include <stdbool.h>

#include "unixsock.h"

#define LUS_SOCKET "unixsock.socket"

typedef struct {
  unixsock *h;     /* NULL once closed */
  const void *tag; /* lus_socket_tag: identifies the userdata (see lus_test) */
} lus_socket;
extern const char lus_socket_tag;

/* Push nil, "<op> <address>: <strerror>", errno and return 3.  address may be
 * NULL (then only the operation is named). */
int lus_fail(lua_State *L, int result, const char *op, const char *address,
             size_t addrlen);
/* lus_fail for op given address as a kind socket, in a call on h (NULL: none
 * yet): after the errno's text, what it leaves unsaid about the address
 * (unixsock_address_error: what is there instead, which file refused an
 * EACCES), or that the call does not fit h (unixsock_call_error). */
int lus_fail_at(lua_State *L, int result, const char *op, int kind, const unixsock *h,
                const char *address, size_t addrlen);
/* The same for a call on the socket h (NULL: closed), naming the address core
 * picks for its errors (unixsock_error_address); only the operation when none. */
int lus_fail_on(lua_State *L, int result, const char *op, const unixsock *h);
/* The same with why in place of the errno's text. */
int lus_fail_on_why(lua_State *L, int result, const char *why, const char *op,
                    const unixsock *h);
/* The error of a call given the descriptor fd (op: the call the script made:
 * adopt, socket, poller:add...), with what fd is where the errno does not say
 * (unixsock_fd_error). */
int lus_fail_fd(lua_State *L, int result, const char *op, int fd);
/* Raise an argument error for a key of the options table at opts that is not in
 * known (NULL-terminated): a misspelt option would otherwise do nothing. */
void lus_check_option_names(lua_State *L, int opts, const char *const known[]);
/* The same with why in place of the errno's text. */
int lus_fail_why(lua_State *L, int result, const char *why, const char *op,
                 const char *address, size_t addrlen);
/* A new closed socket userdata on the stack, with its metatable. */
lus_socket *lus_new(lua_State *L);
/* Argument n as an open socket (raises if it is not a socket or is closed). */
lus_socket *lus_check(lua_State *L, int n);
/* Argument n as a socket (open or closed), or NULL if it is something else. */
lus_socket *lus_test(lua_State *L, int n);
/* Seconds (a number) or nil -> milliseconds by unixsock_timeout_ms (nil: -1, block). */
int lus_timeout_ms(lua_State *L, int n);
/* Whether a signal catch_signals asked for has come (signals.c): a wait that an
 * EINTR ended then ends too, as a socket's does. */
bool lus_signal_caught(void);
/* A kind name (default "stream") -> UNIXSOCK_*; raises on an unknown name. */
int lus_kind(lua_State *L, int n, const char *def);
/* A receive into a buffer of size bytes: the count, or a negative errno. */
typedef ssize_t (*lus_recv_fn)(void *arg, void *buf, size_t size);
/* Call fn with a buffer of size bytes and push what it received as a string
 * (nothing is pushed when it fails).  Returns fn's result.  The buffer is kept in
 * the running C function's upvalue `upvalue` (registered as nil).  See scratch.c. */
ssize_t lus_recv_string(lua_State *L, int upvalue, size_t size, lus_recv_fn fn, void *arg);
/* A buffer of size bytes, the running C function's own (kept in its upvalue
 * `upvalue`, registered as nil), held until the function returns or raises: a
 * to-be-closed value is pushed for that, which first calls cleanup(buffer)
 * when cleanup is not NULL (to let go of what the buffer held).  NULL (nothing
 * pushed) when size is over 1 MiB or the buffer is in use; the caller then
 * allocates one itself. */
void *lus_scratch(lua_State *L, int upvalue, size_t size, void (*cleanup)(void *));
/* Register the metatable tname: metamethods, and __index a table of methods
 * (NULL-terminated), each given upvalue 1 for lus_recv_string/lus_scratch. */
void lus_new_class(lua_State *L, const char *tname, const luaL_Reg *metamethods,
                   const luaL_Reg *methods);
/* Push an address string (abstract names keep their NUL bytes). */
void lus_push_address(lua_State *L, const char *name, size_t len);

/* Push a received descriptor as a unixsock.fd object (closes when collected). */
void lus_push_fd(lua_State *L, int fd);
/* The descriptor at idx into *fd: an integer (one out of range is -1, which the
 * core calls EBADF), a unixsock.fd, a socket or an io library file (a closed
 * socket or file raises what its own methods say).  false, *fd untouched, for
 * any other value. */
bool lus_test_fd(lua_State *L, int idx, int *fd);
/* The same for an argument, raising a type error for any other value. */
int lus_check_fd(lua_State *L, int arg);
/* For adopt given what holds a descriptor rather than its number: how to take
 * it from its holder (a unixsock.fd, a luasocket socket), whose own close would
 * otherwise close it too; NULL for anything else. */
const char *lus_adopt_hint(lua_State *L, int idx);

void lus_open_socket(lua_State *L);  /* registers the socket metatable */
void lus_open_fd(lua_State *L);
void lus_open_message(lua_State *L); /* adds message methods to sockets */
/* these add their functions to the module table on top of the stack */
void lus_open_identity(lua_State *L);
void lus_open_poller(lua_State *L);
void lus_open_signals(lua_State *L); /* adds catch_signals/signaled to the table on top */

#endif
