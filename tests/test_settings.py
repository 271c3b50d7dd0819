"""Settings come from the environment with safe defaults, and the layer choice works."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from channels.layers import get_channel_layer
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent
#: A secret key as `secrets.token_urlsafe(50)` makes one (the tests' own, never deployed).
STRONG_KEY = "Zq3v8WkT1pL0sN6yRb2cXh5mJd9fGa4eUo7iKw-_EtQnPrVs3Yx8Lc1Bz6Hj0Mu2Dg"


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    """Import config.settings in a clean interpreter with exactly this environment."""
    script = (
        "import json, config.settings as s; "
        "print(json.dumps({'layer': s.CHANNEL_LAYERS['default']['BACKEND'], "
        "'debug': s.DEBUG, 'db': s.DATABASES['default']['ENGINE'], "
        "'age': s.DATABASES['default']['CONN_MAX_AGE']}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_"))}
    clean.pop("STREAMDESK_ENV", None)
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_are_sqlite_in_memory_layer_and_no_debug():
    """With nothing set: SQLite, the in-memory channel layer, DEBUG off."""
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "layer": "channels.layers.InMemoryChannelLayer",
        "debug": False,
        "db": "django.db.backends.sqlite3",
        "age": 0,
    }


def test_database_url_selects_postgres_without_persistent_connections():
    """DATABASE_URL picks the database; connections stay per request under ASGI."""
    result = load_settings(DATABASE_URL="postgresql://sd:pw@127.0.0.1:5432/streamdesk")
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert (settings["db"], settings["age"]) == ("django.db.backends.postgresql", 0)
    broken = load_settings(DATABASE_URL="nosuchdb://x/y")
    assert broken.returncode != 0
    assert "DATABASE_URL is not a database URL" in broken.stderr


def test_redis_url_switches_to_channels_redis_and_debug_is_opt_in():
    """REDIS_URL selects channels-redis; DJANGO_DEBUG=true turns DEBUG on."""
    result = load_settings(REDIS_URL="redis://127.0.0.1:1/0", DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    settings = json.loads(result.stdout)
    assert settings["layer"] == "streaming.cluster.redis.layer.RedisChannelLayer"
    assert settings["debug"] is True


def test_production_refuses_to_start_without_a_secret_key():
    """STREAMDESK_ENV=production with no DJANGO_SECRET_KEY is an ImproperlyConfigured error."""
    result = load_settings(STREAMDESK_ENV="production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required in production" in result.stderr
    no_keys = load_settings(STREAMDESK_ENV="production", DJANGO_SECRET_KEY=STRONG_KEY)
    assert "STREAMDESK_ENCRYPTION_KEYS is required in production" in no_keys.stderr
    ok = load_settings(
        STREAMDESK_ENV="production",
        DJANGO_SECRET_KEY=STRONG_KEY,
        STREAMDESK_ENCRYPTION_KEYS="6tY0m4hQx9K4s1m5dJc8WmC0yq2sWn8a1nXH9o2QpG4=",
    )
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize(
    "key",
    [
        "change-me",  # deploy/systemd/env.example's placeholder
        "changeme",
        "CHANGE_ME-" * 6,  # long, but a placeholder all the same
        "x" * 50,  # long enough, 1 distinct character (Django's W009 wants 5)
        "abcd" * 20,  # 4 distinct characters
        "django-insecure-" + STRONG_KEY,  # what startproject generates for development
        STRONG_KEY[:49],  # one character short of 50
    ],
)
def test_production_refuses_a_placeholder_or_weak_secret_key(key):
    """A key Django's security.W009 calls weak, or a known placeholder, stops production
    at start with one sentence saying how to make a real one; development is not judged."""
    result = load_settings(
        STREAMDESK_ENV="production",
        DJANGO_SECRET_KEY=key,
        STREAMDESK_ENCRYPTION_KEYS="6tY0m4hQx9K4s1m5dJc8WmC0yq2sWn8a1nXH9o2QpG4=",
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is a placeholder or too weak" in result.stderr, result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr
    assert key not in result.stderr  # a secret is never echoed
    assert load_settings(DJANGO_SECRET_KEY=key).returncode == 0


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("LOGIN_FAILURE_LIMIT", "0", "LOGIN_FAILURE_LIMIT must be a whole number from 1"),
        ("LOGIN_LOCKOUT_MINUTES", "a while", "LOGIN_LOCKOUT_MINUTES must be a whole number"),
        ("LOGIN_FAILURE_DELAY", "-1", "LOGIN_FAILURE_DELAY must be 0 (no wait) to 30 seconds"),
        ("DJANGO_CLIENT_ADDRESS_HEADER", "X-Real-IP", "e.g. HTTP_X_REAL_IP for X-Real-IP"),
    ],
)
def test_a_bad_login_throttle_setting_is_one_sentence(variable, value, said):
    """The throttle's settings (config/security.py) refuse a value they cannot use; a
    header named as a client sends it would never be found, and every client would share
    the proxy's address."""
    result = load_settings(**{variable: value})
    assert result.returncode != 0
    assert said in result.stderr, result.stderr


def test_production_never_falls_back_to_the_sandbox():
    """Production talks to the live API unless BROKER_ENV=sandbox is set explicitly."""
    base = {
        "STREAMDESK_ENV": "production",
        "DJANGO_SECRET_KEY": STRONG_KEY,
        "STREAMDESK_ENCRYPTION_KEYS": "6tY0m4hQx9K4s1m5dJc8WmC0yq2sWn8a1nXH9o2QpG4=",
    }
    script = "import config.settings as s; print(s.BROKER_ENV, repr(s.TASTYTRADE_BASE_URL))"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BROKER_"))}
    live = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={**clean, **base},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert live.stdout.split() == ["live", "''"], live.stderr
    loopback = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT,
        env={**clean, **base, "TASTYTRADE_BASE_URL": "http://127.0.0.1:8765"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "cannot point at a loopback" in loopback.stderr


@pytest.mark.redis
async def test_channels_redis_layer_round_trip(redis_server):
    """A group message crosses a real Redis server through channels-redis."""
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_server.url]},
        }
    }
    with override_settings(CHANNEL_LAYERS=layers):
        from channels.layers import channel_layers

        channel_layers.backends.clear()
        layer = get_channel_layer()
        try:
            channel = await layer.new_channel()
            await layer.group_add("user.1", channel)
            await layer.group_send("user.1", {"type": "balance.update", "seq": 1})
            assert await layer.receive(channel) == {"type": "balance.update", "seq": 1}
            await layer.group_discard("user.1", channel)
        finally:
            await layer.flush()
            await layer.close_pools()
            channel_layers.backends.clear()


#: A writer that reads first, then writes, in one transaction (what a service's atomic
#: block does): it waits until the other writer has read too, or 2 s, before it writes.
READ_THEN_WRITE = r"""
import os, sys, time
from pathlib import Path
import django
django.setup()
from django.contrib.auth import get_user_model
from django.db import transaction

me, other = Path(sys.argv[1]), Path(sys.argv[2])

def wait_for(path):
    deadline = time.monotonic() + 2
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)

Path(f"{me}.started").write_text("")
wait_for(Path(f"{other}.started"))
with transaction.atomic():
    get_user_model().objects.count()
    me.write_text("read")
    wait_for(other)
    get_user_model().objects.create_user(f"writer-{os.getpid()}")
print("written")
"""


def test_two_writer_processes_wait_for_each_other_on_the_embedded_sqlite(tmp_path):
    """Two processes each read, then write, in one transaction on the same SQLite file (the
    embedded default): both land. With SQLite's deferred transactions both would hold a
    read lock and the second to write would fail at once with "database is locked"
    instead of waiting; the default opens write transactions at BEGIN (IMMEDIATE), so the
    second waits, and the file is in WAL mode, so readers never wait for a writer."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", SQLITE_PATH=str(tmp_path / "db.sqlite3"))
    migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=120)
    signals = [str(tmp_path / "a"), str(tmp_path / "b")]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", READ_THEN_WRITE, *order],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for order in (signals, signals[::-1])
    ]
    outcomes = [writer.communicate(timeout=60) for writer in writers]
    for writer, (out, err) in zip(writers, outcomes, strict=True):
        assert (writer.returncode, out.strip()) == (0, "written"), err[-2000:]
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT COUNT(*) FROM auth_user").fetchone() == (2,)
