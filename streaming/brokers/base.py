"""The interface every broker adapter implements, and what it reports into.

An adapter owns one broker link's upstream sessions: it connects, takes a REST snapshot,
streams, reconnects with jittered backoff and reports normalized events into a sink.
The stream manager drives adapters without knowing which broker they speak.

A link carries two data kinds, `quotes` (market data) and `account` (balances, positions,
orders), and an adapter runs one supervised loop per kind it serves, each with its own
backoff and its own status: account trouble never takes market data down, nor the
reverse (docs/streaming-contract.md, "link status"). The loops every adapter shares are
`supervised.SupervisedAdapter`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol, overload, runtime_checkable

from streaming.brokers.orders.shape import Order
from streaming.brokers.payloads import Balance, GreeksFields, Position, QuoteFields


class Checkpoint(Protocol):
    """Where an adapter keeps its replay cursor (e.g. Alpaca's last event id) so that a
    restarted process resumes from it. The database-backed one is streaming.checkpoints."""

    async def load(self) -> str | None: ...

    async def save(self, cursor: str) -> None: ...


class MemoryCheckpoint:
    """A checkpoint that lives as long as the object (tests, `stream_test --no-save`)."""

    def __init__(self, cursor: str | None = None) -> None:
        self.cursor = cursor
        self.saves = 0

    async def load(self) -> str | None:
        return self.cursor

    async def save(self, cursor: str) -> None:
        self.cursor = cursor
        self.saves += 1


@dataclass(kw_only=True, eq=False)
class StreamConfig:
    """Timings of one adapter (seconds); defaults suit the real APIs, tests shorten them."""

    handshake_timeout: float = 20.0
    watchdog_timeout: float = 60.0
    reconcile_interval: float = 60.0
    refresh_margin: float = 120.0
    #: A rejected credential is tried again `rejected_retry_base` seconds after the first
    #: rejection, doubling per rejection up to `rejected_retry` (the longest wait): a
    #: credential made valid again heals within one wait by itself, and a dead one costs
    #: the broker one login per `rejected_retry` (never a storm).
    rejected_retry_base: float = 15.0
    rejected_retry: float = 300.0
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    #: A connection live this long was stable: the next reconnect starts from `base`.
    stable_after: float = 10.0
    #: Brokers without an account push (Tradier): balances/positions re-read this often.
    account_poll_interval: float = 15.0
    #: Orders are polled this often where no order stream is available (Tradier, and
    #: Alpaca while its event stream is down).
    order_poll_interval: float = 2.0
    #: Option chains (with greeks, which the broker refreshes hourly) are cached this long.
    chain_cache_ttl: float = 300.0
    #: Account streams with a heartbeat (tastytrade) send one this often; nothing heard
    #: for `STALE_HEARTBEATS` intervals means the stream is silent.
    account_heartbeat_interval: float = 5.0
    #: Polled account data (Tradier): this many failed rounds in a row reconnect.
    poll_failures_before_reconnect: int = 3


#: An account stream that sent nothing for this many heartbeat intervals is silent.
STALE_HEARTBEATS = 2.5


#: The kinds of account event an adapter reports, and their payloads (`AdapterSink`).
AccountKind = Literal["balance", "position", "positions", "order"]
AccountPayload = Balance | Position | list[Position] | Order


class AdapterSink(Protocol):
    """Where an adapter reports (the stream manager implements it).

    - `quote`/`greeks`: sync and cheap (called per tick); a quote also counts as
      "quotes are fresh" for the link.
    - `account_event`: one normalized account event (never dropped), its payload typed
      by its kind: "balance" a `Balance`, "position" a `Position` (one that changed),
      "positions" a list of them (the account's whole list), "order" an `Order`. An
      implementation may take `AccountKind` and `AccountPayload` (the overloads' unions).
    - `status`: the state of one data kind (`kind` "quotes", "account" or "all") —
      connecting | live | stale | reconnecting | error | idle; `extra` may carry
      `reconnects`, `token_expires_at`, `retry_in`, `expect_every` (seconds: how often
      the adapter confirms this kind fresh), `delayed` (bool) and `delay_ms` (int).
    - `fresh`: data of `kind` is confirmed current right now (a heartbeat, a poll round).
    - `authorized`: the lease gate, awaited before every upstream connect, token refresh
      and REST batch; False means "do not do that I/O" (the manager cancels soon).
    """

    def quote(self, symbol: str, fields: QuoteFields) -> None: ...

    def greeks(self, symbol: str, fields: GreeksFields) -> None: ...

    @overload
    async def account_event(
        self, kind: Literal["balance"], link_id: int, account: str, payload: Balance
    ) -> None: ...

    @overload
    async def account_event(
        self, kind: Literal["position"], link_id: int, account: str, payload: Position
    ) -> None: ...

    @overload
    async def account_event(
        self, kind: Literal["positions"], link_id: int, account: str, payload: list[Position]
    ) -> None: ...

    @overload
    async def account_event(
        self, kind: Literal["order"], link_id: int, account: str, payload: Order
    ) -> None: ...

    async def status(
        self, link_id: int, state: str, reason: str = "", *, kind: str = "all", **extra: Any
    ) -> None: ...

    def fresh(self, link_id: int, kind: str) -> None: ...

    async def authorized(self) -> bool: ...


class BrokerAdapter(Protocol):
    """What the stream manager calls on every adapter. What only some brokers serve is a
    capability of its own: `SupportsCandles`, `SupportsChains`,
    `SupportsMarketMetrics`."""

    link_id: int

    async def run(self, sink: AdapterSink) -> None:
        """Stream until cancelled, reconnecting as needed; never returns normally."""

    def set_symbols(self, symbols: set[str]) -> None:
        """The quote symbols wanted now (streamer form); the adapter diffs and subscribes."""

    def stopping(self) -> None:
        """Called just before `run` is cancelled: from now on nothing reconnects."""


@runtime_checkable
class SupportsCandles(Protocol):
    """An adapter that serves candle history (tastytrade, Tradier; Alpaca its coins'):
    `isinstance(adapter, SupportsCandles)` tells which links can be asked (of the
    instruments their broker quotes: stream/history.py)."""

    async def candles(self, symbol: str, tf: str, from_ms: int, *, within: float) -> list[dict]:
        """Candles of `symbol` from `from_ms` (ascending, the last one forming); raises
        `bars.HistoryError` when the broker cannot serve them."""
        ...


class OptionChainSource(Protocol):
    """A link's option chains in the one shape (chains.py), through the cluster-wide cache."""

    async def expirations(self, symbol: str) -> tuple[list[dict[str, Any]], int]: ...

    async def strikes(self, symbol: str, expiration: str) -> dict[str, Any]: ...

    async def underlying_price(self, symbol: str) -> float | None: ...


@runtime_checkable
class SupportsMarketMetrics(Protocol):
    """An adapter whose link serves market metrics (tastytrade): β, IV rank and percentile,
    per-expiration IVs, dividend yield, as the contract's Metrics per symbol."""

    async def market_metrics(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        """Metrics per symbol the broker knows (unknown symbols left out); raises what the
        broker raised."""
        ...


@runtime_checkable
class SupportsChains(Protocol):
    """An adapter whose link serves option chains (tastytrade, Tradier)."""

    chains: OptionChainSource


@runtime_checkable
class SupportsBalanceHistory(Protocol):
    """An adapter whose broker keeps its accounts' net liq over time (tastytrade's net-liq
    history, Alpaca's portfolio history; Tradier keeps none): asked for an earlier day's
    P&L curve (docs/streaming-contract.md "P&L over the day")."""

    async def balance_history(self, account: str, day: date) -> list[tuple[int, float]]:
        """(epoch ms, net liq) of one of the link's accounts during the (UTC) `day`,
        ascending; raises when the broker cannot serve it."""
        ...
