/* luaopen_unixsock: the module table and the functions that make sockets. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

/* opts[field] is not what it must be: an argument error naming both. */
static int bad_option(lua_State *L, int opts, const char *field, const char *expected) {
  const char *got = lua_type(L, -1) == LUA_TNUMBER ? luaL_tolstring(L, -1, NULL)
                                                   : luaL_typename(L, -1);
  return luaL_argerror(L, opts, lua_pushfstring(L, "opts.%s must be %s, not %s", field, expected, got));
}

/* Read an optional list of ids from opts[field] into a new userdata left on the
 * stack (nil when there is no list), so that a bad entry raised here or later
 * frees it with the rest of the call's values instead of leaking it. */
static unsigned int *id_list(lua_State *L, int opts, const char *field, size_t *ret_n) {
  *ret_n = 0;
  if (lua_getfield(L, opts, field) == LUA_TNIL)
    return NULL; /* the nil stays as the placeholder */
  if (!lua_istable(L, -1))
    bad_option(L, opts, field, "a list of ids");
  lua_Integer len = luaL_len(L, -1);
  luaL_argcheck(L, len >= 0 && (lua_Unsigned)len <= SIZE_MAX / sizeof(unsigned int), opts,
                "too many ids");
  size_t n = (size_t)len;
  unsigned int *ids = lua_newuserdatauv(L, n * sizeof(*ids), 0);
  for (size_t i = 0; i < n; i++) {
    lua_geti(L, -2, (lua_Integer)i + 1);
    int ok;
    lua_Integer v = lua_tointegerx(L, -1, &ok);
    lua_pop(L, 1);
    if (!ok || v < 0 || v >= 0xffffffffLL) /* (uid_t)-1 is no one's id: the core's rule */
      luaL_error(L, "%s[%d] must be a uid/gid (0 to 4294967294)", field, (int)i + 1);
    ids[i] = (unsigned int)v;
  }
  lua_remove(L, -2); /* the table; the userdata stays until the call returns */
  *ret_n = n;
  return n ? ids : NULL;
}

static lua_Integer opt_field(lua_State *L, int opts, const char *field, lua_Integer def) {
  lua_getfield(L, opts, field);
  int ok = 1;
  lua_Integer v = lua_isnil(L, -1) ? def : lua_tointegerx(L, -1, &ok);
  /* not a string either: mode = "600" would be decimal 600, which is no 0600;
   * and Lua has no octal literal, so the way to write one is said */
  if (!ok || (lua_type(L, -1) != LUA_TNUMBER && !lua_isnil(L, -1)))
    bad_option(L, opts, field, strcmp(field, "mode") == 0 ? "an integer (octal 660: tonumber(\"660\", 8))"
                                                          : "an integer");
  lua_pop(L, 1);
  return v;
}

/* An int option: a value past int becomes -2, which the core refuses (EINVAL)
 * for mode and backlog alike, where a cast would keep only its low bits. */
static int opt_int_field(lua_State *L, int opts, const char *field, int def) {
  lua_Integer v = opt_field(L, opts, field, def);
  return v < INT_MIN || v > INT_MAX ? -2 : (int)v;
}

/* mode: -1 (the umask decides) when not given.  A given -1 is C's "not given"
 * and so, like any mode out of range, becomes -2 for the core to refuse. */
static int opt_mode(lua_State *L, int opts) {
  int given = lua_getfield(L, opts, "mode") != LUA_TNIL;
  lua_pop(L, 1);
  int v = opt_int_field(L, opts, "mode", -1);
  return given && v < 0 ? -2 : v;
}

void lus_check_option_names(lua_State *L, int opts, const char *const known[]) {
  lua_pushnil(L);
  while (lua_next(L, opts) != 0) {
    lua_pop(L, 1); /* the value */
    size_t i = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      while (known[i] != NULL && strcmp(known[i], lua_tostring(L, -1)) != 0)
        i++;
    if (lua_type(L, -1) != LUA_TSTRING || known[i] == NULL)
      luaL_argerror(L, opts, lua_pushfstring(L, "unknown option %s", luaL_tolstring(L, -1, NULL)));
  }
}

/* listen(address, kind, opts) and bind(address, opts) share this. */
static int open_bound(lua_State *L, const char *op, int kind, int addr_arg, int opts_arg) {
  static const char *const listen_options[] = {"backlog", "mode", "uid", "gid",
                                               "allow_uids", "allow_gids", NULL};
  size_t alen = 0;
  const char *addr = (kind == UNIXSOCK_DGRAM && lua_isnoneornil(L, addr_arg))
                         ? "" /* bind() autobinds */
                         : luaL_checklstring(L, addr_arg, &alen);
  unixsock_options o = UNIXSOCK_OPTIONS_INIT;
  if (!lua_isnoneornil(L, opts_arg)) {
    luaL_checktype(L, opts_arg, LUA_TTABLE);
    /* bind has no backlog: its list starts one later */
    lus_check_option_names(L, opts_arg, listen_options + (kind == UNIXSOCK_DGRAM));
    o.backlog = opt_int_field(L, opts_arg, "backlog", 0);
    o.mode = opt_mode(L, opts_arg);
    o.uid = opt_field(L, opts_arg, "uid", -1);
    o.gid = opt_field(L, opts_arg, "gid", -1);
    o.allow_uids = id_list(L, opts_arg, "allow_uids", &o.allow_uids_count);
    o.allow_gids = id_list(L, opts_arg, "allow_gids", &o.allow_gids_count);
  }
  const char *why = unixsock_options_error(addr, alen, &o);
  if (why != NULL)
    return lus_fail_why(L, -EINVAL, why, op, addr, alen);
  lus_socket *s = lus_new(L); /* before the fd exists */
  int r = kind == UNIXSOCK_DGRAM ? unixsock_bind(addr, alen, kind, &o, &s->h)
                                 : unixsock_listen(addr, alen, kind, &o, &s->h);
  if (r < 0)
    return lus_fail_at(L, r, op, kind, NULL, addr, alen);
  return 1;
}

static int l_listen(lua_State *L) {
  int kind = lus_kind(L, 2, "stream");
  luaL_argcheck(L, kind != UNIXSOCK_DGRAM, 2, "a dgram endpoint is made with bind()");
  return open_bound(L, "listen", kind, 1, 3);
}

/* bind(address, opts), or bind(address, "dgram", opts) as Python's bind takes a
 * kind: a kind given there was "table expected, got string". */
static int l_bind(lua_State *L) {
  if (lua_type(L, 2) != LUA_TSTRING)
    return open_bound(L, "bind", UNIXSOCK_DGRAM, 1, 2);
  if (lus_kind(L, 2, "dgram") != UNIXSOCK_DGRAM)
    return luaL_argerror(L, 2, lua_pushfstring(L, "bind() makes dgram endpoints; use listen() for %s",
                                               lua_tostring(L, 2)));
  return open_bound(L, "bind", UNIXSOCK_DGRAM, 1, 3);
}

static int l_connect(lua_State *L) {
  size_t alen;
  const char *addr = luaL_checklstring(L, 1, &alen);
  int kind = lus_kind(L, 2, "stream");
  int timeout = lus_timeout_ms(L, 3);
  lus_socket *s = lus_new(L);
  int r = unixsock_connect(addr, alen, kind, timeout, &s->h);
  if (r < 0)
    return lus_fail_at(L, r, "connect", kind, NULL, addr, alen);
  return 1;
}

static int l_pair(lua_State *L) {
  int kind = lus_kind(L, 1, "stream");
  lus_socket *a = lus_new(L);
  lus_socket *b = lus_new(L);
  int r = unixsock_pair(kind, &a->h, &b->h);
  if (r < 0)
    return lus_fail(L, r, "pair", NULL, 0);
  return 2;
}

static int l_adopt(lua_State *L) {
  const char *hint = lua_isinteger(L, 1) ? NULL : lus_adopt_hint(L, 1);
  if (hint != NULL) /* its number alone would have two owners, each to close it */
    return luaL_argerror(L, 1, lua_pushfstring(L, "a descriptor number, which the socket then owns: %s", hint));
  lua_Integer fd = luaL_checkinteger(L, 1);
  if (fd < INT_MIN || fd > INT_MAX) /* no descriptor's number: said without one */
    return lus_fail(L, -EBADF, "adopt", NULL, 0);
  lus_socket *s = lus_new(L);
  int r = unixsock_adopt((int)fd, &s->h);
  if (r < 0)
    return lus_fail_fd(L, r, "adopt", (int)fd);
  return 1;
}

/* The errno at arg 1, given as errno or -errno, as the core's -errno; one past
 * any errno when it does not fit an int (a cast would make another errno). */
static int errno_arg(lua_State *L) {
  lua_Integer e = luaL_checkinteger(L, 1);
  if (e < -INT_MAX || e > INT_MAX)
    return -INT_MAX;
  return e > 0 ? (int)-e : (int)e;
}

static int l_strerror(lua_State *L) {
  lua_pushstring(L, unixsock_strerror(errno_arg(L)));
  return 1;
}

static int l_errname(lua_State *L) {
  lua_pushstring(L, unixsock_errname(errno_arg(L)));
  return 1;
}

static const luaL_Reg functions[] = {
    {"listen", l_listen},
    {"bind", l_bind},
    {"connect", l_connect},
    {"pair", l_pair},
    {"adopt", l_adopt},
    {"strerror", l_strerror},
    {"errname", l_errname},
    {NULL, NULL},
};

/* errno values scripts compare against: unixsock.errno.EAGAIN ... */
static const struct {
  const char *name;
  int value;
} errnos[] = {
    {"EAGAIN", EAGAIN},         {"ETIMEDOUT", ETIMEDOUT},       {"ENOENT", ENOENT},
    {"EACCES", EACCES},         {"EPERM", EPERM},               {"EADDRINUSE", EADDRINUSE},
    {"EEXIST", EEXIST},         {"ECONNREFUSED", ECONNREFUSED}, {"EPROTOTYPE", EPROTOTYPE},
    {"ENAMETOOLONG", ENAMETOOLONG}, {"EINVAL", EINVAL},         {"EPIPE", EPIPE},
    {"EMSGSIZE", EMSGSIZE},     {"E2BIG", E2BIG},               {"EBADF", EBADF},
    {"ENOTSOCK", ENOTSOCK},     {"EAFNOSUPPORT", EAFNOSUPPORT}, {"ECONNRESET", ECONNRESET},
    {"EINTR", EINTR},           {"ENOTCONN", ENOTCONN},         {"EISCONN", EISCONN},
    {"ENOBUFS", ENOBUFS},       {"EBADMSG", EBADMSG},           {"EMFILE", EMFILE},
    {"ENOMEM", ENOMEM},         {"ENOTDIR", ENOTDIR},           {"ENOSYS", ENOSYS},
    {"EBUSY", EBUSY},
};

__attribute__((visibility("default"))) int luaopen_unixsock(lua_State *L) {
  lus_open_socket(L);
  lus_open_fd(L);
  lus_open_message(L);
  luaL_newlib(L, functions); /* M */
  lus_open_signals(L);
  lus_open_identity(L);
  lus_open_poller(L);
  lua_createtable(L, 0, (int)(sizeof(errnos) / sizeof(errnos[0]))); /* M, errno */
  for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
    lua_pushinteger(L, errnos[i].value);
    lua_setfield(L, -2, errnos[i].name);
  }
  lua_setfield(L, -2, "errno"); /* M */
  lua_pushfstring(L, "%d.%d.%d", UNIXSOCK_VERSION_MAJOR, UNIXSOCK_VERSION_MINOR,
                  UNIXSOCK_VERSION_PATCH);
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, UNIXSOCK_MAX_FDS);
  lua_setfield(L, -2, "MAX_FDS"); /* the most descriptors one message carries */
  return 1;
}
