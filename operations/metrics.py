"""`/metrics`' service side: who may scrape, and the exposition of every process's metrics.

The metric objects live in streaming/metrics.py (the streaming core records into them;
imports point down the flow). Here: prometheus-client's multiprocess mode when
`PROMETHEUS_MULTIPROC_DIR` is set — several independent daphne processes (not forked
from one parent) write their own files into that directory, and any one of them answers
`/metrics` with all of them added up (`MultiProcessCollector`) — else the ordinary
registry of this one process.

A process killed with kill -9 never says goodbye, so its `livesum` gauges (streams open,
link states) would count forever. At start, and before each scrape, the gauge files of
pids that are no longer alive are removed (`mark_process_dead`). Its counters and
histograms stay: counters must not go backwards when a process dies. A dead pid reused
by an unrelated process keeps its files until that process ends too (pids are per host,
so the directory must be per host: never shared over a network file system).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

log = logging.getLogger(__name__)

#: prometheus-client's file names for gauges whose dead processes must not count.
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")

#: The classic text format (what `generate_latest` writes; every Prometheus reads it).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def multiprocess_dir() -> Path | None:
    """The shared metrics directory, or None (single-process mode)."""
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def forget_dead_processes() -> list[int]:
    """Remove the live gauges of processes that died without cleaning up; their pids."""
    directory = multiprocess_dir()
    if directory is None or not directory.is_dir():
        return []
    dead = set()
    for entry in directory.iterdir():
        match = _LIVE_GAUGE_FILE.fullmatch(entry.name)
        if match and not pid_alive(int(match[1])):
            dead.add(int(match[1]))
    for pid in sorted(dead):
        multiprocess.mark_process_dead(pid, str(directory))
    if dead:
        log.info("metrics: removed the live gauges of dead processes %s", sorted(dead))
    return sorted(dead)


def exposition() -> bytes:
    """Every metric in the Prometheus text format (all processes' in multiprocess mode)."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY)
    forget_dead_processes()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an `Authorization: Bearer …` header (None without one)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def token_allowed(token: str | None) -> bool:
    """Constant-time comparison with METRICS_TOKEN; no token is configured: nobody."""
    expected = settings.METRICS_TOKEN
    if not expected or token is None:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())
