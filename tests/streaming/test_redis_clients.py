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
import subprocess
import sys
from pathlib import Path

from tests.support.processes import unused_port

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import asyncio, contextlib, importlib.metadata as metadata, inspect, json, sys
import django
django.setup()

lookups = []
_version = metadata.version
def counted(name):
    lookups.append(name)
    return _version(name)
metadata.version = counted

made = {}
async def count(name, make):
    before = len(lookups)
    with contextlib.suppress(Exception):  # no server listens: the connection is made, not opened
        made_now = make()
        if inspect.isawaitable(made_now):  # a check that makes its own client
            await made_now
    made[name] = len(lookups) - before

import redis
from django.conf import settings
from django.core.cache import caches
from channels.layers import get_channel_layer

from streaming.runtime.ratelimit import limiter_client
from operations import readiness, stream_health
from streaming.node import current

def connect(client):
    return client.connection_pool.make_connection()

async def every_client():
    url = settings.REDIS_URL
    await count("control: a plain client", lambda: connect(redis.Redis()))
    await count("channel layer", lambda: get_channel_layer().create_pool(0).make_connection())
    cache = caches["default"]._cache
    await count("cache", lambda: cache._get_connection_pool(True).make_connection())
    await count("request limiters", lambda: connect(limiter_client(url)))
    await count("broker rate limits", lambda: connect(current().pacing.client()))
    agents = current().agents
    await count("leases and event log", lambda: connect(agents.start()))
    await count("readiness", readiness.redis)
    await count("stream health", lambda: stream_health._collect(agents))

asyncio.run(every_client())
print(json.dumps(made))
"""


def test_no_redis_connection_of_ours_looks_up_the_library_version():
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{unused_port()}/0",
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
