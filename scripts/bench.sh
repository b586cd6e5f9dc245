#!/usr/bin/env bash
# Builds everything and runs the benchmarks (bench/run.py); arguments pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
export UNIXSOCK_BUILD_DIR="$PWD/build/cmake"
exec build/venv/bin/python bench/run.py "$@"
