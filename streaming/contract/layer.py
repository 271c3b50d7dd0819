"""What crosses the channel layer between processes: the group names, the message types a
tab and a stream's owner handle (`ToTab`, `ToOwner`), and each message's shape.

None of these is a client frame: the owner's frames, serialized once, and its position for
the fan-out and the relays (streaming/cluster/), a tab's calls to the owner and the
owner's replies, and the option chain and candle features' calls. The risk and trading
features' calls are risk.py's and trading.py's.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


# -- channel-layer names --------------------------------------------------------------------------
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


# -- what the stream's owner publishes beside the client frames -----------------------------------
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


# -- the messages: what crosses the channel layer between processes (streaming/cluster/) ----------
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
    broker_t: float | None


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
    #: the rights ("call", "put") whose options in the window the owner subscribes first,
    #: waiting (at most `chains.service.LIVE_WAIT`) for their quotes and greeks: a caller
    #: that needs every strike's delta (the roll picker) where greeks only stream
    live: NotRequired[list[str]]


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
