/* Peer identity and socket activation. */
#include <errno.h>
#include <string.h>

#include "common.h"

/* sock:peer([pidfd]) -> {pid=, uid=, gid=, label=, groups={...}, pidfd=fd object} */
static int l_peer(lua_State *L) {
  lus_socket *s = lus_check(L, 1);
  unixsock_peer_info p;
  int r = unixsock_peer(s->h, lua_toboolean(L, 2) ? UNIXSOCK_PEER_PIDFD : 0, &p);
  if (r < 0)
    return lus_fail_on(L, r, "peer", s->h);
  if (p.pidfd >= 0)
    lus_push_fd(L, p.pidfd); /* first: from here on it is closed when collected */
  lua_createtable(L, 0, 6); /* [pidfd], info */
  if (p.pidfd >= 0) {
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "pidfd");
  }
  lua_pushinteger(L, p.pid);
  lua_setfield(L, -2, "pid");
  lua_pushinteger(L, p.uid);
  lua_setfield(L, -2, "uid");
  lua_pushinteger(L, p.gid);
  lua_setfield(L, -2, "gid");
  if (p.label[0] != '\0') {
    lua_pushstring(L, p.label);
    lua_setfield(L, -2, "label");
  }
  lua_createtable(L, (int)p.ngroups, 0);
  for (size_t i = 0; i < p.ngroups; i++) {
    lua_pushinteger(L, p.groups[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_setfield(L, -2, "groups");
  return 1;
}

/* unixsock.listen_fds([unset]) -> { {fd=, name=, socket=, errno=}, ... } for every
 * fd passed: counted first (max 0 adopts nothing), then adopted into an array
 * that holds them all (a userdata, so a raised error frees it). */
static int l_listen_fds(lua_State *L) {
  int unset = lua_isnoneornil(L, 1) ? 1 : lua_toboolean(L, 1);
  int n = unixsock_listen_fds(0, NULL, 0);
  if (n < 0) {
    const char *why = unixsock_listen_fds_error(); /* before the variables go */
    (void)unixsock_listen_fds(unset, NULL, 0); /* unset as asked, even so */
    if (why != NULL)
      return lus_fail_why(L, n, why, "listen_fds", NULL, 0);
    return lus_fail(L, n, "listen_fds", NULL, 0);
  }
  unixsock_listen_fd *got = lua_newuserdatauv(L, (n > 0 ? (size_t)n : 1) * sizeof(*got), 0);
  int passed = unixsock_listen_fds(unset, got, (size_t)n);
  if (passed < 0)
    return lus_fail(L, passed, "listen_fds", NULL, 0);
  if (passed > n)
    passed = n; /* the environment changed in between: those past n are left alone */
  lua_createtable(L, passed, 0);
  for (int i = 0; i < passed; i++) {
    lua_createtable(L, 0, 4);
    if (got[i].sock != NULL) {
      lus_socket *s = lus_new(L);
      s->h = got[i].sock;
      lua_setfield(L, -2, "socket");
    }
    lua_pushinteger(L, got[i].fd);
    lua_setfield(L, -2, "fd");
    lua_pushstring(L, got[i].name);
    lua_setfield(L, -2, "name");
    lua_pushinteger(L, -got[i].error);
    lua_setfield(L, -2, "errno");
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

void lus_open_identity(lua_State *L) {
  luaL_getmetatable(L, LUS_SOCKET);
  lua_getfield(L, -1, "__index");
  lua_pushcfunction(L, l_peer);
  lua_setfield(L, -2, "peer");
  lua_pop(L, 2);
  lua_pushcfunction(L, l_listen_fds);
  lua_setfield(L, -2, "listen_fds");
}
