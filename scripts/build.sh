#!/usr/bin/env bash
# Builds the C core, tools, Lua module and tests (build/cmake) and installs the
# Python package into a venv (build/venv).  Used by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/cmake -j"$(nproc)" >/dev/null
if [ ! -x build/venv/bin/python ]; then
  python3 -m venv build/venv
fi
build/venv/bin/python -m pip install -q --disable-pip-version-check '.[test]'
