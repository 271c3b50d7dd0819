"""Opening a Redis connection reads nothing from disk in the thread that opens it.

redis-py 8 names itself to the server on every new connection (CLIENT SETINFO) and, unless
told its version, looks it up with `importlib.metadata.version("redis")` for each
connection it makes: stats and reads of the installed packages' metadata, on the event
loop for the async clients. A daphne closing 400 tabs at once grew the channel layer's
pool by ~670 connections in two seconds, and its loop stopped for 48-426 ms at a time
while the disk was busy (docs/performance.md, "Redis connections without a disk read").

Every Redis client this project makes (the channel layer, the cache, the leases and the
event log, the broker rate limits, the request limiters, the readiness and health checks)
is checked here, in a fresh process with `REDIS_URL` set, as the servers are configured; a
plain client is the control: its connection does look the version up, so the count can fail.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import asyncio, contextlib, importlib.metadata as metadata, json, sys
import django
django.setup()

lookups = []
_version = metadata.version
def counted(name):
    lookups.append(name)
    return _version(name)
metadata.version = counted

made = {}
def count(name, make):
    before = len(lookups)
    with contextlib.suppress(Exception):  # no server listens: the connection is made, not opened
        make()
    made[name] = len(lookups) - before

import redis
from django.conf import settings
from django.core.cache import caches
from channels.layers import get_channel_layer

count("control: a plain client", lambda: redis.Redis().connection_pool.make_connection())
count("channel layer", lambda: get_channel_layer().create_pool(0).make_connection())
count("cache", lambda: caches["default"]._cache._get_connection_pool(True).make_connection())

from accounts.ratelimit import limiter_client
from streaming.brokers import rate_limit

url = settings.REDIS_URL
count("request limiters", lambda: limiter_client(url).connection_pool.make_connection())

async def in_the_loop():
    from streaming.cluster.agents import agents
    from operations import readiness, stream_health
    count("broker rate limits", lambda: rate_limit._client().connection_pool.make_connection())
    count("leases and event log", lambda: agents.start().connection_pool.make_connection())
    for name, check in (("readiness", readiness.redis), ("stream health", stream_health._collect)):
        before = len(lookups)
        with contextlib.suppress(Exception):
            await check()
        made[name] = len(lookups) - before

asyncio.run(in_the_loop())
print(json.dumps(made))
"""


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_redis_connection_of_ours_looks_up_the_library_version():
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{closed_port()}/0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    made = json.loads(run.stdout.strip().splitlines()[-1])
    assert made.pop("control: a plain client") == 1  # the lookup this test counts
    assert made == {
        "channel layer": 0,
        "cache": 0,
        "request limiters": 0,
        "broker rate limits": 0,
        "leases and event log": 0,
        "readiness": 0,
        "stream health": 0,
    }
