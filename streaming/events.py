"""The account events of the contract, as the stream manager handles them.

What an adapter emits is built in streaming/brokers/ (one mapping per broker, with the
shared value helpers of brokers/values.py); the manager names these through `events.*`.
"""

from __future__ import annotations

from .brokers.values import ORDER_STATUSES, now_ms, order_status

__all__ = ["ACCOUNT_FRAME_TYPES", "ORDER_STATUSES", "now_ms", "order_status"]

#: The account events an adapter reports (`AdapterSink.account_event` kinds).
ACCOUNT_FRAME_TYPES = ("balance", "positions", "position", "order")
