/* Shared by the Lua module's files.  Conventions (from liolib):
 *  - operating-system failures return nil, message, errno; the message names the
 *    operation and the address;
 *  - a wrong argument type raises (luaL_check*);
 *  - a userdata exists before its descriptor, so a memory error cannot leak one. */
#ifndef UNIXSOCK_LUA_COMMON_H
#define UNIXSOCK_LUA_COMMON_H

#include <lauxlib.h>
#include <lua.h>

#include "unixsock.h"

#define LUS_SOCKET "unixsock.socket"

typedef struct {
  unixsock *h; /* NULL once closed */
} lus_socket;

/* Push nil, "<op> <address>: <strerror>", errno and return 3.  address may be
 * NULL (then only the operation is named). */
int lus_fail(lua_State *L, int result, const char *op, const char *address,
             size_t addrlen);
/* A new closed socket userdata on the stack, with its metatable. */
lus_socket *lus_new(lua_State *L);
/* Argument n as an open socket (raises if it is not a socket or is closed). */
lus_socket *lus_check(lua_State *L, int n);
/* Seconds (a number) or nil -> milliseconds for the core (-1 = block). */
int lus_timeout_ms(lua_State *L, int n);
/* A kind name (default "stream") -> UNIXSOCK_*; raises on an unknown name. */
int lus_kind(lua_State *L, int n, const char *def);
/* Push an address string (abstract names keep their NUL bytes). */
void lus_push_address(lua_State *L, const char *name, size_t len);

/* Push a received descriptor as a unixsock.fd object (closes when collected). */
void lus_push_fd(lua_State *L, int fd);
/* A descriptor argument: an integer, a unixsock.fd or a socket. */
int lus_to_fd(lua_State *L, int idx);

void lus_open_socket(lua_State *L);  /* registers the socket metatable */
void lus_open_fd(lua_State *L);
void lus_open_message(lua_State *L); /* adds message methods to sockets */
/* these add their functions to the module table on top of the stack */
void lus_open_identity(lua_State *L);
void lus_open_poller(lua_State *L);
void lus_open_signals(lua_State *L); /* adds catch_signals/signaled to the table on top */

#endif
