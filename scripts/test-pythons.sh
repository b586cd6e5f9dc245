#!/usr/bin/env bash
# Installs the package into a venv per CPython given (or found: python3.8 to
# python3.14 on PATH, and pyenv's) and runs the Python suite with each, one
# after another (pip builds in the tree, and writes its metadata there:
# python/unixsock.egg-info, which two at once would share).  CI runs the suite with Debian's python3 alone; this is for
# a machine that has the others.  Usage: scripts/test-pythons.sh [PYTHON...]
set -euo pipefail
cd "$(dirname "$0")/.."
pythons=("$@")
if [ ${#pythons[@]} -eq 0 ]; then
  for minor in 8 9 10 11 12 13 14; do
    for p in "$(command -v "python3.$minor" || true)" "$HOME"/.pyenv/versions/3."$minor".*/bin/python; do
      # (a pyenv shim is on PATH for versions it cannot run)
      if [ -x "$p" ] && "$p" -c pass 2>/dev/null; then
        pythons+=("$p")
        break
      fi
    done
  done
fi
[ ${#pythons[@]} -gt 0 ] || { echo "no CPython found" >&2; exit 1; }
mkdir -p build/pythons
status=0
for py in "${pythons[@]}"; do
  version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  venv="build/pythons/$version"
  echo "== Python $version ($py)"
  if ! { "$py" -m venv --clear "$venv" && "$venv/bin/pip" install -q . pytest; } >"$venv.log" 2>&1; then
    echo "install failed: $venv.log" >&2
    status=1
    continue
  fi
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python </dev/null | tail -n 1 || status=1
done
exit $status
