#!/usr/bin/env bash
# The main job: the built-in broker sandbox plus the streamdesk app on daphne,
# with embedded defaults (SQLite, in-memory channel layer, no credentials).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
mkdir -p var

SANDBOX_PORT=${SANDBOX_PORT:-8765}
PORT=${PORT:-8000}
export TASTYTRADE_BASE_URL=${TASTYTRADE_BASE_URL:-http://127.0.0.1:$SANDBOX_PORT}

python manage.py migrate --no-input -v 0
python manage.py sandbox --port "$SANDBOX_PORT" &
sandbox_pid=$!
trap 'kill $sandbox_pid 2>/dev/null || true' EXIT INT TERM

echo "streamdesk on http://127.0.0.1:$PORT/  (sandbox broker: $TASTYTRADE_BASE_URL, SIMULATED DATA)"
daphne -b 127.0.0.1 -p "$PORT" config.asgi:application
