"""The frames a client receives, each with its fields (docs/streaming-contract.md "Frames
(server → client)"), and the types of message a client sends.

The account frames are numbered and logged, never conflated or dropped (`ACCOUNT_FRAMES`);
`FRAMES` is every type a client can receive. The server builds and checks frames with these
names only; tests/streaming/test_contract.py reads the document's tables and fails when
the two disagree (the document changes first). The browser's copy is
static/js/stream/contract.js (checked by tests/js/contract-doc.test.mjs). The risk frames'
payloads (`Metrics`, `LimitPayload`) are risk.py's; the balance, position, quote, greeks
and order inside the frames are the adapters' shapes (streaming/brokers/payloads.py,
streaming/brokers/orders/shape.py), the account and the link status are typed here.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from streaming.brokers.orders.shape import Order
from streaming.brokers.payloads import Balance, GreeksFields, Position, QuoteFields
from streaming.contract.risk import LimitPayload, Metrics


# -- objects inside the frames (docs/streaming-contract.md "Objects") ------------------------------
class Account(TypedDict):
    """An account as the snapshot lists it (`label`: the broker link's label)."""

    number: str
    link: int
    broker: str
    label: str
    simulated: bool
    balance: Balance | None
    positions: list[Position]


class ListedOrder(Order):
    """An order as the snapshot lists it: broker ids are unique only within one broker,
    so it also carries its `link` and `account`."""

    link: int
    account: str


class KindStatus(TypedDict):
    """A link's truth for one data kind (`kinds` of a link status)."""

    state: str
    reason: str
    since: int
    last_ok: int | None
    stale_after_ms: int | None


class LinkStatus(TypedDict):
    """A broker link's status object (the `status` frame's `link`, the snapshot's `links`)."""

    id: int
    broker: str
    label: str
    state: str
    reason: str
    since: int
    #: "quotes" and "account"
    kinds: dict[str, KindStatus]
    quote_source: bool
    coin_feed: bool
    quote_feed: str | None
    delayed: bool
    delay_ms: int | None
    last_event_age_ms: int | None
    reconnects: int
    token_expires_at: float | None
    retry_in: float | None
    simulated: bool


# -- frames (server -> client) --------------------------------------------------------------------
class Limits(TypedDict):
    max_symbols: int
    max_symbols_per_user: int
    max_symbols_per_message: int
    max_message_bytes: int
    rate_per_10s: int


class HelloFrame(TypedDict):
    type: Literal["hello"]
    user: str
    epoch: str | None
    seq: int
    flush_ms: int
    max_flush_ms: int
    simulated: bool
    server_time: int
    limits: Limits
    stale_after_ms: dict[str, int]


class WatchlistState(TypedDict):
    symbols: list[str]
    version: int


class SnapshotFrame(TypedDict):
    type: Literal["snapshot"]
    epoch: str | None
    seq: int
    simulated: bool
    accounts: list[Account]
    quotes: dict[str, QuoteFields]
    greeks: dict[str, GreeksFields]
    orders: list[ListedOrder]
    links: list[LinkStatus]
    watchlist: WatchlistState
    subscriptions: list[str]
    alerts: list[AlertState]
    alert_triggers: list[AlertPayload]
    #: the newest `limit` payloads, newest first (LimitPayload, risk.py)
    limit_breaches: list[LimitPayload]
    #: underlying -> Metrics (risk.py)
    metrics: dict[str, Metrics]
    t: int


class QuotesFrame(TypedDict):
    type: Literal["quotes"]
    #: only the fields that changed, plus `t`
    quotes: dict[str, QuoteFields]
    greeks: dict[str, GreeksFields]
    t: int


class _AccountFrame(TypedDict):
    epoch: str
    seq: int
    account: str
    link: int
    t: int
    simulated: bool


class BalanceFrame(_AccountFrame):
    type: Literal["balance"]
    balance: Balance


class PositionsFrame(_AccountFrame):
    type: Literal["positions"]
    positions: list[Position]


class PositionFrame(_AccountFrame):
    type: Literal["position"]
    position: Position


class OrderFrame(_AccountFrame):
    type: Literal["order"]
    order: Order


class AlertPayload(TypedDict):
    id: int
    alert_id: int | None
    symbol: str
    display: str
    condition: str
    level: float
    price: float
    at: int
    message: str
    rearm: bool


class AlertFrame(_AccountFrame):
    """A price alert triggered (docs/streaming-contract.md "Price alerts"): `account` is
    always "" and `link` 0; clients deduplicate by `alert["id"]`."""

    type: Literal["alert"]
    alert: AlertPayload


class AlertState(TypedDict):
    """A price alert as `/api/alerts` and the snapshot's `alerts` have it."""

    id: int
    symbol: str
    display: str
    condition: str
    level: float
    rearm: bool
    expires_at: int | None
    active: bool
    armed: bool
    crossings: int
    created_at: int | None
    updated_at: int | None


class StatusFrame(TypedDict):
    type: Literal["status"]
    link: LinkStatus
    t: int


class WatchlistFrame(TypedDict):
    type: Literal["watchlist"]
    symbols: list[str]
    version: int


class NewsArticle(TypedDict):
    """One news item (a `news` frame's `items`, an SSE `news` event, `/api/news`)."""

    id: str
    cursor: int
    headline: str
    summary: str
    author: str
    source: str
    url: str
    symbols: list[str]
    created_at: int
    updated_at: int


class NewsFrame(TypedDict):
    type: Literal["news"]
    items: list[NewsArticle]
    feed: NotRequired[dict[str, str]]
    t: int


#: `from` (the client's seq) is a Python keyword, hence the functional form.
ResumedFrame = TypedDict(
    "ResumedFrame",
    {"type": Literal["resumed"], "epoch": str, "from": int, "count": int},
)


class Rejection(TypedDict):
    symbol: str
    reason: str


class SubscribedFrame(TypedDict):
    type: Literal["subscribed"]
    symbols: list[str]
    rejected: list[Rejection]


class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    message: str
    ref: str | None


class PongFrame(TypedDict):
    type: Literal["pong"]
    id: NotRequired[str | int | float | None]
    t: int


class LimitFrame(_AccountFrame):
    """A portfolio limit crossed: `account` is always "" and `link` 0; clients
    deduplicate by `limit["id"]`."""

    type: Literal["limit"]
    limit: LimitPayload


class MetricsFrame(TypedDict):
    """Quote class (not numbered, latest wins): every underlying's metrics the stream has."""

    type: Literal["metrics"]
    metrics: dict[str, Metrics]
    t: int


class QuotePaceFrame(TypedDict):
    """A socket's quotes are thinned (or no longer): the interval the server sets them to
    now (ms; `flush_ms`: not thinned) and why (docs/streaming-contract.md, "Under load")."""

    type: Literal["quote_pace"]
    interval_ms: int
    cause: Literal["server", "connection"] | None


# -- the frame types ------------------------------------------------------------------------------
#: The account frame types: numbered, logged, never conflated or dropped.
ACCOUNT_FRAMES: dict[str, type] = {
    "balance": BalanceFrame,
    "positions": PositionsFrame,
    "position": PositionFrame,
    "order": OrderFrame,
    "alert": AlertFrame,
    "limit": LimitFrame,
}
ACCOUNT_FRAME_TYPES = tuple(ACCOUNT_FRAMES)
#: Every frame type a client can receive, with its fields.
FRAMES: dict[str, type] = {
    "hello": HelloFrame,
    "snapshot": SnapshotFrame,
    "quotes": QuotesFrame,
    "quote_pace": QuotePaceFrame,
    **ACCOUNT_FRAMES,
    "status": StatusFrame,
    "watchlist": WatchlistFrame,
    "news": NewsFrame,
    "metrics": MetricsFrame,
    "resumed": ResumedFrame,
    "subscribed": SubscribedFrame,
    "error": ErrorFrame,
    "pong": PongFrame,
}

# -- client messages (client -> server) -----------------------------------------------------------
CLIENT_MESSAGE_TYPES = ("subscribe", "unsubscribe", "ping", "pace")
