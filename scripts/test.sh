#!/usr/bin/env bash
# The whole test suite: lint, Django checks, and pytest (unit, sandbox, Redis-backed).
# Installs what it needs first (Debian's redis-server and chromium, the virtualenv);
# the tests start their own redis-server, sandboxes and daphne processes on free
# loopback ports and stop them afterwards. Browser tests drive Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS=requirements-dev.txt bash scripts/bootstrap.sh redis-server chromium
. .venv/bin/activate

echo "== ruff format --check"; ruff format --check .
echo "== ruff check"; ruff check .
echo "== django checks"
python manage.py check --fail-level WARNING
python manage.py makemigrations --check --dry-run >/dev/null
echo "== pytest"
exec pytest "$@"
