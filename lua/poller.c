/* unixsock.poller(): readiness over sockets and raw fds for hosts without a loop.
 * poller:add(x, "r"|"w"|"rw" [, value]) x = socket, fd object or integer
 * poller:remove(x); poller:wait([timeout]) -> { {fd=, value=, readable=, writable=,
 * hangup=, error=}, ... } ({} on timeout) */
#include <string.h>

#include "common.h"

#define LUS_POLLER "unixsock.poller"

typedef struct {
  unixsock_poller *p;
} lus_poller;

static lus_poller *check_poller(lua_State *L) {
  lus_poller *p = luaL_checkudata(L, 1, LUS_POLLER);
  if (p->p == NULL)
    luaL_error(L, "attempt to use a closed poller");
  return p;
}

static unsigned int parse_events(lua_State *L, int idx) {
  const char *e = luaL_optstring(L, idx, "r");
  unsigned int ev = 0;
  for (; *e; e++) {
    if (*e == 'r')
      ev |= UNIXSOCK_READABLE;
    else if (*e == 'w')
      ev |= UNIXSOCK_WRITABLE;
    else
      luaL_argerror(L, idx, "events are \"r\", \"w\" or \"rw\"");
  }
  return ev;
}

static int p_add(lua_State *L) {
  lus_poller *p = check_poller(L);
  int fd = lus_check_fd(L, 2);
  unsigned int ev = parse_events(L, 3);
  int value_at = lua_isnoneornil(L, 4) ? 2 : 4; /* asked before a push makes slot 4 */
  int r = unixsock_poller_set(p->p, fd, ev, NULL);
  if (r < 0)
    return lus_fail_fd(L, r, "poller:add", fd);
  lua_getiuservalue(L, 1, 1); /* values: fd -> value (or the object itself) */
  lua_pushvalue(L, value_at);
  lua_rawseti(L, -2, fd);
  lua_pushboolean(L, 1);
  return 1;
}

static int p_remove(lua_State *L) {
  lus_poller *p = check_poller(L);
  int fd = lus_check_fd(L, 2);
  int r = unixsock_poller_remove(p->p, fd);
  lua_getiuservalue(L, 1, 1);
  lua_pushnil(L);
  lua_rawseti(L, -2, fd);
  if (r < 0)
    return lus_fail_fd(L, r, "poller:remove", fd);
  lua_pushboolean(L, 1);
  return 1;
}

static int p_wait(lua_State *L) {
  lus_poller *p = check_poller(L);
  int timeout = lus_timeout_ms(L, 2);
  unixsock_event ev[64];
  int n = unixsock_poller_wait(p->p, ev, 64, timeout);
  if (n < 0)
    return lus_fail(L, n, "poller:wait", NULL, 0);
  lua_getiuservalue(L, 1, 1); /* values */
  lua_createtable(L, n, 0);   /* values, result */
  for (int i = 0; i < n; i++) {
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, ev[i].fd);
    lua_setfield(L, -2, "fd");
    lua_rawgeti(L, -3, ev[i].fd);
    lua_setfield(L, -2, "value");
    lua_pushboolean(L, ev[i].events & UNIXSOCK_READABLE);
    lua_setfield(L, -2, "readable");
    lua_pushboolean(L, ev[i].events & UNIXSOCK_WRITABLE);
    lua_setfield(L, -2, "writable");
    lua_pushboolean(L, ev[i].events & UNIXSOCK_HANGUP);
    lua_setfield(L, -2, "hangup");
    lua_pushboolean(L, ev[i].events & UNIXSOCK_ERROR);
    lua_setfield(L, -2, "error");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int p_fileno(lua_State *L) {
  lua_pushinteger(L, unixsock_poller_fd(check_poller(L)->p));
  return 1;
}

static int p_close(lua_State *L) {
  lus_poller *p = luaL_checkudata(L, 1, LUS_POLLER);
  if (p->p != NULL) {
    unixsock_poller_free(p->p);
    p->p = NULL;
  }
  return 0;
}

static int l_poller(lua_State *L) {
  lus_poller *p = lua_newuserdatauv(L, sizeof(*p), 1);
  p->p = NULL;
  luaL_setmetatable(L, LUS_POLLER);
  lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  int r = unixsock_poller_new(&p->p);
  if (r < 0)
    return lus_fail(L, r, "poller", NULL, 0);
  return 1;
}

static int p_tostring(lua_State *L) {
  lus_poller *p = luaL_checkudata(L, 1, LUS_POLLER);
  if (p->p == NULL)
    lua_pushliteral(L, "unixsock.poller (closed)");
  else
    lua_pushfstring(L, "unixsock.poller (fd %d)", unixsock_poller_fd(p->p));
  return 1;
}

static const luaL_Reg methods[] = {
    {"add", p_add}, {"remove", p_remove}, {"wait", p_wait},
    {"fileno", p_fileno}, {"close", p_close}, {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__gc", p_close}, {"__close", p_close}, {"__tostring", p_tostring}, {NULL, NULL},
};

void lus_open_poller(lua_State *L) {
  lus_new_class(L, LUS_POLLER, metamethods, methods); /* M */
  lua_pushcfunction(L, l_poller);
  lua_setfield(L, -2, "poller");
}
