#!/usr/bin/env bash
# The whole test suite: lint, Django checks, the browser modules' unit tests (node --test)
# and pytest (unit, sandbox, Redis-backed, Chromium).
# Installs what it needs first (Debian's redis-server, postgresql, chromium and its
# headless shell, nginx, and systemd for systemd-analyze; the virtualenv). The tests start
# their own redis-server, PostgreSQL clusters, sandboxes, nginx and daphne processes on
# loopback and stop them afterwards, however a test ends (tests/support/reaper.py); this
# script fails if anything it started is still running at its end. Browser tests drive
# Debian's Chromium headless shell; the benches' smoke runs, the full Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS=requirements-dev.txt bash scripts/bootstrap.sh redis-server postgresql chromium chromium-headless-shell nginx systemd
# node runs the browser modules' unit tests; the machine image has it, Debian's nodejs otherwise
command -v node >/dev/null || bash scripts/bootstrap.sh nodejs
. .venv/bin/activate
# Python caches what it compiles (__pycache__/, ignored by git) even where the machine says
# not to (PYTHONDONTWRITEBYTECODE): a process importing Django and the app compiles the
# app's modules again without it (3.4 s of CPU against 1.1 s), and the run starts hundreds
unset PYTHONDONTWRITEBYTECODE

# Every process of this run carries the run's id in its environment; whatever ends the
# run, what is still running at the end is listed, stopped, and fails it.
STREAMDESK_TEST_RUN=${STREAMDESK_TEST_RUN:-$(python -c 'import uuid; print(uuid.uuid4().hex)')}
export STREAMDESK_TEST_RUN
leftovers() {
  local code=$?
  python -m tests.support.reaper --run "$STREAMDESK_TEST_RUN" || code=1
  exit "$code"
}
trap leftovers EXIT

echo "== ruff format --check"; ruff format --check .
echo "== ruff check"; ruff check .
checks() {
  echo "== mypy (pyproject.toml [tool.mypy]: every package)"; mypy
  echo "== django checks"
  python manage.py check --fail-level WARNING
  python manage.py makemigrations --check --dry-run >/dev/null
  echo "== node --test (browser modules)"; node --test tests/js/
}
if [ "$#" -gt 0 ]; then
  checks
  echo "== pytest $*"
  pytest "$@"
  exit
fi
# The checks and two pytest sessions side by side, so both cores stay busy; the reports of
# the background ones are printed when they end:
# - mypy, Django's checks and the browser modules' unit tests;
# - the in-process tests (the real SDKs against an in-process sandbox, units) mostly wait on
#   sockets: three workers, niced (5): they end minutes before the live-process phase, so
#   that phase gets the cores first and they take what it leaves. On a box at half speed
#   the cores are full until the end and a niced test takes many times its quiet time (the
#   CI of cf48058: a module's LiveApp set up in 113 s against 6 s alone, a CLI test 145 s
#   against 8 s): their hang guard (pytest-timeout, 120 s in pyproject.toml) is 360 s here;
# - the tests that run live processes (daphne, Redis, PostgreSQL, nginx, Chromium): four
#   files at a time (the cores are ~70 % busy with three once the in-process tests end;
#   docs/performance.md), each file in one worker (its module-scoped processes stay with
#   it), the longest first (tests/conftest.py).
# Liveness bounds come from the configured timeouts plus stated margins, so every test
# holds beside the others' processes.
IN_PROCESS=(tests/sandbox tests/streaming tests/accounts)
logs=$(mktemp -d)
# niced: no test waits on the checks, and the live-process phase is the run's longest
(set -e; renice -n 10 -p $BASHPID >/dev/null; checks) >"$logs/checks" 2>&1 &
checked=$!
echo "== pytest, in-process tests, 3 workers, in the background: ${IN_PROCESS[*]}"
(renice -n 5 -p $BASHPID >/dev/null; exec pytest -n 3 -p no:cacheprovider --timeout 360 --durations=10 "${IN_PROCESS[@]}") >"$logs/in-process" 2>&1 &
in_process=$!
echo "== pytest, live-process tests, four files at a time: the rest"
status=0
pytest -n 4 --dist loadfile --no-loadscope-reorder -p no:cacheprovider --durations=25 \
  "${IN_PROCESS[@]/#/--ignore=}" || status=$?
wait "$checked" || status=$?
cat "$logs/checks"
wait "$in_process" || status=$?
echo "== pytest, in-process tests (their report)"
cat "$logs/in-process"
rm -rf "$logs"
exit "$status"
