#!/usr/bin/env bash
# Set up a virtual environment in .venv and run the whole test suite.
#
# The suite runs twice: once on django.contrib.auth's User, which keeps its
# session version in jwtsafe's own table, and once on a custom user model
# with a UUID primary key and SessionVersionMixin. Arguments go to pytest.
#
# DATABASE_URL selects the database (SQLite in memory when unset) and
# REDIS_URL the Redis server (redis://127.0.0.1:6379/9 when unset).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

status=0
echo "== auth.User with jwtsafe's session version table"
.venv/bin/python -m pytest "$@" || status=$?
echo "== custom user model with a UUID primary key and SessionVersionMixin"
.venv/bin/python -m pytest --ds=tests.settings_custom_user \
  --ignore=tests/test_example_project.py --ignore=tests/test_browser.py \
  --ignore=tests/test_load.py "$@" || status=$?
exit "$status"
