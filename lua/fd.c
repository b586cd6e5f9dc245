/* Received descriptors as objects: they close when collected unless taken, and
 * can be read, written, or turned into a socket. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "common.h"

#define LUS_FD "unixsock.fd"

typedef struct {
  int fd;          /* -1 once closed or taken */
  const void *tag; /* &lus_fd_tag: lus_to_fd knows it without a registry lookup */
} lus_fd;
static const char lus_fd_tag = 0;

void lus_push_fd(lua_State *L, int fd) {
  lus_fd *f = lua_newuserdatauv(L, sizeof(*f), 0);
  f->fd = fd;
  f->tag = &lus_fd_tag;
  luaL_setmetatable(L, LUS_FD);
}

/* Argument idx as a unixsock.fd, or NULL.  A full userdata of our size whose tag
 * is ours can only be one of ours (Lua code cannot write into a userdata). */
static lus_fd *fd_test(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TUSERDATA || lua_rawlen(L, idx) != sizeof(lus_fd))
    return NULL;
  lus_fd *f = lua_touserdata(L, idx);
  return f->tag == &lus_fd_tag ? f : NULL;
}

bool lus_test_fd(lua_State *L, int idx, int *fd) {
  if (lua_isinteger(L, idx)) {
    lua_Integer v = lua_tointeger(L, idx);
    *fd = v < 0 || v > 0x7fffffff ? -1 : (int)v;
    return true;
  }
  lus_socket *s = lus_test(L, idx);
  if (s != NULL && s->h == NULL)
    luaL_error(L, "attempt to use a closed socket"); /* what its own methods say */
  if (s != NULL) {
    *fd = unixsock_fd(s->h);
    return true;
  }
  lus_fd *f = fd_test(L, idx);
  if (f != NULL) {
    *fd = f->fd;
    return true;
  }
  /* a file of Lua's io library (io.open, io.stdin), as Python takes any object
   * with fileno(): its descriptor, lent (the file keeps it) */
  luaL_Stream *st = luaL_testudata(L, idx, LUA_FILEHANDLE);
  if (st != NULL) {
    if (st->closef == NULL)
      luaL_error(L, "attempt to use a closed file"); /* what its own methods say */
    *fd = fileno(st->f);
    return true;
  }
  return false;
}

int lus_check_fd(lua_State *L, int arg) {
  int fd;
  if (!lus_test_fd(L, arg, &fd))
    luaL_typeerror(L, arg, "descriptor (integer, unixsock.fd, socket or file)");
  return fd;
}

static lus_fd *check_open(lua_State *L) {
  lus_fd *f = luaL_checkudata(L, 1, LUS_FD);
  if (f->fd < 0)
    luaL_error(L, "attempt to use a closed or taken descriptor");
  return f;
}

static int f_close(lua_State *L) {
  lus_fd *f = luaL_checkudata(L, 1, LUS_FD);
  if (f->fd >= 0) {
    close(f->fd);
    f->fd = -1;
  }
  return 0;
}

static int f_fileno(lua_State *L) {
  lua_pushinteger(L, check_open(L)->fd);
  return 1;
}

/* Hand the number over: the object no longer closes it. */
static int f_take(lua_State *L) {
  lus_fd *f = check_open(L);
  lua_pushinteger(L, f->fd);
  f->fd = -1;
  return 1;
}

static ssize_t read_into(void *arg, void *buf, size_t size) {
  ssize_t got;
  do {
    got = read(*(int *)arg, buf, size);
  } while (got < 0 && errno == EINTR);
  return got < 0 ? -errno : got;
}

static int f_read(lua_State *L) {
  lus_fd *f = check_open(L);
  lua_Integer n = luaL_optinteger(L, 2, 65536);
  luaL_argcheck(L, n >= 0, 2, "size must be >= 0");
  ssize_t got = lus_recv_string(L, lua_upvalueindex(1), (size_t)n, read_into, &f->fd);
  return got < 0 ? lus_fail(L, (int)got, "read", NULL, 0) : 1;
}

static int f_write(lua_State *L) {
  lus_fd *f = check_open(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  ssize_t n;
  do {
    n = write(f->fd, s, len);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return lus_fail(L, -errno, "write", NULL, 0);
  lua_pushinteger(L, n);
  return 1;
}

/* Turn a received AF_UNIX descriptor into a socket (the socket owns it now). */
static int f_socket(lua_State *L) {
  lus_fd *f = check_open(L);
  lus_socket *s = lus_new(L);
  int r = unixsock_adopt(f->fd, &s->h);
  if (r < 0)
    return lus_fail_adopt(L, r, "socket", f->fd); /* the call the script made */
  f->fd = -1;
  return 1;
}

static int f_tostring(lua_State *L) {
  lus_fd *f = luaL_checkudata(L, 1, LUS_FD);
  if (f->fd < 0)
    lua_pushliteral(L, "unixsock.fd (closed)");
  else
    lua_pushfstring(L, "unixsock.fd (%d)", f->fd);
  return 1;
}

static const luaL_Reg methods[] = {
    {"fileno", f_fileno}, {"take", f_take},     {"read", f_read}, {"write", f_write},
    {"socket", f_socket}, {"close", f_close},   {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__gc", f_close}, {"__close", f_close}, {"__tostring", f_tostring}, {NULL, NULL},
};

void lus_open_fd(lua_State *L) {
  lus_new_class(L, LUS_FD, metamethods, methods); /* upvalue 1: read's buffer */
}
