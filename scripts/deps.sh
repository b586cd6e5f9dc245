#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, or, when not root,
# prints the exact apt-get line and fails.  Usage: scripts/deps.sh
set -euo pipefail

missing=()
need() { # need PACKAGE CHECK-COMMAND...
  local pkg=$1
  shift
  if ! "$@" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
}

need build-essential command -v cc
need build-essential command -v make
need cmake command -v cmake
need pkg-config command -v pkg-config
need python3 command -v python3
need python3-venv python3 -c 'import venv, ensurepip'
# the headers of the python3 that builds the extension (pip install . compiles it)
need python3-dev python3 -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'
need lua5.4 command -v lua5.4
need liblua5.4-dev test -f /usr/include/lua5.4/lua.h
need lua-busted test -f /usr/bin/busted
need lua-socket lua5.4 -e 'require "socket.unix"'
need socat command -v socat
need git command -v git
need systemd command -v systemd-socket-activate # a real service manager's socket activation
need golang-go command -v go          # Go's net package is a real peer in the interop tests
need nodejs command -v node           # and so is Node.js's net module
need strace command -v strace
need valgrind command -v valgrind  # memcheck of the C tests; instructions per round trip
need cppcheck command -v cppcheck  # static analysis of the C sources
need clang command -v clang        # libFuzzer targets
need libclang-rt-14-dev test -f /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a # and ThreadSanitizer

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
# one package may be named by several checks
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "unixsock needs these Debian packages; as root, run:" >&2
  echo "  $cmd" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
