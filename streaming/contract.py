"""docs/streaming-contract.md in code: frame types, close codes, group and layer names.

The server builds and checks frames with these names only; tests/streaming/test_contract.py
reads the document and fails when the two disagree (the document changes first). The
browser's copy is static/js/stream/contract.js (checked by tests/js/contract-doc.test.mjs).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

#: Contract time, epoch milliseconds (defined once, for the adapters too).
from streaming.brokers.values import now_ms as now_ms

# -- close codes (the contract's "Close codes" table) -------------------------------------
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_SERVER_ERROR = 1011
#: Server restarting / channel layer reconnected: reconnect at once with the position.
CLOSE_SERVICE_RESTART = 1012
#: The stream cannot be served right now: reconnect with backoff. RFC 6455 has 1013 for it,
#: but daphne (autobahn) sends only 1000 and 3000-4999; 4503 as HTTP's 503.
CLOSE_TRY_AGAIN_LATER = 4503
#: Not logged in, or the session ended: go to the login page.
CLOSE_UNAUTHENTICATED = 4401
#: Too slow to take account events: reconnect with the position.
CLOSE_TOO_SLOW = 4408
#: A gap the server cannot fill: reconnect without a position (a new snapshot).
CLOSE_RESYNC = 4409
#: Too many connection attempts with one API token: retry after the `error` frame's delay.
CLOSE_TOKEN_RATE_LIMITED = 4429
CLOSE_CODES = frozenset(
    {
        CLOSE_NORMAL,
        CLOSE_GOING_AWAY,
        CLOSE_SERVER_ERROR,
        CLOSE_SERVICE_RESTART,
        CLOSE_TRY_AGAIN_LATER,
        CLOSE_UNAUTHENTICATED,
        CLOSE_TOO_SLOW,
        CLOSE_RESYNC,
        CLOSE_TOKEN_RATE_LIMITED,
    }
)


# -- frames (server -> client) -------------------------------------------------------------
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
    accounts: list[dict[str, Any]]
    quotes: dict[str, dict[str, Any]]
    greeks: dict[str, dict[str, Any]]
    orders: list[dict[str, Any]]
    links: list[dict[str, Any]]
    watchlist: WatchlistState
    subscriptions: list[str]
    alerts: list[dict[str, Any]]
    alert_triggers: list[dict[str, Any]]
    #: the newest `limit` payloads, newest first (LimitPayload, below)
    limit_breaches: list[dict[str, Any]]
    #: underlying -> Metrics (the block "risk: metrics" at the end)
    metrics: dict[str, Metrics]
    t: int


class QuotesFrame(TypedDict):
    type: Literal["quotes"]
    quotes: dict[str, dict[str, Any]]
    greeks: dict[str, dict[str, Any]]
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
    balance: dict[str, Any]


class PositionsFrame(_AccountFrame):
    type: Literal["positions"]
    positions: list[dict[str, Any]]


class PositionFrame(_AccountFrame):
    type: Literal["position"]
    position: dict[str, Any]


class OrderFrame(_AccountFrame):
    type: Literal["order"]
    order: dict[str, Any]


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


class StatusFrame(TypedDict):
    type: Literal["status"]
    link: dict[str, Any]
    t: int


class WatchlistFrame(TypedDict):
    type: Literal["watchlist"]
    symbols: list[str]
    version: int


class NewsFrame(TypedDict):
    type: Literal["news"]
    items: list[dict[str, Any]]
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


class LimitPayload(TypedDict):
    """A portfolio limit crossed (docs/streaming-contract.md "Portfolio limits")."""

    id: int
    kind: str  # "beta_delta_above" | "beta_delta_below" | "daily_loss"
    value: float
    limit: float
    at: int
    message: str


class LimitFrame(_AccountFrame):
    """A portfolio limit crossed: `account` is always "" and `link` 0; clients
    deduplicate by `limit["id"]`."""

    type: Literal["limit"]
    limit: LimitPayload


class Metrics(TypedDict):
    """An underlying's market metrics (docs/streaming-contract.md "Risk: market metrics
    and β-weighted delta"): each value with its source and age."""

    beta: float | None
    beta_source: Literal["tastytrade", "regression"] | None
    beta_window: str | None
    beta_as_of: int | None
    iv_index: float | None
    iv_rank: float | None  # 0-100
    iv_percentile: float | None  # 0-100
    iv_source: Literal["tastytrade"] | None
    expiration_ivs: dict[str, float]
    dividend_yield: float | None
    t: int


class MetricsFrame(TypedDict):
    """Quote class (not numbered, latest wins): every underlying's metrics the stream has."""

    type: Literal["metrics"]
    metrics: dict[str, Metrics]
    t: int


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
# -- client messages (client -> server) ------------------------------------------------------
CLIENT_MESSAGE_TYPES = ("subscribe", "unsubscribe", "ping", "pace")


# -- channel-layer names -----------------------------------------------------------------------
def user_group(user_id: int) -> str:
    """The group through which the owner's frames reach the user's other processes (one
    channel per process joins it: that process's fan-out)."""
    return f"user.{user_id}"


def owner_group(user_id: int) -> str:
    """The group the owning process's control channel joins (tabs -> owner messages)."""
    return f"owner.{user_id}"


class ToTab:
    """Layer message types a tab handles (channels: the `type` names the handler)."""

    #: One frame, serialized once by the owner: `text`, `kind`, and `seq`/`epoch` for
    #: account frames.
    FRAME = "stream.frame"
    #: The stream's position, for relays to find what they missed: `epoch`, `seq`.
    HEAD = "stream.head"
    #: Another process took over (or Redis recovered): re-register and reconcile.
    OWNER_CHANGED = "stream.owner_changed"
    #: The owner's answer to `snapshot.request`: `text`, `seq`.
    SNAPSHOT = "stream.snapshot"
    #: The owner refused symbols for the user's limit: `symbols`.
    LIMIT = "stream.limit"
    #: The owner's answer to `candles.request`: `text` (the history JSON) or `error`,
    #: `message`, `retry_after` (docs/streaming-contract.md "Candle charts").
    CANDLES = "stream.candles"
    #: The owner's answer to `chain.request`: `status` (HTTP), `text` (the JSON body).
    CHAIN_REPLY = "chain.reply"
    #: The owner's answer to `pnl.history`.
    PNL_HISTORY_REPLY = "pnl.history.reply"
    #: The owner's answer to an order-entry step (`OrderReply`).
    ORDER_REPLY = "order.reply"


class ToOwner:
    """Layer message types the owner of a user's stream handles (see owner_rpc.py)."""

    #: A tab's wanted symbols: `tab`, `symbols` (re-sent every 30 s), and for a polling
    #: page `ttl` (forgotten that long after its last poll).
    TAB_SYMBOLS = "tab.symbols"
    #: A tab is gone: `tab`.
    TAB_DROP = "tab.drop"
    #: A snapshot for `reply` (a tab's channel) with `symbols`.
    SNAPSHOT_REQUEST = "snapshot.request"
    #: The user's watchlist changed: `symbols`, `version`.
    WATCHLIST_CHANGED = "watchlist.changed"
    #: Candle history for `reply` (a fresh channel): `symbol`, `tf`, `from_ms`,
    #: `deadline` (epoch seconds; a request found after it is not served).
    CANDLES_REQUEST = "candles.request"
    #: An option chain (or its expirations) for `reply`: `kind` ("chain"|"expirations"),
    #: `symbol`, `expiration`, `strikes` (docs/streaming-contract.md "Option chains").
    CHAIN_REQUEST = "chain.request"
    #: The user's price alerts changed (created, edited, deleted): read them again.
    ALERTS_CHANGED = "alerts.changed"
    #: The user's portfolio limits changed: read them again.
    LIMITS_CHANGED = "limits.changed"
    #: One account's balance history for a day (`account`, `day`), for `reply`: the
    #: owner holds the broker sessions (docs/streaming-contract.md "P&L over the day").
    PNL_HISTORY_REQUEST = "pnl.history"
    #: Order entry at the broker that holds the account (`op`: preview, place, replace,
    #: cancel, working, cancel_all), for `reply` (docs/streaming-contract.md "Trading").
    ORDER_REQUEST = "order.request"


# -- news and alerts: the layer announcement, the items, the news SSE stream's events ------
class NewsStored(TypedDict):
    """The layer message to the `news.stored` group (streaming/news/live.py): only a hint
    that articles up to `cursor` were stored for `symbols`; readers read the store."""

    type: Literal["news.stored"]
    cursor: int
    symbols: list[str]


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


class NewsStreamLimits(TypedDict):
    max_symbols: int
    streams_per_user: int
    connects_per_minute: int
    max_duration_s: int
    max_backlog: int


class NewsConnectedEvent(TypedDict):
    """The news SSE stream's first event (`event: connected`)."""

    user: str
    symbols: list[str]
    rejected: list[Rejection]
    head: int
    cursor: int
    resumed: bool
    backlog: int
    duration_s: int | None
    heartbeat_s: float
    progress_s: float
    limits: NewsStreamLimits
    server_time: int


class NewsProgressEvent(TypedDict):
    """`event: progress` every few seconds (and the `end` event's counts)."""

    cursor: int
    sent: int
    elapsed_ms: int
    server_time: int


class NewsEndEvent(NewsProgressEvent):
    """`event: end`: why the stream ended (`duration`, `max_duration`, `too_slow`,
    `unauthenticated`)."""

    reason: str | None


class NewsLimitEvent(TypedDict):
    """`event: limit`: symbols the user's stream refused (the user's symbol limit)."""

    symbols: list[str]
    reason: Literal["user_limit_reached"]


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


# -- what the stream's owner publishes beside the client frames --------------------------
class HeadFrame(TypedDict):
    """Where a user's stream is (not a client frame): relays in other processes compare it
    with what they relayed and fetch what they missed from the event log."""

    type: Literal["head"]
    epoch: str
    seq: int


class CandleHistory(TypedDict):
    """A user's candle history as the stream's owner answers it: the link that served."""

    link: int
    source: str
    simulated: bool
    delayed: bool
    candles: list[dict[str, Any]]


# -- layer messages: what crosses the channel layer between processes (streaming/cluster/) --
class FrameMessage(TypedDict):
    """`ToTab.FRAME`: one frame, serialized once by the owner (cluster/fanout.py)."""

    type: str
    kind: str
    text: str
    seq: int | None
    epoch: str | None
    #: The owner's clock: a tab drops quotes older than its snapshot.
    t: int | None
    #: The broker's time, for the latency histograms.
    broker_t: int | None


class HeadMessage(TypedDict):
    """`ToTab.HEAD`: the stream's position, for relays to find what they missed."""

    type: str
    epoch: str
    seq: int


class OwnerChanged(TypedDict):
    """`ToTab.OWNER_CHANGED`: re-register with the owner and reconcile."""

    type: str


class RelayBatch(TypedDict):
    """`RELAY_FRAMES`: a turn's frames for one process, each `[user id, layer message]`."""

    type: str
    frames: list[list[Any]]


#: The layer message type of a relay batch (cluster/relay.py).
RELAY_FRAMES = "relay.frames"


class TabSymbolsRequest(TypedDict):
    """`ToOwner.TAB_SYMBOLS`."""

    type: str
    tab: str
    symbols: list[str]
    ttl: NotRequired[float]


class TabDropRequest(TypedDict):
    """`ToOwner.TAB_DROP`."""

    type: str
    tab: str


class SnapshotRequest(TypedDict):
    """`ToOwner.SNAPSHOT_REQUEST`: the answer (`SnapshotReply`) goes to `reply`. `shown`: a
    page's (not a tab's) request, showing the stream that many seconds (its hold)."""

    type: str
    reply: str
    symbols: list[str]
    shown: NotRequired[float]


class WatchlistChangedRequest(TypedDict):
    """`ToOwner.WATCHLIST_CHANGED`."""

    type: str
    symbols: list[str]
    version: int


class AlertsChangedRequest(TypedDict):
    """`ToOwner.ALERTS_CHANGED`."""

    type: str


class OwnerCall(TypedDict):
    """A feature's question to the stream's owner (cluster/agents.py `ask_owner`): the
    cluster fills in `reply` (the channel the answer goes to) and `deadline` (epoch
    seconds: a request found after it is not served)."""

    type: str
    reply: NotRequired[str]
    deadline: NotRequired[float]


class CandlesRequest(OwnerCall):
    """`ToOwner.CANDLES_REQUEST`: answered with a `CandlesReply`."""

    symbol: str
    tf: str
    from_ms: int


class ChainRequest(OwnerCall):
    """`ToOwner.CHAIN_REQUEST`: answered with a `ChainReply`."""

    kind: str
    symbol: str
    expiration: NotRequired[str | None]
    strikes: NotRequired[int]


class SnapshotReply(TypedDict):
    """`ToTab.SNAPSHOT`."""

    type: str
    text: str
    seq: int


class LimitReply(TypedDict):
    """`ToTab.LIMIT`: symbols refused for the user's limit."""

    type: str
    symbols: list[str]


class CandlesReply(TypedDict):
    """`ToTab.CANDLES`: `text` (the history JSON), or `error`, `message`, `retry_after`."""

    type: str
    text: NotRequired[str]
    error: NotRequired[str]
    message: NotRequired[str]
    retry_after: NotRequired[float | None]


class ChainReply(TypedDict):
    """`ToTab.CHAIN_REPLY`: `status` (HTTP), `text` (the JSON body)."""

    type: str
    status: int
    text: str


# -- portfolio limits: the settings and their layer message ---------------------------
class LimitSettings(TypedDict):
    """The user's portfolio limits (`GET`/`PUT /api/risk/limits`); None: off."""

    beta_delta_min: float | None
    beta_delta_max: float | None
    daily_loss: float | None
    updated_at: int | None


class LimitsChangedRequest(TypedDict):
    """`limits.changed`: the user's limits changed; the owner reads them again."""

    type: str


# --- risk: pnl ---
class PnlHistoryRequest(OwnerCall):
    """`ToOwner.PNL_HISTORY_REQUEST`: `account`, `day` (YYYY-MM-DD); answered with a
    `PnlHistoryReply`."""

    account: str
    day: str


class PnlHistoryReply(TypedDict):
    """`ToTab.PNL_HISTORY_REPLY`: `points` ([ms, net liq], ascending), or `error` (a sentence;
    "unsupported" when the account's broker keeps no balance history)."""

    type: str
    points: NotRequired[list[list[float]]]
    error: NotRequired[str]


# --- trading: core ---
class OrderCall(OwnerCall):
    """`ToOwner.ORDER_REQUEST`: one order-entry step at the owner (streaming/trading/
    owner.py), answered with an `OrderReply`. `order` is the contract's order JSON as
    previewed; `client_order_id` tags a place; `quote` is the preview's (the band);
    `reconcile`: the ticket was claimed before, so the broker is asked first."""

    op: str
    link: int
    account: NotRequired[str | None]
    accounts: NotRequired[list[str]]
    order: NotRequired[dict[str, Any]]
    order_id: NotRequired[str]
    client_order_id: NotRequired[str]
    quote: NotRequired[dict[str, Any] | None]
    reconcile: NotRequired[bool]


class OrderReply(TypedDict):
    """The owner's answer to an `OrderCall`: `status` (HTTP), `text` (the JSON body)."""

    type: str
    status: int
    text: str
