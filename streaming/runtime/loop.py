"""The event loop the server processes run on: uvloop, unless `STREAM_UVLOOP` is off.

Every server process here is an event loop busy with many small callbacks: daphne (its
Twisted reactor runs on the asyncio loop), the stream workers and the broker sandbox.
uvloop runs the same asyncio API in C (libuv): the loop's own work per callback, its
timers and its asyncio sockets (Redis, the brokers' websockets) cost less. Measured on the
2-core machine at 500 sockets: daphne 9-18 % less CPU, ~32 KiB less RSS per connection
(docs/performance.md, "Why the hot path looks as it does"). Twisted's asyncio reactor
needs only the loop's reader/writer and timer API, which uvloop has.

Read before Django is set up (daphne builds its loop when it is imported), so it looks at
the environment itself, as settings.env_bool reads it.
"""

from __future__ import annotations

import asyncio
import os


def uvloop_wanted() -> bool:
    value = os.environ.get("STREAM_UVLOOP")
    return value is None or value.strip().lower() in {"1", "true", "yes", "on"}


def install() -> bool:
    """Make new event loops uvloop's (if wanted and installed); True if they are."""
    if not uvloop_wanted():
        return False
    try:
        import uvloop
    except ImportError:  # pragma: no cover - it is a pinned requirement
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True
