#!/usr/bin/env bash
# Set up .venv, migrate the example project's SQLite database, load the demo
# users and notes, and serve the example on http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[openapi]"
.venv/bin/python manage.py migrate --verbosity 0
.venv/bin/python manage.py load_demo
exec .venv/bin/python manage.py runserver 127.0.0.1:8000
