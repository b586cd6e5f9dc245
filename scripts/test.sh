#!/usr/bin/env bash
# Builds everything and runs every test suite: pytest drives the C tests, the
# Python suite, the Lua specs and the interop matrix, and prints one summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
export UNIXSOCK_BUILD_DIR="$PWD/build/cmake"
# a closed stdin (a CI runner's) would be the next file pytest opens, and the
# programs the tests start would inherit that as theirs
[ -e /proc/$$/fd/0 ] || exec </dev/null
exec build/venv/bin/python -m pytest -p no:cacheprovider tests "$@"
