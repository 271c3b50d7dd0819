"""A broker's market-data fetch paced under its per-minute limit, and its failure said as
the chain API's answer.

Each fetch takes a slot of its broker's pacing window (rate_limit.py) first; what fails
becomes `market_data_cache.FetchFailed` with the code and status the chain API answers
with (docs/streaming-contract.md "Option chains").
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

from streaming.brokers.errors import CredentialRejected, describe, http_status, retry_after
from streaming.brokers.market_data_cache import FetchFailed
from streaming.brokers.rate_limit import BrokerPacing, PacingTimeout

#: How long a fetch waits for a pacing slot before answering "rate-limited".
PACING_WAIT = 8.0

Fetch = Callable[[], Awaitable[Any]]


def secret_tag(secret: str) -> str:
    """A short, non-reversible name for a credential (pacing buckets are per credential)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def as_failure(exc: BaseException, what: str) -> FetchFailed:
    """A broker failure as the chain API's error: 429 → rate_limited (with Retry-After),
    404 → no_options, anything else → broker_error with the broker's reason."""
    if isinstance(exc, FetchFailed):
        return exc
    if isinstance(exc, PacingTimeout):
        return FetchFailed("rate_limited", "rate-limited", 429, round(exc.retry_in, 1))
    status = http_status(exc)
    if status == 429:
        wait = retry_after(exc) or 5.0
        return FetchFailed("rate_limited", "rate-limited", 429, round(wait, 1))
    if status == 404:
        return FetchFailed("no_options", f"the broker lists no options for {what}", 404)
    if isinstance(exc, CredentialRejected):
        return FetchFailed("broker_error", f"the broker refused the link: {exc}", 502)
    if isinstance(exc, TimeoutError):
        return FetchFailed("broker_error", "the broker did not answer in time", 502)
    return FetchFailed("broker_error", describe(exc), 502)


async def paced(pacing: BrokerPacing, bucket: str, per_minute: int, fetch: Fetch, what: str) -> Any:
    """`fetch()` once a slot of `bucket` is free in the process's `pacing` (at most
    `PACING_WAIT` away); what fails is raised as the chain API's `FetchFailed`
    (`as_failure`)."""
    try:
        await pacing.acquire(bucket, per_minute, deadline=time.monotonic() + PACING_WAIT)
        return await fetch()
    except Exception as exc:
        raise as_failure(exc, what) from exc
