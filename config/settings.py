"""streamdesk settings, read from the environment (12-factor) with safe defaults.

Integrations switch on by the presence of their URL: `REDIS_URL` set means the
channels-redis layer; unset means the in-memory layer of a single process.
"""

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import PRODUCTION, env_bool, env_list
from config.env import STREAMDESK_ENV as STREAMDESK_ENV

# the secret key, HSTS, the login throttle: each setting named in its `__all__`
from config.security import *  # noqa: F403
from streaming.runtime import redis_driver

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
# Origins (streaming/tabs/origin.py; the same rule as Django's CSRF check): a WebSocket or
# SSE request is served to the site's own origin (scheme, a host in ALLOWED_HOSTS, port,
# as the browser reached it), so a local daphne/runserver on 127.0.0.1:8000 or
# localhost:8000 needs nothing here. Other origins that may connect, e.g.
# `https://desk.example.com,https://*.example.com`; none by default.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# Behind a proxy that terminates TLS (and always sets or strips the header), e.g.
# DJANGO_SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https: then the page was https
# although the proxy talks http/ws to daphne. Unset: the header is not trusted.
_PROXY_SSL_HEADER = env_list("DJANGO_SECURE_PROXY_SSL_HEADER", "")
if _PROXY_SSL_HEADER and len(_PROXY_SSL_HEADER) != 2:
    raise ImproperlyConfigured("DJANGO_SECURE_PROXY_SSL_HEADER must be '<META name>,<value>'")
SECURE_PROXY_SSL_HEADER = tuple(_PROXY_SSL_HEADER) if _PROXY_SSL_HEADER else None
# A proxy that rewrites Host and passes the browser's in X-Forwarded-Host.
USE_X_FORWARDED_HOST = env_bool("DJANGO_USE_X_FORWARDED_HOST", False)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_otp",  # the trading second factor (streaming/trading/second_factor.py)
    "django_otp.plugins.otp_totp",
    "axes",  # the login throttle (config/security.py, streaming/lockout/); before streaming
    "accounts",
    "streaming",
    "operations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "streaming.node.node_middleware",  # request.node: the process's parts (streaming/node.py)
    "streaming.api.middleware.ApiErrorsMiddleware",  # the API's methods; its 405s as JSON
    "operations.compression.CompressionMiddleware",  # pages and JSON gzipped (not streams)
    "operations.staticfiles.StaticFilesMiddleware",  # /static/: before sessions and the DB
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # API tokens (streaming/tabs/bearer.py): its process_view runs before CSRF's, so a token's
    # POST gets "read-only" (403 JSON), not the CSRF page; nothing without a Bearer header.
    "streaming.tabs.bearer.BearerTokenMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # the login throttle's answers: 429 for a lock, a growing wait after failures
    "streaming.lockout.middleware.LoginThrottleMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "config.asgi.application"

# DATABASE_URL (e.g. postgresql://user:pass@host:5432/streamdesk) selects the database;
# unset, an embedded SQLite file. Connections are never persistent: under ASGI a request
# and a background task may run on any thread of a pool, and a kept connection outlives a
# database restart as a dead one (field-pitfalls B9). Django opens one per request (or
# per database_sync_to_async call) and closes it after.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    try:
        _database = dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
    DATABASES = {"default": _database}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "var" / "db.sqlite3")),
            "CONN_MAX_AGE": 0,
            # Several processes and threads write this file (daphne, stream workers, the
            # news writer, manage.py). A deferred transaction that reads first and then
            # writes cannot wait for the write lock: SQLite answers "database is locked"
            # at once, whatever the timeout. IMMEDIATE takes the write lock at BEGIN, so a
            # second writer waits (up to `timeout` s); WAL lets readers go on meanwhile.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL",
            },
        }
    }

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    _layer_backend = os.environ.get(
        "CHANNEL_LAYER_BACKEND", "streaming.cluster.redis.layer.RedisChannelLayer"
    )
    # redis-py 8 reads with a 5 s socket timeout by default, and channels-redis
    # blocks in BZPOPMIN for 5 s: an idle socket's receive then races the timeout
    # and the consumer dies with TimeoutError. Give reads room above the block.
    # redis-py 8 also caps a pool at 100 connections, which many users' managers
    # publishing at once exceed ("Too many connections"): allow more.
    _layer_config: dict[str, Any] = {
        "hosts": [
            redis_driver.options(
                address=REDIS_URL,
                socket_timeout=30,
                max_connections=int(os.environ.get("REDIS_MAX_CONNECTIONS", "2000")),
            )
        ]
    }
    if _layer_backend.endswith(".RedisChannelLayer"):
        _layer_config.update(capacity=1000, group_expiry=86400)
    CHANNEL_LAYERS = {"default": {"BACKEND": _layer_backend, "CONFIG": _layer_config}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache (Django's cache framework): market data shared by every process, e.g. option
# chain structure (streaming/brokers/market_data_cache.py) and the broker pacing windows' fallback.
# Django's own Redis backend when REDIS_URL is set (no django-redis), else local memory
# (one process: nothing to share).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "sd",
            "OPTIONS": redis_driver.options(socket_timeout=5, socket_connect_timeout=2),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Personal API tokens (accounts/tokens.py, docs/operations.md "API tokens"): per token,
# stream opens (WebSocket and SSE) and snapshot requests per minute (shared through Redis
# when REDIS_URL is set), and how many active tokens a user may hold.
API_TOKEN_CONNECTS_PER_MINUTE = int(os.environ.get("API_TOKEN_CONNECTS_PER_MINUTE", "30"))
API_TOKEN_SNAPSHOTS_PER_MINUTE = int(os.environ.get("API_TOKEN_SNAPSHOTS_PER_MINUTE", "60"))
API_TOKEN_MAX_PER_USER = int(os.environ.get("API_TOKEN_MAX_PER_USER", "20"))

# /ready (operations/readiness.py): how long the database, Redis and channel-layer
# checks may take before the process reports itself not ready (seconds).
READY_TIMEOUT = float(os.environ.get("READY_TIMEOUT", "2"))
#: `Authorization: Bearer <METRICS_TOKEN>` may scrape /metrics (unset: staff sessions only).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# browser libraries from npm (package.json, `npm ci`): served as vendor/<package>/…
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "operations.vendor_static.NodeModulesFinder",
]
# Static files are served by WhiteNoise inside the app (operations/staticfiles.py), in
# front of sessions and the database. Production: `manage.py collectstatic` (run by
# scripts/run.sh and deploy/systemd/) puts hashed, gzip and brotli copies in STATIC_ROOT,
# with the ES modules' imports rewritten to the hashed names; hashed names are cached for a
# year, others 60 s. Development: the source tree as it is, re-read on every request.
# STREAMDESK_STATIC says which: "collected" (production's default, and scripts/run.sh's:
# the first load a trader pays is compressed and cached) or "source" (development's).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "var" / "staticfiles")
STATIC_MODE = os.environ.get("STREAMDESK_STATIC", "collected" if PRODUCTION else "source")
if STATIC_MODE not in ("collected", "source"):
    raise ImproperlyConfigured("STREAMDESK_STATIC must be 'collected' or 'source'")
COLLECTED_STATIC = STATIC_MODE == "collected"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "operations.staticfiles.HashedModuleStorage"
        if COLLECTED_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS = not COLLECTED_STATIC
WHITENOISE_MAX_AGE = 60 if COLLECTED_STATIC else 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id first (memory-hard; a login's check ~0.25 s on 2 cores, PBKDF2's 1,000,000
# rounds 0.4-1.6 s); hashes made by the others still verify and are upgraded at login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION

# Where the tastytrade SDK is pointed. "sandbox" is the built-in fake broker (every
# page and frame then says SIMULATED); "live" is the real API. Development defaults to
# the sandbox; production defaults to live and never falls back to the sandbox: it
# must be asked for explicitly, and then it is labelled just the same.
BROKER_ENV = os.environ.get("BROKER_ENV", "live" if PRODUCTION else "sandbox")
if BROKER_ENV not in {"sandbox", "live"}:
    raise ImproperlyConfigured("BROKER_ENV must be 'sandbox' or 'live'")
SANDBOX_URL = os.environ.get("SANDBOX_URL", "http://127.0.0.1:8765")
TASTYTRADE_BASE_URL = os.environ.get(
    "TASTYTRADE_BASE_URL", SANDBOX_URL if BROKER_ENV == "sandbox" else ""
)
# Tradier (REST + the HTTP market stream) and Alpaca (Broker API: REST + SSE trade events).
_SANDBOXED = BROKER_ENV == "sandbox"
TRADIER_API_URL = os.environ.get("TRADIER_API_URL") or (
    f"{SANDBOX_URL}/tradier" if _SANDBOXED else "https://api.tradier.com"
)
TRADIER_STREAM_URL = os.environ.get("TRADIER_STREAM_URL") or (
    f"{SANDBOX_URL}/tradier" if _SANDBOXED else "https://stream.tradier.com"
)
ALPACA_API_URL = os.environ.get("ALPACA_API_URL") or (
    f"{SANDBOX_URL}/alpaca" if _SANDBOXED else "https://broker-api.alpaca.markets"
)
# Alpaca's Trading API (a trader's own keys; a link's `alpaca_api` mode picks paper or
# live). The sandbox serves it under the same /alpaca mount as the Broker API.
ALPACA_TRADING_PAPER_URL = os.environ.get("ALPACA_TRADING_PAPER_URL") or (
    f"{SANDBOX_URL}/alpaca" if _SANDBOXED else "https://paper-api.alpaca.markets"
)
ALPACA_TRADING_LIVE_URL = os.environ.get("ALPACA_TRADING_LIVE_URL") or (
    f"{SANDBOX_URL}/alpaca" if _SANDBOXED else "https://api.alpaca.markets"
)
# Alpaca's market data news (REST history and the real-time news socket), with the
# user's Alpaca key; the sandbox serves both under /alpaca/data.
ALPACA_DATA_URL = os.environ.get("ALPACA_DATA_URL") or (
    f"{SANDBOX_URL}/alpaca/data" if _SANDBOXED else "https://data.alpaca.markets"
)
ALPACA_NEWS_STREAM_URL = os.environ.get("ALPACA_NEWS_STREAM_URL") or (
    f"{SANDBOX_URL.replace('http', 'ws', 1)}/alpaca/data/v1beta1/news"
    if _SANDBOXED
    else "wss://stream.data.alpaca.markets/v1beta1/news"
)
# Alpaca's real-time crypto market data: the coins of a user whose quote source has no
# crypto (docs/streaming-contract.md, "Coins"), with the Alpaca link's key.
ALPACA_CRYPTO_STREAM_URL = os.environ.get("ALPACA_CRYPTO_STREAM_URL") or (
    f"{SANDBOX_URL.replace('http', 'ws', 1)}/alpaca/data/v1beta3/crypto/us"
    if _SANDBOXED
    else "wss://stream.data.alpaca.markets/v1beta3/crypto/us"
)
if PRODUCTION and BROKER_ENV == "live":
    for _url in (
        ALPACA_DATA_URL,
        ALPACA_NEWS_STREAM_URL,
        ALPACA_CRYPTO_STREAM_URL,
        TASTYTRADE_BASE_URL,
        TRADIER_API_URL,
        TRADIER_STREAM_URL,
        ALPACA_API_URL,
        ALPACA_TRADING_PAPER_URL,
        ALPACA_TRADING_LIVE_URL,
    ):
        if _url.startswith(("http://127.", "http://localhost", "ws://127.", "ws://localhost")):
            raise ImproperlyConfigured("BROKER_ENV=live cannot point at a loopback (sandbox) URL")

# Live streaming: how often quote batches go out, how long a user's manager outlives
# their last socket, and the broker watchdog (seconds).
STREAM_FLUSH_INTERVAL = float(os.environ.get("STREAM_FLUSH_INTERVAL", "0.15"))
# The adaptive flush (docs/streaming-contract.md, "Under load"): a process whose event loop
# runs more than STREAM_LOOP_LAG_SATURATED late is saturated (every socket's quotes are
# paced); it is calm again after a whole interval under STREAM_LOOP_LAG_CALM (seconds).
STREAM_LOOP_LAG_SATURATED = float(os.environ.get("STREAM_LOOP_LAG_SATURATED", "0.05"))
STREAM_LOOP_LAG_CALM = float(os.environ.get("STREAM_LOOP_LAG_CALM", "0.015"))
if not 0 < STREAM_LOOP_LAG_CALM < STREAM_LOOP_LAG_SATURATED:
    raise ImproperlyConfigured(
        "STREAM_LOOP_LAG_CALM must be > 0 and below STREAM_LOOP_LAG_SATURATED"
    )
STREAM_IDLE_GRACE = float(os.environ.get("STREAM_IDLE_GRACE", "30"))
# Every user's stream is recorded by day (streaming/stream/recording.py, docs/streaming.md
# "Recording a day") under STREAM_RECORD_DIR (empty: not recorded), kept
# STREAM_RECORD_KEEP_DAYS days.
STREAM_RECORD_DIR = os.environ.get("STREAM_RECORD_DIR", str(BASE_DIR / "var" / "recordings"))
STREAM_RECORD_KEEP_DAYS = int(os.environ.get("STREAM_RECORD_KEEP_DAYS", "30"))
if STREAM_RECORD_KEEP_DAYS < 1:
    raise ImproperlyConfigured("STREAM_RECORD_KEEP_DAYS must be at least 1 (a day)")
#: How often a process looks for the users whose streams run with no page open (an armed
#: alert, a limit set; streaming/cluster/watch.py); 0: never. At most the idle grace, so a
#: stream a page leaves is held again before it would stop.
STREAM_WATCH_INTERVAL = float(os.environ.get("STREAM_WATCH_INTERVAL", "5"))
STREAM_WATCHDOG_TIMEOUT = float(os.environ.get("STREAM_WATCHDOG_TIMEOUT", "60"))
# A credential the broker rejects is tried again after the base wait, doubling up to the
# cap (seconds): a credential made valid again heals by itself within a wait.
STREAM_REJECTED_RETRY_BASE = float(os.environ.get("STREAM_REJECTED_RETRY_BASE", "15"))
STREAM_REJECTED_RETRY_CAP = float(os.environ.get("STREAM_REJECTED_RETRY_CAP", "300"))
if not 0 < STREAM_REJECTED_RETRY_BASE <= STREAM_REJECTED_RETRY_CAP:
    raise ImproperlyConfigured(
        "STREAM_REJECTED_RETRY_BASE must be > 0 and not above STREAM_REJECTED_RETRY_CAP"
    )
STREAM_RECONCILE_INTERVAL = float(os.environ.get("STREAM_RECONCILE_INTERVAL", "60"))
# Brokers without an account push (Tradier; Alpaca while its event stream is down) are
# polled: balances/positions and orders (seconds); option chains with greeks are cached.
STREAM_ACCOUNT_POLL_INTERVAL = float(os.environ.get("STREAM_ACCOUNT_POLL_INTERVAL", "15"))
STREAM_ORDER_POLL_INTERVAL = float(os.environ.get("STREAM_ORDER_POLL_INTERVAL", "2"))
STREAM_CHAIN_CACHE_TTL = float(os.environ.get("STREAM_CHAIN_CACHE_TTL", "300"))
# How long a chart's history request may take end to end (seconds: the broker, the owner,
# the layer; docs/streaming-contract.md "Candles").
STREAM_HISTORY_DEADLINE = float(os.environ.get("STREAM_HISTORY_DEADLINE", "8"))
# The quote source's health (seconds; docs/streaming.md, "What a trader sees when something
# fails"). Its market data is stale after a silence of 20 of its usual gaps between events,
# at most STREAM_QUOTE_STALE_AFTER and at least STREAM_QUOTE_STALE_FLOOR; down (stale or not
# live) for STREAM_FAILOVER_AFTER, or not come up STREAM_FIRST_CONNECT_GRACE after the link
# started, another healthy quote-capable link takes the symbols over; the preferred link
# takes them back once its standby probe delivered for STREAM_FAILBACK_AFTER, doubled for
# each failover in the last 10 minutes, up to STREAM_FAILBACK_CAP.
STREAM_QUOTE_STALE_AFTER = float(os.environ.get("STREAM_QUOTE_STALE_AFTER", "10"))
STREAM_QUOTE_STALE_FLOOR = float(os.environ.get("STREAM_QUOTE_STALE_FLOOR", "2"))
STREAM_FAILOVER_AFTER = float(os.environ.get("STREAM_FAILOVER_AFTER", "3"))
STREAM_FIRST_CONNECT_GRACE = float(os.environ.get("STREAM_FIRST_CONNECT_GRACE", "10"))
STREAM_FAILBACK_AFTER = float(os.environ.get("STREAM_FAILBACK_AFTER", "10"))
STREAM_FAILBACK_CAP = float(os.environ.get("STREAM_FAILBACK_CAP", "300"))
if not 0 < STREAM_QUOTE_STALE_FLOOR <= STREAM_QUOTE_STALE_AFTER:
    raise ImproperlyConfigured(
        "STREAM_QUOTE_STALE_FLOOR must be > 0 and not above STREAM_QUOTE_STALE_AFTER"
    )
if not 0 < STREAM_FAILBACK_AFTER <= STREAM_FAILBACK_CAP:
    raise ImproperlyConfigured(
        "STREAM_FAILBACK_AFTER must be > 0 and not above STREAM_FAILBACK_CAP"
    )
if STREAM_FAILOVER_AFTER <= 0 or STREAM_FIRST_CONNECT_GRACE <= 0:
    raise ImproperlyConfigured("STREAM_FAILOVER_AFTER and STREAM_FIRST_CONNECT_GRACE must be > 0")
# WebSocket frames compressed (permessage-deflate, RFC 7692) when the browser offers it,
# without context takeover so each frame is compressed once per process for every socket
# (streaming/tabs/socket.py; docs/streaming-contract.md "Connecting").
STREAM_WS_DEFLATE = env_bool("STREAM_WS_DEFLATE", True)
# How often the tastytrade account streamer is asked for a heartbeat; 2.5 missed = stale.
STREAM_ACCOUNT_HEARTBEAT = float(os.environ.get("STREAM_ACCOUNT_HEARTBEAT", "5"))
# Cluster: a user's manager runs in one process, the owner of a Redis lease (TTL, renewal
# interval, and the pause before a new owner connects so a previous one can let go), and
# account frames are kept per user for resuming sockets (entries).
STREAM_LEASE_TTL = float(os.environ.get("STREAM_LEASE_TTL", "4"))
STREAM_LEASE_RENEW = float(os.environ.get("STREAM_LEASE_RENEW", "1"))
STREAM_HANDOVER_DELAY = float(os.environ.get("STREAM_HANDOVER_DELAY", "1.5"))
STREAM_EVENT_LOG_SIZE = int(os.environ.get("STREAM_EVENT_LOG_SIZE", "2000"))
# Where users' stream managers (their broker sessions) run (docs/streaming.md, "Where
# managers run"): `web`, in the daphne processes holding the user's sockets; or
# `workers`, in `manage.py stream_workers` processes only (daphne then just relays).
STREAM_MANAGERS = os.environ.get("STREAM_MANAGERS", "web").strip().lower() or "web"
if STREAM_MANAGERS not in ("web", "workers"):
    raise ImproperlyConfigured("STREAM_MANAGERS must be 'web' or 'workers'")
if STREAM_MANAGERS == "workers" and not REDIS_URL:
    raise ImproperlyConfigured(
        "STREAM_MANAGERS=workers needs REDIS_URL: the web processes and the stream "
        "workers meet only through Redis (leases, the channel layer)"
    )
# The news SSE stream for scripts (/api/news/stream, docs/streaming-contract.md "News"):
# heartbeat, progress and periodic store check intervals, how old a stored revision must
# be before it is sent (a concurrent writer's smaller cursor commits first), the longest
# session, and per-user limits: opens per minute and streams open at once (seconds).
NEWS_STREAM_HEARTBEAT = float(os.environ.get("NEWS_STREAM_HEARTBEAT", "15"))
NEWS_STREAM_PROGRESS = float(os.environ.get("NEWS_STREAM_PROGRESS", "30"))
NEWS_STREAM_CHECK = float(os.environ.get("NEWS_STREAM_CHECK", "5"))
NEWS_STREAM_SETTLE = float(os.environ.get("NEWS_STREAM_SETTLE", "0.5"))
NEWS_STREAM_MAX_SECONDS = int(os.environ.get("NEWS_STREAM_MAX_SECONDS", "3600"))
NEWS_STREAM_CONNECTS_PER_MINUTE = int(os.environ.get("NEWS_STREAM_CONNECTS_PER_MINUTE", "20"))
NEWS_STREAMS_PER_USER = int(os.environ.get("NEWS_STREAMS_PER_USER", "3"))
#: Server processes freeze what survives each full garbage collection (streaming/runtime/heap.py:
#: ~40 ms pauses instead of ~250 ms at 200 sockets); off: CPython's collector as is.
STREAM_GC_FREEZE = env_bool("STREAM_GC_FREEZE", True)

# Fernet keys (comma-separated, newest first) that encrypt broker secrets at rest.
# Rotation: put a new key first, run `manage.py rotate_secrets`, then drop the old one.
ENCRYPTION_KEYS = env_list("STREAMDESK_ENCRYPTION_KEYS", "")
if PRODUCTION and not ENCRYPTION_KEYS:
    raise ImproperlyConfigured("STREAMDESK_ENCRYPTION_KEYS is required in production")
# Development only: where a generated local key is kept when none is configured.
DEV_ENCRYPTION_KEY_FILE = BASE_DIR / "var" / "dev-encryption.key"

# DEBUG makes the SDK log raw websocket messages, which include bearer access tokens.
TASTYTRADE_LOG_LEVEL = os.environ.get("TASTYTRADE_LOG_LEVEL", "WARNING")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # The SDK logs every websocket message at DEBUG; keep it quiet unless asked.
        "tastytrade": {"level": TASTYTRADE_LOG_LEVEL},
        "httpx2": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # django-axes: its lines repeat the throttle's own (streaming/lockout/receivers.py)
        "axes": {"level": "ERROR"},
    },
}

# --- risk: limits (docs/streaming-contract.md "Portfolio limits") ---
# The portfolio limits are evaluated at most this often (seconds) while quotes move.
RISK_LIMITS_INTERVAL = float(os.environ.get("RISK_LIMITS_INTERVAL", "0.5"))
# P&L over the day (docs/streaming-contract.md "P&L over the day"): the owner of a user's
# stream samples net liq and day P&L per account and in total every this many seconds,
# on a grid aligned to the epoch (streaming/risk/pnl/sampler.py).
PNL_SAMPLE_INTERVAL = float(os.environ.get("PNL_SAMPLE_INTERVAL", "60"))
# --- risk: the what-if curve (docs/streaming-contract.md, "Risk: the what-if curve") ---
# The continuous risk-free rate the option model prices with: no broker here streams one.
RISK_INTEREST_RATE = float(os.environ.get("RISK_INTEREST_RATE", "0.04"))
# --- risk: metrics (issue 32) ---
#: How often a user's stream fetches the market metrics of its position underlyings (s).
RISK_METRICS_REFRESH = float(os.environ.get("RISK_METRICS_REFRESH", "900"))
# --- trading (docs/streaming-contract.md "Trading") ---
# How long trading stays on after the second factor (seconds).
TRADING_GRANT_TTL = float(os.environ.get("TRADING_GRANT_TTL", "3600"))
# Trading requests (previews, confirms, cancels…) per user per minute.
TRADING_RATE_PER_MINUTE = int(os.environ.get("TRADING_RATE_PER_MINUTE", "60"))
# Order limits where neither the link (staff) nor the user set one.
TRADING_MAX_ORDER_NOTIONAL = float(os.environ.get("TRADING_MAX_ORDER_NOTIONAL", "100000"))
TRADING_MAX_ORDERS_PER_MINUTE = int(os.environ.get("TRADING_MAX_ORDERS_PER_MINUTE", "10"))
# A preview may be confirmed this long (seconds), while the quote stays within the band.
TRADING_PREVIEW_TTL = float(os.environ.get("TRADING_PREVIEW_TTL", "30"))
# The band: the mid may move this fraction of the preview's mid (at least one tick).
TRADING_QUOTE_BAND = float(os.environ.get("TRADING_QUOTE_BAND", "0.01"))
# A limit price this fraction away from the mid is a warning in the app's own checks.
TRADING_PRICE_WARN = float(os.environ.get("TRADING_PRICE_WARN", "0.10"))
# --- trading: access (the second factor) ---
# The issuer an authenticator app shows next to the user's name.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "streamdesk")
# --- trading: core ---
# A failed CSRF check on /api/ answers JSON `{"code": "csrf"}`; pages keep Django's page.
CSRF_FAILURE_VIEW = "streaming.trading.csrf.csrf_failure"
# Staff never see a trader's TOTP secret or its QR code in the admin (django-otp).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True


# Web Push and e-mail (docs/streaming-contract.md "Push and e-mail")
#: The VAPID private key (PEM); empty: one is made on first use and kept, encrypted.
PUSH_VAPID_PRIVATE_KEY = os.environ.get("PUSH_VAPID_PRIVATE_KEY", "").replace("\\n", "\n")
#: Who runs this server, told to push services in every VAPID signature (`sub`).
PUSH_CONTACT = os.environ.get("PUSH_CONTACT", "mailto:operator@streamdesk.invalid")
#: How long a push service keeps a push for a device that is offline (seconds).
PUSH_TTL = int(os.environ.get("PUSH_TTL", "21600"))
#: How long a sender holds a claimed delivery before another may take it (seconds).
PUSH_CLAIM = float(os.environ.get("PUSH_CLAIM", "30"))
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "streamdesk <streamdesk@localhost>")
#: The file e-mail backend's folder (`EMAIL_BACKEND=...filebased.EmailBackend`: tests).
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", "")
