"""Redis connections that read nothing from disk when they are made.

redis-py 8 names itself to the server on every new connection (CLIENT SETINFO) and, unless
it is told its version, looks it up with `importlib.metadata.version("redis")` for each
connection: stats and reads of the installed packages' metadata, in the thread that
makes the connection, which for the async clients is the event loop's. A daphne closing
400 tabs at once grew the channel layer's pool by ~670 connections in two seconds, and
its loop stopped for 48-426 ms at a time while the disk was busy (docs/performance.md,
"Redis connections without a disk read"); a readiness check made one per probe.

Every client this project makes takes `options(...)`: the same name and version, read
once from the imported package. This module imports no Django (the settings use it).
"""

from __future__ import annotations

from typing import Any

import redis
from redis.driver_info import DriverInfo

#: What CLIENT SETINFO tells the server, as redis-py would (`CLIENT LIST` shows it).
DRIVER = DriverInfo(name="redis-py", lib_version=redis.__version__)


def options(**kwargs: Any) -> dict[str, Any]:
    """A Redis client's or pool's keyword arguments, with the driver's name and version."""
    return {"driver_info": DRIVER, **kwargs}
