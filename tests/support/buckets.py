"""Candle buckets and the clock: a cached answer lasts until the forming candle closes, so
a test that expects a cache hit first waits for room in the current bucket (a bucket that
turned between two requests makes a correct miss)."""

from __future__ import annotations

from streaming.brokers.bars import bucket_start
from streaming.brokers.values import now_ms
from streaming.candles.service import _closed_ttl

from .wait import poll_until


def room_in_bucket(tf: str, seconds: float) -> int:
    """Wait (at most `seconds` and a bit) until the current `tf` bucket has `seconds`
    left (what the cache gives closed candles: `_closed_ttl`); return its start."""
    poll_until(
        lambda: _closed_ttl(tf, now_ms()) > seconds, within=seconds + 5, what=f"room in {tf}"
    )
    return bucket_start(now_ms(), tf)
