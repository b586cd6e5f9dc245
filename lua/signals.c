/* Opt-in signal handling for standalone Lua scripts (Lua has none of its own):
 * after unixsock.catch_signals("INT", "TERM"), such a signal ends any blocking
 * unixsock call with nil, "...Interrupted system call", EINTR, so the script can
 * leave its loop and close its sockets (removing their files).  Embedding hosts
 * that own their signals simply never call it. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>

#include "common.h"

static volatile sig_atomic_t caught;

static void on_signal(int sig) {
  caught = sig;
}

bool lus_signal_caught(void) {
  return caught != 0;
}

static int stop_if_caught(void *arg) {
  (void)arg;
  return lus_signal_caught();
}

static const struct {
  const char *name;
  int sig;
} names[] = {{"INT", SIGINT}, {"TERM", SIGTERM}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT},
             {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};

static int l_catch_signals(lua_State *L) {
  int n = lua_gettop(L);
  luaL_argcheck(L, n > 0, 1, "name at least one signal (\"INT\", \"TERM\", ...)");
  for (int i = 1; i <= n; i++) {
    const char *name = luaL_checkstring(L, i);
    size_t k = 0;
    while (k < sizeof(names) / sizeof(names[0]) && strcmp(names[k].name, name) != 0)
      k++;
    if (k == sizeof(names) / sizeof(names[0])) { /* say which can be caught */
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      lua_pushfstring(L, "unknown signal '%s': one of ", name);
      luaL_addvalue(&b);
      for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
        luaL_addstring(&b, j ? ", " : "");
        luaL_addstring(&b, names[j].name);
      }
      luaL_pushresult(&b);
      return luaL_argerror(L, i, lua_tostring(L, -1));
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: blocking calls see EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(names[k].sig, &sa, NULL) < 0)
      return luaL_error(L, "sigaction failed");
  }
  unixsock_set_interrupt_hook(stop_if_caught, NULL);
  return 0;
}

static int l_signaled(lua_State *L) {
  int sig = caught;
  for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
    if (names[k].sig == sig) {
      lua_pushstring(L, names[k].name);
      return 1;
    }
  lua_pushnil(L);
  return 1;
}

static const luaL_Reg functions[] = {
    {"catch_signals", l_catch_signals},
    {"signaled", l_signaled},
    {NULL, NULL},
};

void lus_open_signals(lua_State *L) {
  luaL_setfuncs(L, functions, 0);
}
