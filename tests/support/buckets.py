"""Candle buckets and the clock: a cached answer lasts until the forming candle closes, so
a test that expects a cache hit first waits for room in the current bucket (a bucket that
turned between two requests makes a correct miss)."""

from __future__ import annotations

from streaming.brokers.bars import TIMEFRAMES, bucket_start
from streaming.contract import now_ms

from .wait import poll_until


def seconds_left(tf: str) -> float:
    """How long until the forming candle of `tf` (not 1d) closes."""
    now = now_ms()
    return (bucket_start(now, tf) + TIMEFRAMES[tf] - now) / 1000


def room_in_bucket(tf: str, seconds: float) -> int:
    """Wait (at most `seconds` and a bit) until the current `tf` bucket has `seconds`
    left; return its start."""
    poll_until(lambda: seconds_left(tf) > seconds, within=seconds + 5, what=f"room in {tf}")
    return bucket_start(now_ms(), tf)
