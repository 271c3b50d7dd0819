#!/usr/bin/env bash
# The main job: the built-in broker sandbox plus the streamdesk app on daphne, with
# embedded defaults (SQLite, in-memory channel layer, no credentials, no Redis).
# Creates a demo trader with a linked sandbox account; every value is SIMULATED.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
. .venv/bin/activate
# the packages are installed uncompiled (bootstrap.sh): Python caches what it compiles on
# first use, even where the machine says not to, so each start does not compile it again
unset PYTHONDONTWRITEBYTECODE
mkdir -p var

SANDBOX_PORT=${SANDBOX_PORT:-8765}
PORT=${PORT:-8000}
export BROKER_ENV=${BROKER_ENV:-sandbox}
# alerts' e-mail (docs/streaming-contract.md "Push and e-mail"): printed to this console
export EMAIL_BACKEND=${EMAIL_BACKEND:-django.core.mail.backends.console.EmailBackend}
export SANDBOX_URL=${SANDBOX_URL:-http://127.0.0.1:$SANDBOX_PORT}

# /metrics (docs/operations.md, "Metrics"): every daphne process of this run writes its
# metric files here; a fresh directory per run, so counters start from zero.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/metrics/run-$(date +%Y%m%d-%H%M%S)-$$}
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

python manage.py migrate --no-input -v 0
# static files as production serves them: hashed (cached for a year), gzip and brotli
export STREAMDESK_STATIC=${STREAMDESK_STATIC:-collected}
python manage.py collectstatic --no-input -v 0
python manage.py sandbox --port "$SANDBOX_PORT" --demo-orders 20 --demo-holdings >var/sandbox.log 2>&1 &
sandbox_pid=$!
trap 'kill $sandbox_pid 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 100); do
  python - "$SANDBOX_URL" <<'PY' && break
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/_sandbox/state", timeout=1)
except Exception:
    sys.exit(1)
PY
  sleep 0.1
done

python manage.py demo_setup --verify
cat <<EOT

  streamdesk: http://127.0.0.1:$PORT/      (admin: http://127.0.0.1:$PORT/admin/)
  broker:     built-in sandbox at $SANDBOX_URL — all data is SIMULATED (log: var/sandbox.log)
  stop:       Ctrl-C

EOT
# daphne on uvloop (config/serve.py; STREAM_UVLOOP=false for asyncio's own loop)
python -m config.serve -b 127.0.0.1 -p "$PORT" config.asgi:application
