/* Scratch buffers: a function that needs a buffer on every call (recv, read,
 * send_batch, recv_batch, recv_message) keeps one in its upvalue 1 and reuses
 * it.  A new userdata per call would make the collector work through it each
 * time, and a luaL_Buffer of more than LUAL_BUFFERSIZE allocates a box, copies
 * into the string and frees the box (two thirds of a 4 KiB recv's
 * instructions).  An upvalue,
 * because a registry lookup costs as much as the rest of the call.
 *
 * A buffer is taken with an atomic flag, not just used: a host built with lua_lock
 * runs other threads' Lua while a C function blocks, and such a thread may call
 * the same function meanwhile.  It then gets a buffer of its own. */
#include <stdatomic.h>
#include <stddef.h>

#include "common.h"

enum {
  SCRATCH_MIN = 4096,   /* first size kept */
  SCRATCH_MAX = 1 << 20 /* larger requests are rare; they get their own buffer */
};

typedef struct {
  atomic_flag busy;
  void (*cleanup)(void *data); /* lus_scratch's, called as it is released */
  size_t cap;
  _Alignas(max_align_t) char data[]; /* send_batch keeps records in it */
} scratch;

static int release(lua_State *L) {
  scratch *b = lua_touserdata(L, 1);
  if (b->cleanup != NULL)
    b->cleanup(b->data);
  atomic_flag_clear(&b->busy);
  return 0;
}

/* The function's buffer, taken; or NULL when it is in use or size is too large. */
static scratch *take(lua_State *L, int upvalue, size_t size) {
  if (size > SCRATCH_MAX)
    return NULL;
  scratch *b = lua_touserdata(L, upvalue);
  if (b != NULL && b->cap >= size)
    return atomic_flag_test_and_set(&b->busy) ? NULL : b;
  if (b != NULL && atomic_flag_test_and_set(&b->busy))
    return NULL; /* too small, and another thread is using it */
  /* none yet, or too small: a larger one replaces it */
  size_t cap = SCRATCH_MIN;
  while (cap < size)
    cap *= 2;
  b = lua_newuserdatauv(L, sizeof(*b) + cap, 0);
  if (luaL_newmetatable(L, "unixsock.scratch")) {
    lua_pushcfunction(L, release);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  atomic_flag_clear(&b->busy);
  (void)atomic_flag_test_and_set(&b->busy);
  b->cap = cap;
  b->cleanup = NULL;
  lua_replace(L, upvalue);
  return b;
}

ssize_t lus_recv_string(lua_State *L, int upvalue, size_t size, lus_recv_fn fn, void *arg) {
  scratch *b = take(L, upvalue, size);
  if (b != NULL) {
    ssize_t n = fn(arg, b->data, size);
    /* Released only after the copy.  If the copy raises (out of memory) the
     * buffer stays taken, and later receives take the luaL_Buffer path. */
    if (n >= 0)
      lua_pushlstring(L, b->data, (size_t)n);
    atomic_flag_clear(&b->busy);
    return n;
  }
  luaL_Buffer lb;
  char *p = luaL_buffinitsize(L, &lb, size);
  ssize_t n = fn(arg, p, size);
  luaL_pushresultsize(&lb, n >= 0 ? (size_t)n : 0);
  if (n < 0)
    lua_pop(L, 1);
  return n;
}

void *lus_scratch(lua_State *L, int upvalue, size_t size, void (*cleanup)(void *)) {
  scratch *b = take(L, upvalue, size);
  if (b == NULL)
    return NULL;
  b->cleanup = cleanup;
  lua_pushvalue(L, upvalue);
  lua_toclose(L, -1); /* released however the function ends, raising included */
  return b->data;
}

void lus_new_class(lua_State *L, const char *tname, const luaL_Reg *metamethods,
                   const luaL_Reg *methods) {
  int n = 0;
  while (methods[n].name != NULL)
    n++;
  luaL_newmetatable(L, tname); /* mt */
  luaL_setfuncs(L, metamethods, 0);
  lua_createtable(L, 0, n); /* mt, methods */
  lua_pushnil(L);           /* upvalue 1: each method's buffer */
  luaL_setfuncs(L, methods, 1);
  lua_setfield(L, -2, "__index"); /* mt */
  lua_pop(L, 1);
}
