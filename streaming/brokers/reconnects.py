"""A broker loop's reconnect counted, by a bounded class of what failed.

The reconnect counter (`metrics.RECONNECTS`) is labelled by the class of the failure,
never by its text: a user, an account or a symbol in a label would grow the series
without bound. What a failure is (credential, silence, 429, 5xx, unreachable…) is the
brokers' knowledge (errors.py), so it is told here and the metrics module only holds the
counters: metrics sits below the brokers and knows none of their errors.
"""

from __future__ import annotations

from streaming import metrics
from streaming.brokers.errors import (
    BrokerHTTPError,
    CredentialRejected,
    StreamEnded,
    StreamSilent,
    http_status,
    leaves,
)

#: The label values `reconnect_reason` can return (the reconnect counter's bounded set).
RECONNECT_REASONS = (
    "ended",
    "closed",
    "silent",
    "timeout",
    "unreachable",
    "rate_limited",
    "server_error",
    "broker_error",
    "rejected",
    "unexpected",
)


def reconnect_reason(exc: BaseException | None) -> str:
    """A failure's class for the reconnect counter (one of RECONNECT_REASONS)."""
    if exc is None:
        return "ended"
    found = leaves(exc)
    for leaf in found:
        if isinstance(leaf, CredentialRejected):
            return "rejected"
        if isinstance(leaf, StreamSilent):
            return "silent"
        if isinstance(leaf, StreamEnded):
            return "ended"
        status = http_status(leaf)
        if status == 429:
            return "rate_limited"
        if status is not None and status >= 500:
            return "server_error"
        if status is not None or isinstance(leaf, BrokerHTTPError):
            return "broker_error"
        name = type(leaf).__name__
        if "Disconnect" in name or "RemoteProtocol" in name:
            return "closed"
        if isinstance(leaf, TimeoutError) or "Timeout" in name:
            return "timeout"
        if isinstance(leaf, OSError) or "Connect" in name or "Transport" in name:
            return "unreachable"
    return "unexpected"


def count_reconnect(broker: str, kind: str, exc: BaseException | None) -> None:
    """A loop reconnects. A 429 from the tastytrade SDK is counted here (Tradier's and
    Alpaca's own clients count theirs as they receive them, retries included)."""
    metrics.RECONNECTS.labels(broker, kind, reconnect_reason(exc)).inc()
    if exc is not None and any(
        http_status(leaf) == 429 and not isinstance(leaf, BrokerHTTPError) for leaf in leaves(exc)
    ):
        metrics.RATE_LIMITED.labels(broker).inc()
