"""Adapter timings for tests: every failure is noticed and healed within seconds."""

from __future__ import annotations

#: What every adapter test shortens (the real defaults are in `StreamConfig`).
FAST = dict(
    handshake_timeout=5,
    watchdog_timeout=2.0,
    backoff_base=0.1,
    backoff_cap=0.5,
    rejected_retry=60,
)
TASTYTRADE_FAST = {**FAST, "reconcile_interval": 60, "account_heartbeat_interval": 1.0}
TRADIER_FAST = {
    **FAST,
    "account_poll_interval": 0.5,
    "order_poll_interval": 0.2,
    "chain_cache_ttl": 60,
}
#: Alpaca's polls stay out of the way: its tests drive the event stream.
ALPACA_FAST = {**FAST, "account_poll_interval": 60, "order_poll_interval": 60}
