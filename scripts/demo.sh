#!/usr/bin/env bash
# Builds unixsock and runs the demo: the seeds' echo server and clients.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec build/venv/bin/python examples/demo.py
