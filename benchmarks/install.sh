#!/usr/bin/env bash
# Install what the benchmark needs into .venv: jwtsafe from this checkout,
# the alternatives it compares, gunicorn and pyinstrument, and wrk for the
# HTTP mode (from Debian's packages, when run as root and wrk is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e . -r benchmarks/requirements.txt

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
  else
    echo "wrk is not installed; the --http mode needs it (apt-get install wrk)." >&2
  fi
fi
