#!/usr/bin/env bash
# The whole test suite: lint, Django checks, the browser modules' unit tests (node --test)
# and pytest (unit, sandbox, Redis-backed, Chromium).
# Installs what it needs first (Debian's redis-server, postgresql, chromium, nginx, and
# systemd for systemd-analyze; the virtualenv). The tests start their own redis-server,
# PostgreSQL clusters, sandboxes, nginx and daphne processes on free loopback ports and
# stop them afterwards (the multi-process tests and the fault suite run on PostgreSQL).
# Browser tests drive Debian's Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS=requirements-dev.txt bash scripts/bootstrap.sh redis-server postgresql chromium nginx systemd
# node runs the browser modules' unit tests; the machine image has it, Debian's nodejs otherwise
command -v node >/dev/null || bash scripts/bootstrap.sh nodejs
. .venv/bin/activate

echo "== ruff format --check"; ruff format --check .
echo "== ruff check"; ruff check .
echo "== django checks"
python manage.py check --fail-level WARNING
python manage.py makemigrations --check --dry-run >/dev/null
echo "== node --test (browser modules)"; node --test tests/js/
echo "== pytest"
exec pytest "$@"
