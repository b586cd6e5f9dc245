/* An embedding host: a C program that owns the main loop, embeds Lua 5.4,
 * registers unixsock with luaL_requiref, and runs a Lua server script that never
 * blocks it.  Each turn the host asks the script which fds it wants watched
 * (script.fds()), polls them itself, and calls script.on_ready(fd) for each one
 * that is ready.  It stops when script.done() is true.
 *
 *   lua_host SCRIPT [ARG...]     (the script sees its arguments in `arg`) */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_unixsock(lua_State *L);

static int call(lua_State *L, const char *fn, int nargs, int nres) {
  /* stack: script table, args...  */
  lua_getfield(L, 1, fn);
  lua_insert(L, -(nargs + 1));
  if (lua_pcall(L, nargs, nres, 0) != LUA_OK) {
    fprintf(stderr, "lua_host: %s: %s\n", fn, lua_tostring(L, -1));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: lua_host SCRIPT [ARG...]\n");
    return 2;
  }
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "unixsock", luaopen_unixsock, 1); /* as `require "unixsock"` */
  lua_pop(L, 1);
  lua_createtable(L, argc - 2, 0);
  for (int i = 2; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setglobal(L, "arg");
  if (luaL_loadfile(L, argv[1]) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    fprintf(stderr, "lua_host: %s\n", lua_tostring(L, -1));
    return 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE); /* the script returns its handlers */
  int status = 0;
  for (;;) {
    if (call(L, "done", 0, 1) < 0) {
      status = 1;
      break;
    }
    int done = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (done)
      break;
    if (call(L, "fds", 0, 1) < 0) {
      status = 1;
      break;
    }
    struct pollfd pfds[256];
    int n = 0;
    lua_Integer len = luaL_len(L, -1);
    for (lua_Integer i = 1; i <= len && n < 256; i++, n++) {
      lua_geti(L, -1, i);
      pfds[n].fd = (int)lua_tointeger(L, -1);
      pfds[n].events = POLLIN;
      pfds[n].revents = 0;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    /* the host's own loop: here it would also serve its other work */
    int r = poll(pfds, (nfds_t)n, 100);
    if (r < 0)
      continue;
    for (int i = 0; i < n; i++) {
      if (!pfds[i].revents)
        continue;
      lua_pushinteger(L, pfds[i].fd);
      if (call(L, "on_ready", 1, 0) < 0) {
        status = 1;
        break;
      }
    }
    if (status)
      break;
  }
  lua_close(L); /* collects the script's sockets: listeners remove their files */
  return status;
}
