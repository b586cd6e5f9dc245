/* The socket class: methods, __gc, __close, __tostring. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

/* noinline: its buffer costs nothing on lus_fail's way that names no address */
__attribute__((noinline)) int lus_fail_at(lua_State *L, int result, const char *op, int kind,
                                          const unixsock *h, const char *address,
                                          size_t addrlen) {
  char why[800];
  int n = snprintf(why, sizeof(why), "%s; ", unixsock_strerror(result));
  if (unixsock_address_error(op, kind, address, addrlen, result, NULL, why + n,
                             sizeof(why) - (size_t)n) == 0 &&
      unixsock_call_error(h, op, result, why + n, sizeof(why) - (size_t)n) == 0)
    return lus_fail_why(L, result, unixsock_strerror(result), op, address, addrlen);
  return lus_fail_why(L, result, why, op, address, addrlen);
}

int lus_fail(lua_State *L, int result, const char *op, const char *address,
             size_t addrlen) {
  /* errors with an address are not the hot path's EAGAIN; out of descriptors
   * (pair, adopt) is said the same with none */
  if (address != NULL || result == -EMFILE || result == -ENFILE)
    return lus_fail_at(L, result, op, 0, NULL, address, addrlen);
  return lus_fail_why(L, result, unixsock_strerror(result), op, address, addrlen);
}

/* Apart, so that the buffer costs nothing on the way that names nothing (EAGAIN,
 * on every empty try of a host's loop). */
static __attribute__((noinline)) int fail_naming(lua_State *L, int result, const char *why,
                                                 const char *op, const unixsock *h) {
  char name[4096]; /* a long path is named whole */
  size_t len = sizeof(name);
  if (unixsock_error_address(h, result, name, &len) < 0)
    len = 0;
  return lus_fail_why(L, result, why, op, len > 0 ? name : NULL, len);
}

int lus_fail_on_why(lua_State *L, int result, const char *why, const char *op,
                    const unixsock *h) {
  return fail_naming(L, result, why, op, h);
}

/* After the errno's text, what it leaves unsaid: how a stream's frame broke
 * (plain bytes from socat read as "Connection reset by peer" alone), or that the
 * call does not fit the socket (recv on a listener: "Invalid argument"). */
static __attribute__((noinline)) int fail_explained(lua_State *L, int result, const char *op,
                                                    const unixsock *h) {
  char why[512];
  const char *text = unixsock_strerror(result);
  int n = snprintf(why, sizeof(why), "%s; ", text);
  if (unixsock_frame_error(h, result, why + n, sizeof(why) - (size_t)n) == 0 &&
      unixsock_call_error(h, op, result, why + n, sizeof(why) - (size_t)n) == 0)
    return fail_naming(L, result, text, op, h);
  return fail_naming(L, result, why, op, h);
}

int lus_fail_fd(lua_State *L, int result, const char *op, int fd) {
  char why[256];
  int n = snprintf(why, sizeof(why), "%s; ", unixsock_strerror(result));
  if (unixsock_fd_error(fd, result, why + n, sizeof(why) - (size_t)n) == 0)
    return lus_fail(L, result, op, NULL, 0);
  return lus_fail_why(L, result, why, op, NULL, 0);
}

int lus_fail_on(lua_State *L, int result, const char *op, const unixsock *h) {
  if (h == NULL || result == -EAGAIN) /* EAGAIN names no address: a poller's empty try */
    return lus_fail(L, result, op, NULL, 0);
  return fail_explained(L, result, op, h);
}

/* Add an address as messages show it: control bytes as \xNN, "" for an empty one. */
static void add_shown(luaL_Buffer *b, const char *name, size_t len) {
  size_t room = 4 * len + 3; /* all of it, escaped */
  luaL_addsize(b, unixsock_address_text(name, len, luaL_prepbuffsize(b, room), room));
}

int lus_fail_why(lua_State *L, int result, const char *why, const char *op,
                 const char *address, size_t addrlen) {
  lua_pushnil(L);
  if (address != NULL) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, op);
    luaL_addchar(&b, ' ');
    add_shown(&b, address, addrlen);
    luaL_addstring(&b, ": ");
    luaL_addstring(&b, why);
    luaL_pushresult(&b);
  } else {
    /* by hand: EAGAIN comes back on every empty poll of a non-blocking socket,
     * and lua_pushfstring cost a thousand instructions of it */
    size_t oplen = strlen(op), errlen = strlen(why);
    char msg[256];
    if (oplen + 2 + errlen <= sizeof(msg)) {
      memcpy(msg, op, oplen);
      memcpy(msg + oplen, ": ", 2);
      memcpy(msg + oplen + 2, why, errlen);
      lua_pushlstring(L, msg, oplen + 2 + errlen);
    } else {
      lua_pushfstring(L, "%s: %s", op, why);
    }
  }
  lua_pushinteger(L, -result);
  return 3;
}

const char lus_socket_tag = 0; /* its address marks this module's sockets */

lus_socket *lus_new(lua_State *L) {
  lus_socket *s = lua_newuserdatauv(L, sizeof(*s), 0);
  s->h = NULL;
  s->tag = &lus_socket_tag;
  luaL_setmetatable(L, LUS_SOCKET);
  return s;
}

/* By the tag in the userdata, not its metatable: on every method call a
 * metatable lookup (by name or by key) cost as much as the rest of the call.
 * Only C code could forge the tag; Lua code cannot write into a userdata.  The
 * tag is read only from a full userdata of our size: lua_touserdata is NULL for
 * anything but a userdata, and lua_rawlen is 0 for a light one. */
lus_socket *lus_test(lua_State *L, int n) {
  lus_socket *s = lua_touserdata(L, n);
  if (s == NULL || lua_rawlen(L, n) != sizeof(*s) || s->tag != &lus_socket_tag)
    return NULL;
  return s;
}

lus_socket *lus_check(lua_State *L, int n) {
  lus_socket *s = lus_test(L, n);
  if (s == NULL)
    luaL_typeerror(L, n, LUS_SOCKET);
  if (s->h == NULL)
    luaL_error(L, "attempt to use a closed socket");
  return s;
}

int lus_timeout_ms(lua_State *L, int n) {
  int ms = -1;
  if (!lua_isnoneornil(L, n))
    luaL_argcheck(L, unixsock_timeout_ms((double)luaL_checknumber(L, n), &ms) == 0, n,
                  "timeout must be nil or >= 0");
  return ms;
}

int lus_kind(lua_State *L, int n, const char *def) {
  const char *name = luaL_optstring(L, n, def);
  int k = unixsock_kind_parse(name);
  if (k < 0)
    luaL_argerror(L, n, lua_pushfstring(L, "unknown kind '%s'", name));
  return k;
}

void lus_push_address(lua_State *L, const char *name, size_t len) {
  lua_pushlstring(L, name, len);
}

/* ---- methods ---- */

static int l_close(lua_State *L) {
  lus_socket *s = luaL_checkudata(L, 1, LUS_SOCKET);
  if (s->h != NULL) {
    unixsock *h = s->h;
    s->h = NULL;
    unixsock_close(h);
  }
  return 0;
}

/* The socket's own address or its peer's, into name (size bytes); its length, 0
 * when it has none. */
static size_t address_of(const unixsock *h, bool peer, char *name, size_t size) {
  int r = peer ? unixsock_peer_address(h, name, &size) : unixsock_local_address(h, name, &size);
  return r < 0 ? 0 : size;
}

/* unixsock.socket KIND 'local' [peer 'peer'] (fd N): the peer only when it has a
 * name (a client's server; an accepted connection's peer is mostly unnamed). */
static int l_tostring(lua_State *L) {
  lus_socket *s = luaL_checkudata(L, 1, LUS_SOCKET);
  if (s->h == NULL) {
    lua_pushliteral(L, "unixsock.socket (closed)");
    return 1;
  }
  char name[4096]; /* a long path is reported whole, as given */
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "unixsock.socket ");
  luaL_addstring(&b, unixsock_kind_name(unixsock_kind(s->h)));
  luaL_addstring(&b, " '");
  size_t len = address_of(s->h, false, name, sizeof(name));
  if (len > 0)
    add_shown(&b, name, len);
  luaL_addchar(&b, '\'');
  len = address_of(s->h, true, name, sizeof(name));
  if (len > 0) {
    luaL_addstring(&b, " peer '");
    add_shown(&b, name, len);
    luaL_addchar(&b, '\'');
  }
  char fd[32];
  snprintf(fd, sizeof(fd), " (fd %d)", unixsock_fd(s->h));
  luaL_addstring(&b, fd);
  luaL_pushresult(&b);
  return 1;
}

static int l_fileno(lua_State *L) {
  lua_pushinteger(L, unixsock_fd(lus_check(L, 1)->h));
  return 1;
}

/* fileno by luasocket's name, which its socket.select asks every object for (an
 * object without it is left out, without a word); -1 once closed, as luasocket's
 * own sockets say, so that select leaves a closed one out instead of raising. */
static int l_getfd(lua_State *L) {
  lus_socket *s = luaL_checkudata(L, 1, LUS_SOCKET);
  lua_pushinteger(L, s->h != NULL ? unixsock_fd(s->h) : -1);
  return 1;
}

static int l_kind(lua_State *L) {
  lua_pushstring(L, unixsock_kind_name(unixsock_kind(lus_check(L, 1)->h)));
  return 1;
}

static int l_closed(lua_State *L) {
  lus_socket *s = luaL_checkudata(L, 1, LUS_SOCKET);
  lua_pushboolean(L, s->h == NULL);
  return 1;
}

static int l_settimeout(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  unixsock_settimeout(s->h, lus_timeout_ms(L, 2));
  lua_pushboolean(L, 1);
  return 1;
}

static int l_gettimeout(lua_State *L) {
  int ms = unixsock_gettimeout(lus_check(L, 1)->h);
  if (ms < 0)
    lua_pushnil(L);
  else
    lua_pushnumber(L, ms / 1000.0);
  return 1;
}

typedef int (*address_fn)(const unixsock *, char *, size_t *);

static int push_address_of(lua_State *L, address_fn fn, const char *op) {
  lus_socket *s = lus_check(L, 1);
  size_t len = 0;
  int r = fn(s->h, NULL, &len);
  if (r < 0)
    return lus_fail_on(L, r, op, s->h);
  char *buf = lua_newuserdatauv(L, len + 1, 0); /* collected, even if a push below raises */
  r = fn(s->h, buf, &len);
  if (r < 0)
    return lus_fail_on(L, r, op, s->h);
  lus_push_address(L, buf, len);
  return 1;
}

static int l_local_address(lua_State *L) {
  return push_address_of(L, unixsock_local_address, "local_address");
}

static int l_peer_address(lua_State *L) {
  return push_address_of(L, unixsock_peer_address, "peer_address");
}

static int l_accept(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  lus_socket *c = lus_new(L); /* before the fd exists */
  int r = unixsock_accept(s->h, &c->h);
  if (r < 0)
    return lus_fail_on(L, r, "accept", s->h);
  return 1;
}

/* send(data [, i [, j]]): the bytes i to j of data, as luasocket's send takes
 * them (a negative index counts from the end), and the index of the last one
 * sent, as luasocket's returns it (i - 1 + the bytes sent: the count when i is
 * 1).  i and j were ignored: a luasocket loop that sends the rest from i sent
 * all of data again. */
static int l_send(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  lua_Integer first = luaL_optinteger(L, 3, 1), last = luaL_optinteger(L, 4, -1);
  lua_Integer size = (lua_Integer)len;
  if (first < 0)
    first = first < -size ? 1 : size + first + 1;
  if (last < 0)
    last = size + last + 1;
  if (first < 1)
    first = 1;
  if (last > size)
    last = size;
  /* data:sub(i, j) may be "": on dgram and seqpacket an empty message (and i may
   * lie past the end, where no pointer may go) */
  bool some = first <= last;
  ssize_t n = unixsock_send(s->h, some ? data + first - 1 : data, some ? (size_t)(last - first + 1) : 0);
  if (n < 0)
    return lus_fail_on(L, (int)n, "send", s->h);
  lua_pushinteger(L, first - 1 + (lua_Integer)n);
  return 1;
}

static ssize_t recv_into(void *arg, void *buf, size_t size) {
  return unixsock_recv(arg, buf, size);
}

static int l_recv(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  lua_Integer size = luaL_optinteger(L, 2, 65536);
  luaL_argcheck(L, size >= 0, 2, "size must be >= 0");
  ssize_t n = lus_recv_string(L, lua_upvalueindex(1), (size_t)size, recv_into, s->h);
  return n < 0 ? lus_fail_on(L, (int)n, "recv", s->h) : 1;
}

/* The iterator sock:lines() returns; upvalues: the socket, the bytes read and
 * not yet all returned (nil once the stream ended), and where in them the next
 * line starts (an offset, so that a chunk of many short lines is not copied
 * again for each). */
static int lines_next(lua_State *L) {
  lus_socket *s = lus_check(L, lua_upvalueindex(1));
  if (lua_isnil(L, lua_upvalueindex(2)))
    return 0; /* ended: nil, as io.lines' iterator after the last line */
  size_t have, at = (size_t)lua_tointeger(L, lua_upvalueindex(3));
  const char *kept = lua_tolstring(L, lua_upvalueindex(2), &have);
  const char *nl = memchr(kept + at, '\n', have - at);
  if (nl == NULL) { /* read on, after what is left */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, kept + at, have - at);
    for (bool found = false; !found;) {
      char *room = luaL_prepbuffsize(&b, 65536);
      ssize_t n = unixsock_recv(s->h, room, 65536);
      if (n < 0) { /* raised, as io.lines' read errors are: a for loop cannot return one */
        lus_fail_on(L, (int)n, "lines", s->h);
        lua_pop(L, 1); /* the errno: the message is the error */
        return lua_error(L);
      }
      if (n == 0) { /* the end: the last line, even without its newline */
        luaL_pushresult(&b);
        lua_pushnil(L);
        lua_replace(L, lua_upvalueindex(2));
        return luaL_len(L, -1) > 0 ? 1 : 0;
      }
      found = memchr(room, '\n', (size_t)n) != NULL;
      luaL_addsize(&b, (size_t)n);
    }
    luaL_pushresult(&b);
    lua_replace(L, lua_upvalueindex(2));
    kept = lua_tolstring(L, lua_upvalueindex(2), &have);
    at = 0;
    nl = memchr(kept, '\n', have);
  }
  lua_pushlstring(L, kept + at, (size_t)(nl - (kept + at)));
  lua_pushinteger(L, nl + 1 - kept);
  lua_replace(L, lua_upvalueindex(3));
  return 1;
}

/* sock:lines(): the lines of a stream, as io.lines gives a file's (each without
 * its "\n"; the last even without one).  What it reads past a line it keeps for
 * the next: read the socket through it alone. */
static int l_lines(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  if (unixsock_kind(s->h) != UNIXSOCK_STREAM)
    return luaL_error(L, "lines reads a stream; on dgram and seqpacket each recv is one message");
  lua_settop(L, 1);
  lua_pushliteral(L, "");
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, lines_next, 3);
  return 1;
}

static int l_sendto(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  size_t len, alen;
  const char *data = luaL_checklstring(L, 2, &len);
  const char *addr = luaL_checklstring(L, 3, &alen);
  ssize_t n = unixsock_sendto(s->h, data, len, addr, alen);
  if (n < 0)
    return lus_fail_at(L, (int)n, "sendto", unixsock_kind(s->h), s->h, addr, alen);
  lua_pushinteger(L, n);
  return 1;
}

struct recvfrom_args {
  unixsock *h;
  char from[UNIXSOCK_ADDRESS_MAX];
  size_t fromlen;
};

static ssize_t recvfrom_into(void *arg, void *buf, size_t size) {
  struct recvfrom_args *a = arg;
  return unixsock_recvfrom(a->h, buf, size, a->from, &a->fromlen);
}

static int l_recvfrom(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  lua_Integer size = luaL_optinteger(L, 2, 65536);
  luaL_argcheck(L, size >= 0, 2, "size must be >= 0");
  struct recvfrom_args a = {.h = s->h, .fromlen = sizeof(a.from)};
  ssize_t n = lus_recv_string(L, lua_upvalueindex(1), (size_t)size, recvfrom_into, &a);
  if (n < 0)
    return lus_fail_on(L, (int)n, "recvfrom", s->h);
  lus_push_address(L, a.from, a.fromlen);
  return 2;
}

static int l_buffer(lua_State *L, int (*set)(unixsock *, int), int (*get)(const unixsock *),
                    const char *op) {
  lus_socket *s = lus_check(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    lua_Integer v = luaL_checkinteger(L, 2);
    if (v < 0 || v > INT_MAX) /* a value, not a mistake of type: returned, as max_message's */
      return lus_fail_why(L, -EINVAL, "the size must be 0 to 2147483647", op, NULL, 0);
    int r = set(s->h, (int)v);
    if (r < 0)
      return lus_fail_on(L, r, op, s->h);
  }
  int v = get(s->h);
  if (v < 0)
    return lus_fail_on(L, v, op, s->h);
  lua_pushinteger(L, v);
  return 1;
}

static int l_send_buffer(lua_State *L) {
  return l_buffer(L, unixsock_set_send_buffer, unixsock_get_send_buffer, "send_buffer");
}

static int l_recv_buffer(lua_State *L) {
  return l_buffer(L, unixsock_set_recv_buffer, unixsock_get_recv_buffer, "recv_buffer");
}

static int l_listening(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  int r = unixsock_listening(s->h);
  if (r < 0)
    return lus_fail_on(L, r, "listening", s->h);
  lua_pushboolean(L, r);
  return 1;
}

static int l_refused(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)unixsock_refused(lus_check(L, 1)->h));
  return 1;
}

/* shutdown([how]): "r", "w" (the default) or "rw", and luasocket's names for
 * them, "receive", "send" and "both", so that code moved from it still works. */
static int l_shutdown(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  static const char *const hows[] = {"r", "w", "rw", "receive", "send", "both"};
  const char *given = luaL_optstring(L, 2, "w");
  int how = 0;
  for (int i = 0; i < 6 && how == 0; i++)
    if (strcmp(given, hows[i]) == 0)
      how = i % 3 + 1; /* core's 1 read, 2 write, 3 both */
  if (how == 0)
    return luaL_argerror(L, 2, lua_pushfstring(L, "how must be 'r', 'w' or 'rw' (luasocket's "
                                                  "'receive', 'send', 'both' too), not '%s'",
                                               given));
  int r = unixsock_shutdown(s->h, how);
  if (r < 0)
    return lus_fail_on(L, r, "shutdown", s->h);
  lua_pushboolean(L, 1);
  return 1;
}

static int l_detach(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  int fd = unixsock_detach(s->h);
  if (fd == -EBUSY) /* the end of a message still to write: the socket stays ours */
    return lus_fail_on(L, fd, "detach", s->h);
  s->h = NULL; /* freed, whatever else came back */
  if (fd < 0)
    return lus_fail(L, fd, "detach", NULL, 0);
  lua_pushinteger(L, fd);
  return 1;
}

static int l_flush(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  int r = unixsock_flush(s->h);
  if (r < 0)
    return lus_fail_on(L, r, "flush", s->h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg methods[] = {
    {"accept", l_accept},
    {"send", l_send},
    {"recv", l_recv},
    {"lines", l_lines},
    {"sendto", l_sendto},
    {"recvfrom", l_recvfrom},
    {"settimeout", l_settimeout},
    {"gettimeout", l_gettimeout},
    {"fileno", l_fileno},
    {"getfd", l_getfd},
    {"kind", l_kind},
    {"local_address", l_local_address},
    {"peer_address", l_peer_address},
    {"getsockname", l_local_address}, /* luasocket's and Python's names */
    {"getpeername", l_peer_address},
    {"send_buffer", l_send_buffer},
    {"recv_buffer", l_recv_buffer},
    {"refused", l_refused},
    {"listening", l_listening},
    {"detach", l_detach},
    {"flush", l_flush},
    {"shutdown", l_shutdown},
    {"closed", l_closed},
    {"close", l_close},
    {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__gc", l_close},
    {"__close", l_close},
    {"__tostring", l_tostring},
    {"__index", NULL}, /* placeholder: lus_new_class sets the methods */
    {NULL, NULL},
};

void lus_open_socket(lua_State *L) {
  lus_new_class(L, LUS_SOCKET, metamethods, methods); /* upvalue 1: recv's buffer */
}
