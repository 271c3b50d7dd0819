"""The frames a tab builds itself (the stream's frames come serialized from the manager),
each typed by its contract TypedDict where it is built (docs/streaming-contract.md)."""

from __future__ import annotations

import orjson
from django.conf import settings

from streaming import validation
from streaming.brokers.payloads import GreeksFields, QuoteFields
from streaming.brokers.values import now_ms
from streaming.contract.frames import (
    ErrorFrame,
    HelloFrame,
    LinkStatus,
    MetricsFrame,
    PongFrame,
    QuotesFrame,
    Rejection,
    ResumedFrame,
    StatusFrame,
    SubscribedFrame,
    WatchlistFrame,
    WatchlistState,
)
from streaming.contract.risk import Metrics
from streaming.stream.position import Position
from streaming.tabs import adaptive_flush

#: Every frame the tab builds.
TabFrame = (
    HelloFrame
    | ResumedFrame
    | StatusFrame
    | QuotesFrame
    | WatchlistFrame
    | MetricsFrame
    | SubscribedFrame
    | ErrorFrame
    | PongFrame
)


def serialized(frame: TabFrame) -> str:
    return orjson.dumps(frame).decode()


def hello(username: str, head: Position | None, simulated: bool) -> HelloFrame:
    """The first frame: the stream's position, the socket's limits and intervals."""
    return {
        "type": "hello",
        "user": username,
        "epoch": head.epoch if head else None,
        "seq": head.seq if head else 0,
        "flush_ms": int(settings.STREAM_FLUSH_INTERVAL * 1000),
        "max_flush_ms": int(adaptive_flush.MAX_INTERVAL * 1000),
        "simulated": simulated,
        "server_time": now_ms(),
        "limits": {
            "max_symbols": validation.MAX_SYMBOLS_PER_SOCKET,
            "max_symbols_per_user": validation.MAX_SYMBOLS_PER_USER,
            "max_symbols_per_message": validation.MAX_SYMBOLS_PER_MESSAGE,
            "max_message_bytes": validation.MAX_MESSAGE_BYTES,
            "rate_per_10s": validation.RATE_LIMIT,
        },
        "stale_after_ms": {"quotes": int(settings.STREAM_QUOTE_STALE_AFTER * 1000)},
    }


def resumed(since: Position, count: int) -> ResumedFrame:
    return {"type": "resumed", "epoch": since.epoch, "from": since.seq, "count": count}


def status(link: LinkStatus, t: int) -> StatusFrame:
    return {"type": "status", "link": link, "t": t}


def quotes(values: dict[str, QuoteFields], greeks: dict[str, GreeksFields], t: int) -> QuotesFrame:
    return {"type": "quotes", "quotes": values, "greeks": greeks, "t": t}


def metrics(values: dict[str, Metrics], t: int) -> MetricsFrame:
    """Every underlying's metrics (a resumed tab's live state: they are not in the log)."""
    return {"type": "metrics", "metrics": values, "t": t}


def watchlist(state: WatchlistState) -> WatchlistFrame:
    return {"type": "watchlist", "symbols": state["symbols"], "version": state["version"]}


def subscribed(symbols: set[str], rejected: list[Rejection]) -> SubscribedFrame:
    return {"type": "subscribed", "symbols": sorted(symbols), "rejected": rejected}


def error(code: str, message: str, ref: str | None = None) -> ErrorFrame:
    return {"type": "error", "code": code, "message": message, "ref": ref}


def pong(ping_id: str | int | None) -> PongFrame:
    return {"type": "pong", "id": ping_id, "t": now_ms()}
