/* An embedding host: a C program that owns the main loop, embeds Lua 5.4,
 * registers unixsock with luaL_requiref, and runs a Lua server script that never
 * blocks it.  Each turn the host asks the script which fds it wants watched
 * (script.fds()), polls them itself, and calls script.on_ready(fd) for each one
 * that is ready.  It stops when script.done() is true.
 *
 *   lua_host SCRIPT [ARG...]     (the script sees its arguments in `arg`)
 *
 * Whatever the script does wrong is said and ends the host with status 1: every
 * call into Lua is protected, since an unprotected error would abort the host. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int luaopen_unixsock(lua_State *L);

static const char *const handlers[] = {"done", "fds", "on_ready"};

/* The fds to watch this turn; grows as the script's list does. */
struct watch {
  struct pollfd *pfds;
  size_t n, cap;
};

/* Calls script[fn] (the script table is at index 1) with the nargs values on
 * top of the stack; nres results are left there.  Errors are said, naming fn. */
static int call(lua_State *L, const char *fn, int nargs, int nres) {
  lua_pushstring(L, fn);
  lua_rawget(L, 1); /* raw: a metatable's __index would run unprotected */
  lua_insert(L, -(nargs + 1));
  if (lua_pcall(L, nargs, nres, 0) != LUA_OK) {
    fprintf(stderr, "lua_host: %s: %s\n", fn, lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
  }
  return 0;
}

/* Run protected (the list's own __len or __index may raise): reads the list
 * at index 1 into the struct watch passed as light userdata at index 2. */
static int read_fds(lua_State *L) {
  struct watch *w = lua_touserdata(L, 2);
  if (!lua_istable(L, 1))
    return luaL_error(L, "list of descriptors expected, got %s", luaL_typename(L, 1));
  lua_Integer len = luaL_len(L, 1);
  w->n = 0;
  for (lua_Integer i = 1; i <= len; i++) {
    lua_geti(L, 1, i);
    int isint;
    lua_Integer fd = lua_tointegerx(L, -1, &isint);
    /* a string or a float read as 0 would watch stdin instead */
    if (!isint || lua_type(L, -1) != LUA_TNUMBER || fd < 0 || fd > 0x7fffffff)
      return luaL_error(L, "descriptor expected at [%d], got %s", (int)i,
                        lua_type(L, -1) == LUA_TNUMBER ? lua_tostring(L, -1) : luaL_typename(L, -1));
    lua_pop(L, 1);
    if (w->n == w->cap) { /* no limit on how many: none is left unwatched */
      size_t cap = w->cap ? 2 * w->cap : 64;
      struct pollfd *p = realloc(w->pfds, cap * sizeof(*p));
      if (p == NULL)
        return luaL_error(L, "not enough memory for %d descriptors", (int)len);
      w->pfds = p;
      w->cap = cap;
    }
    w->pfds[w->n++] = (struct pollfd){.fd = (int)fd, .events = POLLIN};
  }
  return 0;
}

/* script.fds() into w; -1 (said) when the script fails or lists nonsense. */
static int watched_fds(lua_State *L, struct watch *w) {
  if (call(L, "fds", 0, 1) < 0)
    return -1;
  lua_pushcfunction(L, read_fds);
  lua_insert(L, -2);
  lua_pushlightuserdata(L, w);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    fprintf(stderr, "lua_host: fds: %s\n", lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
  }
  return 0;
}

/* Loads the script, which must return a table holding each handler. */
static int load_script(lua_State *L, const char *path) {
  if (luaL_loadfile(L, path) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    fprintf(stderr, "lua_host: %s\n", lua_tostring(L, -1));
    return -1;
  }
  if (!lua_istable(L, -1)) {
    fprintf(stderr, "lua_host: %s returned %s, not a table of handlers (done, fds, on_ready)\n",
            path, luaL_typename(L, -1));
    return -1;
  }
  for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
    /* lua_getfield would run a metatable's __index unprotected */
    lua_pushstring(L, handlers[i]);
    int type = lua_rawget(L, -2);
    lua_pop(L, 1);
    if (type != LUA_TFUNCTION) {
      fprintf(stderr, "lua_host: %s: the table it returned has no function %s\n", path,
              handlers[i]);
      return -1;
    }
  }
  return 0;
}

/* One turn: poll what the script watches, hand it each ready fd.  Returns 1
 * when the script is done, 0 to go on, -1 on failure (said). */
static int turn(lua_State *L, struct watch *w) {
  if (call(L, "done", 0, 1) < 0)
    return -1;
  int done = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (done)
    return 1;
  if (watched_fds(L, w) < 0)
    return -1;
  /* the host's own loop: here it would also serve its other work */
  if (poll(w->pfds, (nfds_t)w->n, 100) < 0) {
    if (errno == EINTR)
      return 0;
    fprintf(stderr, "lua_host: poll: %s\n", strerror(errno));
    return -1;
  }
  for (size_t i = 0; i < w->n; i++) {
    if (w->pfds[i].revents & POLLNVAL) { /* closed, yet listed: it would spin */
      fprintf(stderr, "lua_host: fds: %d is not an open descriptor\n", w->pfds[i].fd);
      return -1;
    }
    if (!w->pfds[i].revents)
      continue;
    lua_pushinteger(L, w->pfds[i].fd);
    if (call(L, "on_ready", 1, 0) < 0)
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
  if (L == NULL) {
    fprintf(stderr, "lua_host: not enough memory for Lua\n");
    return 1;
  }
  luaL_openlibs(L);
  luaL_requiref(L, "unixsock", luaopen_unixsock, 1); /* as `require "unixsock"` */
  lua_pop(L, 1);
  lua_createtable(L, argc - 2, 0);
  for (int i = 2; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setglobal(L, "arg");
  struct watch w = {NULL, 0, 0};
  int r = load_script(L, argv[1]); /* the script table is index 1 from here */
  while (r == 0)
    r = turn(L, &w);
  free(w.pfds);
  lua_close(L); /* collects the script's sockets: listeners remove their files */
  return r < 0 ? 1 : 0;
}
