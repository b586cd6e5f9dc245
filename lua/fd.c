/* Received descriptors as objects: they close when collected unless taken, and
 * can be read, written, or turned into a socket. */
#define _POSIX_C_SOURCE 200809L /* fileno */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>
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

/* Can idx be asked for a method?  A table, or a userdata whose metatable has an
 * __index (indexing any other userdata raises). */
static bool indexable(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TTABLE)
    return true;
  if (lua_type(L, idx) != LUA_TUSERDATA || luaL_getmetafield(L, idx, "__index") == LUA_TNIL)
    return false;
  lua_pop(L, 1);
  return true;
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
  /* anything else with a getfd method: luasocket's sockets (a closed one says -1,
   * which the kernel then refuses, named), lent as a file is */
  idx = lua_absindex(L, idx);
  if (!indexable(L, idx))
    return false;
  if (lua_getfield(L, idx, "getfd") == LUA_TNIL) {
    lua_pop(L, 1);
    return false;
  }
  lua_pushvalue(L, idx);
  lua_call(L, 1, 1);
  int isnum;
  lua_Integer v = lua_tointegerx(L, -1, &isnum);
  lua_pop(L, 1);
  if (!isnum)
    return false;
  *fd = v < 0 || v > 0x7fffffff ? -1 : (int)v;
  return true;
}

const char *lus_adopt_hint(lua_State *L, int idx) {
  if (fd_test(L, idx) != NULL)
    return "a received unixsock.fd becomes a socket with f:socket()";
  idx = lua_absindex(L, idx);
  if (!indexable(L, idx))
    return NULL;
  bool gives_up = lua_getfield(L, idx, "setfd") == LUA_TFUNCTION; /* luasocket's */
  lua_pop(L, 1);
  return gives_up ? "from a luasocket socket s, adopt(s:getfd()), then s:setfd(-1) so that s does not "
                    "close it too"
                  : NULL;
}

int lus_check_fd(lua_State *L, int arg) {
  int fd;
  if (!lus_test_fd(L, arg, &fd))
    luaL_typeerror(L, arg, "descriptor (integer, unixsock.fd, socket, file or object with getfd)");
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

/* fileno by luasocket's name, for its socket.select; -1 once closed or taken, as
 * luasocket's closed sockets say (select then leaves it out). */
static int f_getfd(lua_State *L) {
  lus_fd *f = luaL_checkudata(L, 1, LUS_FD);
  lua_pushinteger(L, f->fd);
  return 1;
}

/* Hand the number over: the object no longer closes it. */
static int f_take(lua_State *L) {
  lus_fd *f = check_open(L);
  lua_pushinteger(L, f->fd);
  f->fd = -1;
  return 1;
}

/* Until fd is ready for events, within timeout_ms (-1: for ever, the plain
 * read's or write's own wait): 0, or -EAGAIN (timeout 0) or -ETIMEDOUT.  A
 * received pipe whose writer never writes would otherwise hold the script, and
 * its embedding host, for ever. */
static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static int wait_ready(int fd, short events, int timeout_ms) {
  if (timeout_ms < 0)
    return 0;
  long long deadline = now_ms() + timeout_ms;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = events, .revents = 0};
    long long left = deadline - now_ms();
    int r = poll(&p, 1, left > 0 ? (int)left : 0);
    if (r > 0)
      return 0; /* ready, or an error the read or write then says */
    if (r == 0)
      return timeout_ms == 0 ? -EAGAIN : -ETIMEDOUT;
    if (errno != EINTR)
      return -errno;
    if (lus_signal_caught()) /* catch_signals: as a socket's wait ends */
      return -EINTR;
  }
}

struct fd_wait {
  int fd, timeout_ms;
};

static ssize_t read_into(void *arg, void *buf, size_t size) {
  const struct fd_wait *w = arg;
  ssize_t got;
  for (;;) {
    int r = wait_ready(w->fd, POLLIN, w->timeout_ms);
    if (r < 0)
      return r;
    got = read(w->fd, buf, size);
    if (got >= 0 || errno != EINTR)
      break;
    if (lus_signal_caught())
      return -EINTR;
  }
  return got < 0 ? -errno : got;
}

/* fd:read([size [, timeout]]): timeout in seconds bounds the wait for data (nil:
 * the read's own, for ever on a pipe nobody writes to). */
static int f_read(lua_State *L) {
  lus_fd *f = check_open(L);
  lua_Integer n = luaL_optinteger(L, 2, 65536);
  luaL_argcheck(L, n >= 0, 2, "size must be >= 0");
  struct fd_wait w = {f->fd, lus_timeout_ms(L, 3)};
  ssize_t got = lus_recv_string(L, lua_upvalueindex(1), (size_t)n, read_into, &w);
  return got < 0 ? lus_fail(L, (int)got, "read", NULL, 0) : 1;
}

static int f_write(lua_State *L) {
  lus_fd *f = check_open(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  int timeout_ms = lus_timeout_ms(L, 3);
  ssize_t n;
  for (;;) {
    int r = wait_ready(f->fd, POLLOUT, timeout_ms);
    if (r < 0)
      return lus_fail(L, r, "write", NULL, 0);
    n = write(f->fd, s, len);
    if (n >= 0 || errno != EINTR)
      break;
    if (lus_signal_caught())
      return lus_fail(L, -EINTR, "write", NULL, 0);
  }
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
    return lus_fail_fd(L, r, "socket", f->fd); /* the call the script made */
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
    {"fileno", f_fileno}, {"getfd", f_getfd}, {"take", f_take},   {"read", f_read},
    {"write", f_write},   {"socket", f_socket}, {"close", f_close}, {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__gc", f_close}, {"__close", f_close}, {"__tostring", f_tostring}, {NULL, NULL},
};

void lus_open_fd(lua_State *L) {
  lus_new_class(L, LUS_FD, metamethods, methods); /* upvalue 1: read's buffer */
}
