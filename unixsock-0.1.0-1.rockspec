-- luarocks make   (from a checkout) builds and installs the Lua module
package = "unixsock"
version = "0.1.0-1"
source = { url = "git+file://." }
description = {
  summary = "Unix domain sockets: stream, dgram, seqpacket, fd and credential passing",
  detailed = [[The unixsock C core with its hand-written Lua 5.4 binding: the same
behaviour as the C library and the Python package.]],
  license = "MIT",
}
dependencies = { "lua >= 5.4" }
supported_platforms = { "linux" }
build = {
  type = "builtin",
  modules = {
    unixsock = {
      sources = {
        "core/src/access.c", "core/src/activation.c", "core/src/address.c",
        "core/src/address_error.c", "core/src/batch.c", "core/src/call_error.c",
        "core/src/cmsg.c", "core/src/control.c", "core/src/denied.c", "core/src/error.c",
        "core/src/frame.c", "core/src/io.c", "core/src/limit_error.c", "core/src/message.c",
        "core/src/peer.c", "core/src/platform_linux.c", "core/src/poller.c",
        "core/src/sharing.c", "core/src/socket.c", "core/src/socketfile.c", "core/src/spill.c",
        "core/src/wait.c",
        "lua/fd.c", "lua/identity.c", "lua/message.c", "lua/module.c", "lua/poller.c",
        "lua/scratch.c", "lua/signals.c", "lua/socket.c",
      },
      incdirs = { "core/include", "core/src", "lua" },
      defines = { "_GNU_SOURCE" },
    },
  },
}
