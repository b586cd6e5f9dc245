/* Messages and batches: tables {data=, fds={unixsock.fd...}, creds={pid=,uid=,gid=},
 * address=}. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define LUS_PENDING "unixsock.pending"

/* Received messages live in a userdata until their fds are handed to objects,
 * so a memory error on the way (a longjmp) still closes them, at collection. */
typedef struct {
  size_t n;
  char *arena; /* malloc'd receive space, if any: freed with the messages */
  unixsock_message m[];
} pending;

static void pending_release(pending *p) {
  for (size_t i = 0; i < p->n; i++)
    unixsock_message_release(&p->m[i]);
  p->n = 0;
  free(p->arena);
  p->arena = NULL;
}

static int pending_gc(lua_State *L) {
  pending_release(luaL_checkudata(L, 1, LUS_PENDING));
  return 0;
}

/* recv_message's record is its scratch buffer (scratch.c), reused, as a new
 * userdata with __gc per call left the collector a finalizer to run per message
 * (a tenth of a receive); released when the call ends, raising included, with
 * whatever was left in it closed. */
static void release_message(void *m) { unixsock_message_release(m); }

static pending *new_pending(lua_State *L, size_t n) {
  pending *p = lua_newuserdatauv(L, sizeof(*p) + n * sizeof(unixsock_message), 0);
  p->n = 0;
  p->arena = NULL;
  memset(p->m, 0, n * sizeof(unixsock_message));
  luaL_setmetatable(L, LUS_PENDING);
  p->n = n;
  return p;
}

/* Raise unless the table at idx holds nothing but [1..n]: send_message("x",
 * {creds = true}) would send no fds and no creds without a word. */
static void check_fds_list(lua_State *L, int idx, lua_Integer n, const char *op) {
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_pop(L, 1);
    bool integer = lua_isinteger(L, -1);
    if (integer && lua_tointeger(L, -1) >= 1 && lua_tointeger(L, -1) <= n)
      continue;
    if (integer)
      lua_pushfstring(L, "key %I", lua_tointeger(L, -1));
    else if (lua_type(L, -1) == LUA_TSTRING)
      lua_pushfstring(L, "key '%s'", lua_tostring(L, -1));
    else
      lua_pushfstring(L, "a %s key", luaL_typename(L, -1));
    luaL_error(L, "%s: fds must be a list of descriptors, not a table with %s (options go after fds)",
               op, lua_tostring(L, -1));
  }
}

/* A send_batch message's field at idx that is not what it must be: named by the
 * message, as the stack slot it was copied to is no argument of the caller's. */
static int bad_field(lua_State *L, int idx, const char *op, lua_Integer item, const char *field,
                     const char *must) {
  return luaL_error(L, "%s: message %I's %s must be %s, not %s", op, item, field, must,
                    luaL_typename(L, idx));
}

/* Fill m from (data, fds table, options table) at idx, idx+1, idx+2; item > 0 is
 * the send_batch message an error names.  0, or -ENAMETOOLONG for an address
 * longer than a message holds, which is then left on top of the stack for the
 * caller's error (as sendto says it). */
static int read_outgoing(lua_State *L, int idx, unixsock_message *m, int *fdv, const char *op,
                         lua_Integer item) {
  if (item > 0 && !lua_isstring(L, idx))
    bad_field(L, idx, op, item, "data", "a string");
  m->data = (void *)luaL_checklstring(L, idx, &m->len);
  if (!lua_isnoneornil(L, idx + 1)) {
    if (item > 0 && !lua_istable(L, idx + 1))
      bad_field(L, idx + 1, op, item, "fds", "a list of descriptors");
    luaL_checktype(L, idx + 1, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx + 1); /* a plain list */
    check_fds_list(L, idx + 1, n, op);
    if (n > UNIXSOCK_MAX_FDS) {
      m->nfds = (size_t)n; /* the core says E2BIG before any syscall */
    } else {
      for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx + 1, i);
        if (!lus_test_fd(L, -1, &fdv[i - 1])) {
          if (item > 0)
            lua_pushfstring(L, "message %I's ", item);
          else
            lua_pushliteral(L, "");
          luaL_error(L, "%s: %sfds[%I] is a %s, not a descriptor (integer, unixsock.fd, socket, file or object with getfd)",
                     op, lua_tostring(L, -1), i, luaL_typename(L, -2));
        }
        lua_pop(L, 1);
      }
      m->nfds = (size_t)n;
    }
    m->fds = fdv;
  }
  if (!lua_isnoneornil(L, idx + 2)) {
    luaL_checktype(L, idx + 2, LUA_TTABLE);
    if (lua_getfield(L, idx + 2, "creds") != LUA_TNIL && lua_toboolean(L, -1))
      m->flags |= UNIXSOCK_MSG_CREDS;
    lua_pop(L, 1);
    if (lua_getfield(L, idx + 2, "address") != LUA_TNIL) {
      if (!lua_isstring(L, -1)) /* the options are an argument, the address a field */
        return item > 0 ? bad_field(L, -1, op, item, "address", "a string")
                        : luaL_argerror(L, idx + 2, lua_pushfstring(L, "address must be a string, not %s",
                                                                    luaL_typename(L, -1)));
      size_t alen;
      const char *a = lua_tolstring(L, -1, &alen);
      if (alen > sizeof(m->address))
        return -ENAMETOOLONG;
      memcpy(m->address, a, alen);
      m->addrlen = alen;
    }
    lua_pop(L, 1);
  }
  return 0;
}

/* The error of an address read_outgoing found too long (on top of the stack). */
static int fail_too_long(lua_State *L, const char *op) {
  size_t len;
  const char *a = lua_tolstring(L, -1, &len);
  return lus_fail(L, -ENAMETOOLONG, op, a, len);
}

/* Push a received message as a table; its fds become unixsock.fd objects. */
static void push_message(lua_State *L, unixsock_message *m, size_t len) {
  lua_createtable(L, 0, 5);
  lua_pushlstring(L, m->data, len);
  lua_setfield(L, -2, "data");
  lua_createtable(L, (int)m->nfds, 0);
  for (size_t i = 0; i < m->nfds; i++) {
    lus_push_fd(L, m->fds[i]);
    m->fds[i] = -1; /* the object owns it now */
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "fds");
  if (m->flags & UNIXSOCK_MSG_CREDS) {
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, m->creds.pid);
    lua_setfield(L, -2, "pid");
    lua_pushinteger(L, m->creds.uid);
    lua_setfield(L, -2, "uid");
    lua_pushinteger(L, m->creds.gid);
    lua_setfield(L, -2, "gid");
    lua_setfield(L, -2, "creds");
  }
  lua_pushlstring(L, m->address, m->addrlen);
  lua_setfield(L, -2, "address");
  if (m->flags & UNIXSOCK_MSG_TRUNCATED) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "truncated");
  }
}

/* op's -EBADF, which names one of m's fds where one is not open (the kernel's
 * error read as if the socket were closed); item > 0: m is that item of a batch. */
static int fail_bad_fd(lua_State *L, const char *op, const unixsock *h,
                       const unixsock_message *m, int item) {
  int bad = unixsock_message_bad_fd(m);
  char why[160], of[32] = "";
  if (item > 0)
    snprintf(of, sizeof(of), "message %d's ", item);
  snprintf(why, sizeof(why), "%s; %sfds[%d] (%d) is not an open descriptor",
           unixsock_strerror(-EBADF), of, bad + 1, bad >= 0 ? m->fds[bad] : -1);
  const char *text = bad >= 0 ? why : unixsock_strerror(-EBADF);
  return m->addrlen ? lus_fail_why(L, -EBADF, text, op, m->address, m->addrlen)
                    : lus_fail_on_why(L, -EBADF, text, op, h);
}

/* What a message table may hold: a received message passes as the options of
 * send_message, and as a send_batch item (its data, fds, truncated are what it
 * carries; as options they are left to the other arguments). */
static const char *const message_fields[] = {"creds", "address", "data", "fds", "truncated", NULL};

/* sock:send_message(data [, fds [, {creds=true, address=...}]]) -> bytes */
static int l_send_message(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  int fdv[UNIXSOCK_MAX_FDS];
  unixsock_message m;
  memset(&m, 0, sizeof(m));
  if (lua_istable(L, 4))
    lus_check_option_names(L, 4, message_fields);
  if (read_outgoing(L, 2, &m, fdv, "send_message", 0) < 0)
    return fail_too_long(L, "send_message");
  ssize_t n = unixsock_send_message(s->h, &m);
  if (n == -EBADF)
    return fail_bad_fd(L, "send_message", s->h, &m, 0);
  if (n < 0)
    return m.addrlen ? lus_fail_at(L, (int)n, "send_message", unixsock_kind(s->h), s->h,
                                   m.address, m.addrlen)
                     : lus_fail_on(L, (int)n, "send_message", s->h);
  lua_pushinteger(L, n);
  return 1;
}

/* The optional max_fds argument at arg as the core's: 0 accepts none (the
 * core's 0 means the most), absent the most. */
static size_t opt_max_fds(lua_State *L, int arg) {
  lua_Integer max_fds = luaL_optinteger(L, arg, UNIXSOCK_MAX_FDS);
  luaL_argcheck(L, max_fds >= 0, arg, "max_fds must be >= 0");
  return max_fds == 0 ? UNIXSOCK_NO_FDS : (size_t)max_fds;
}

/* sock:recv_message([max_fds]) -> message table | nil (end of stream) | nil, msg, errno */
static int l_recv_message(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  size_t max_fds = opt_max_fds(L, 2);
  unixsock_message *m = lus_scratch(L, lua_upvalueindex(1), sizeof(*m), release_message);
  if (m == NULL) /* in use: by a finalizer run meanwhile, or by another thread */
    m = new_pending(L, 1)->m;
  else
    memset(m, 0, sizeof(*m));
  m->max_fds = max_fds;
  int r = unixsock_recv_message(s->h, m);
  if (r < 0)
    return lus_fail_on(L, r, "recv_message", s->h);
  if (r == 0) {
    lua_pushnil(L);
    return 1;
  }
  push_message(L, m, m->len);
  unixsock_message_release(m);
  return 1;
}

/* Keep the value at idx reachable until the batch is sent: slot anchor holds a
 * table for that, made the first time one is needed. */
static void keep_alive(lua_State *L, int anchor, int idx, lua_Integer i) {
  if (lua_isnil(L, anchor)) {
    lua_newtable(L);
    lua_replace(L, anchor);
  }
  lua_pushvalue(L, idx);
  lua_rawseti(L, anchor, i);
}

static bool has_metatable(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx))
    return false;
  lua_pop(L, 1);
  return true;
}

/* sock:send_batch({ "data", {data=, fds=, creds=, address=}, ... }) -> count */
static int l_send_batch(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 2);
  luaL_argcheck(L, n >= 0, 2, "a __len below 0"); /* any length, as in C and Python */
  if (n == 0) {
    lua_pushinteger(L, 0);
    return 1;
  }
  /* n records and room for each one's fds: 77 KiB for 64 messages, reused, as a
   * new userdata per call would make the collector work through it every time */
  size_t need = (size_t)n * (sizeof(unixsock_message) + UNIXSOCK_MAX_FDS * sizeof(int));
  unixsock_message *ms = lus_scratch(L, lua_upvalueindex(1), need, NULL);
  if (ms == NULL)
    ms = lua_newuserdatauv(L, need, 0);
  int *fdv = (int *)(ms + n);
  memset(ms, 0, (size_t)n * sizeof(*ms));
  /* The records point into the payload strings, which the stack holds only while
   * their item is read.  A string kept in a plain table stays alive there; one
   * made on the way (by an __index metamethod, or a number turned into a string)
   * would be collected before the send, so it goes into an anchor table. */
  bool batch_meta = has_metatable(L, 2);
  lua_pushnil(L);
  int anchor = lua_gettop(L), base = anchor;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_settop(L, base);
    int type = lua_geti(L, 2, i);
    if (type == LUA_TSTRING) {
      ms[i - 1].data = (void *)lua_tolstring(L, -1, &ms[i - 1].len);
      if (batch_meta)
        keep_alive(L, anchor, -1, i);
      continue;
    }
    if (type != LUA_TTABLE)
      return luaL_error(L, "send_batch: message %d must be a string or a table, not %s",
                        (int)i, luaL_typename(L, -1));
    int t = lua_gettop(L);
    bool item_meta = has_metatable(L, t);
    /* {"data", {fd}}, as Python's tuple, sent "" without its fds.  (Each
     * field's name is not checked, as send_message's options are: walking the
     * table cost a third of a batched message's time.) */
    if (!item_meta && lua_rawlen(L, t) > 0)
      return luaL_error(L, "send_batch: message %d's fields go by name: {data = ..., fds = {...}}",
                        (int)i);
    bool made = batch_meta || item_meta;
    made = lua_getfield(L, t, "data") != LUA_TSTRING || made;
    lua_getfield(L, t, "fds");
    lua_pushvalue(L, t); /* the table doubles as the options table */
    if (read_outgoing(L, t + 1, &ms[i - 1], fdv + (i - 1) * UNIXSOCK_MAX_FDS, "send_batch", i) < 0)
      return fail_too_long(L, "send_batch"); /* before anything is sent, as in Python */
    if (made)
      keep_alive(L, anchor, t + 1, i); /* read_outgoing left the string there */
  }
  lua_settop(L, base);
  int r = unixsock_send_batch(s->h, ms, (size_t)n);
  if (r == -EBADF) /* none went: the first failed */
    return fail_bad_fd(L, "send_batch", s->h, &ms[0], 1);
  if (r < 0 && ms[0].addrlen > 0) /* none went: the first failed, at its address */
    return lus_fail_at(L, r, "send_batch", unixsock_kind(s->h), s->h, ms[0].address,
                       ms[0].addrlen);
  if (r < 0)
    return lus_fail_on(L, r, "send_batch", s->h);
  lua_pushinteger(L, r);
  return 1;
}

/* sock:recv_batch([count [, size [, max_fds]]]) -> array of message tables ({} at end) */
static int l_recv_batch(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  lua_Integer count = luaL_optinteger(L, 2, 64);
  lua_Integer size = luaL_optinteger(L, 3, 65536);
  size_t max_fds = opt_max_fds(L, 4);
  _Static_assert(UNIXSOCK_BATCH_MAX == 1024 && UNIXSOCK_BATCH_SLOT_MAX == 67108864,
                 "the messages below name the bounds");
  luaL_argcheck(L, count > 0 && count <= UNIXSOCK_BATCH_MAX, 2, "count must be 1..1024");
  luaL_argcheck(L, size >= 0 && size <= UNIXSOCK_BATCH_SLOT_MAX, 3, "size must be 0..67108864");
  /* count slots of size bytes: the function's reused buffer (as in send_batch)
   * when it fits, else malloc'd and freed at the end, not a userdata, whose
   * megabytes the collector would work through on every call */
  size_t need = (size_t)(count * size) + 1;
  char *arena = lus_scratch(L, lua_upvalueindex(1), need, NULL);
  pending *p = new_pending(L, (size_t)count);
  unixsock_message *ms = p->m;
  if (arena == NULL && (arena = p->arena = malloc(need)) == NULL)
    return lus_fail(L, -ENOMEM, "recv_batch", NULL, 0);
  for (lua_Integer i = 0; i < count; i++) {
    ms[i].data = arena + i * size;
    ms[i].len = (size_t)size;
    ms[i].max_fds = max_fds;
  }
  int r = unixsock_recv_batch(s->h, ms, (size_t)count);
  if (r < 0) {
    pending_release(p);
    return lus_fail_on(L, r, "recv_batch", s->h);
  }
  lua_createtable(L, r, 0);
  for (int i = 0; i < r; i++) {
    size_t len = ms[i].len > (size_t)size ? (size_t)size : ms[i].len;
    push_message(L, &ms[i], len);
    lua_rawseti(L, -2, i + 1);
  }
  pending_release(p);
  return 1;
}

/* sock:max_message() -> bytes; sock:max_message(bytes) -> true | nil, msg, errno */
static int l_max_message(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lua_pushinteger(L, unixsock_get_max_message(s->h));
    return 1;
  }
  lua_Integer v = luaL_checkinteger(L, 2);
  int r = unixsock_set_max_message(s->h, v < 0 ? 0 : (size_t)v); /* EINVAL: out of range */
  if (r == -EINVAL)
    return lus_fail_why(L, r, "the size must be 1 to 2147483647", "max_message", NULL, 0);
  if (r < 0)
    return lus_fail_on(L, r, "max_message", s->h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg methods[] = {
    {"send_message", l_send_message}, {"recv_message", l_recv_message},
    {"send_batch", l_send_batch},     {"recv_batch", l_recv_batch},
    {"max_message", l_max_message},   {NULL, NULL},
};

void lus_open_message(lua_State *L) {
  luaL_newmetatable(L, LUS_PENDING);
  lua_pushcfunction(L, pending_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_getmetatable(L, LUS_SOCKET); /* mt */
  lua_getfield(L, -1, "__index");   /* mt, methods */
  lua_pushnil(L); /* upvalue 1: send_batch's or recv_batch's buffer (scratch.c),
                   * recv_message's record */
  luaL_setfuncs(L, methods, 1);
  lua_pop(L, 2);
}
