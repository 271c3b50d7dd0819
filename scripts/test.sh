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
echo "== mypy (pyproject.toml [tool.mypy]: the contract, stream, cluster, tabs and brokers)"; mypy
echo "== django checks"
python manage.py check --fail-level WARNING
python manage.py makemigrations --check --dry-run >/dev/null
echo "== node --test (browser modules)"; node --test tests/js/
if [ "$#" -gt 0 ]; then
  echo "== pytest $*"
  exec pytest "$@"
fi
# In-process tests (the real SDKs against an in-process sandbox, units) mostly wait on
# sockets: four workers. Tests that run live processes (daphne, Redis, PostgreSQL,
# nginx, Chromium): two files at a time, each file in one worker (its module-scoped
# processes stay with it); their liveness bounds come from the configured timeouts plus
# stated margins, so they hold beside another file's processes.
IN_PROCESS=(tests/sandbox tests/streaming tests/accounts)
status=0
echo "== pytest, in-process tests, 4 workers: ${IN_PROCESS[*]}"
pytest -n 4 --durations=10 "${IN_PROCESS[@]}" || status=$?
echo "== pytest, live-process tests, two files at a time: the rest"
pytest -n 2 --dist loadfile --durations=25 "${IN_PROCESS[@]/#/--ignore=}" || status=$?
exit "$status"
