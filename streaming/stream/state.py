"""One user's last known values and the position of their account stream.

Pure: no I/O, no tasks, no clock of its own (callers pass `now`). The manager feeds it
from the adapters; a snapshot of it is what a page and a new tab start from, and every
account event applied here becomes the numbered frame that tabs apply to that snapshot
(docs/streaming-contract.md "Positions" and "Ordering").
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from streaming.brokers.orders.shape import Order
from streaming.brokers.payloads import Balance, GreeksFields, QuoteFields
from streaming.brokers.payloads import Position as PositionPayload
from streaming.brokers.values import order_status
from streaming.contract.frames import (
    ACCOUNT_FRAMES,
    Account,
    AlertPayload,
    AlertState,
    LinkStatus,
    ListedOrder,
    SnapshotFrame,
)
from streaming.contract.risk import LimitPayload, Metrics
from streaming.instruments.resolve import InstrumentBook
from streaming.order_list import RECENT_CHANGES_KEPT, bounded
from streaming.stream.position import Position, new_epoch

#: Orders kept here (the newest changed); a snapshot lists the newest of them and every
#: working one (order_list.py); older ones live at the broker (`GET /api/orders`).
MAX_ORDERS = 200
#: Alert triggers kept for the snapshot (newest first).
MAX_ALERT_TRIGGERS = 50
#: Portfolio-limit breaches kept for the snapshot (newest first).
MAX_LIMIT_BREACHES = 50


@dataclass
class LinkInfo:
    """What the stream knows about a broker link (no secrets)."""

    id: int
    broker: str
    label: str
    simulated: bool
    #: Whether the broker streams quotes; one such link feeds all of the user's quotes.
    streams_quotes: bool = True
    #: Whether its quotes include coins (`<coin>/USD:CXTALP`). A link that quotes coins
    #: and nothing else (Alpaca's crypto data) feeds the coins a source without them
    #: cannot quote (quote_feed.py, the coin feed).
    quotes_coins: bool = True


@dataclass
class AccountState:
    number: str
    link: LinkInfo
    balance: Balance | None = None
    positions: dict[str, PositionPayload] = field(default_factory=dict)

    def as_dict(self) -> Account:
        return {
            "number": self.number,
            "link": self.link.id,
            "broker": self.link.broker,
            "label": self.link.label,
            "simulated": self.link.simulated,
            "balance": self.balance,
            "positions": list(self.positions.values()),
        }


#: A symbol's quote or its greeks: the values merged per symbol.
Values = TypeVar("Values", QuoteFields, GreeksFields)


def merge_values(table: dict[str, Values], symbol: str, fields: Values) -> None:
    """Latest values win per field, but `t` stays the newest time seen: a Trade event
    carrying an older trade time must not make a fresh quote look old."""
    entry = table.get(symbol)
    if entry is None:
        table[symbol] = fields.copy()
        return
    t = entry.get("t")
    entry.update(fields)
    if t is not None and entry["t"] < t:
        entry["t"] = t


class UserState:
    """Accounts, orders, quotes, greeks, watchlist and link statuses, and (epoch, seq)."""

    def __init__(
        self,
        links: Iterable[LinkInfo],
        watchlist: tuple[list[str], int] | None = None,
        *,
        epoch: str | None = None,
    ) -> None:
        self.links: dict[int, LinkInfo] = {info.id: info for info in links}
        #: The stream's position: `epoch` names this run of seqs (a new one unless given:
        #: a replay's is its day's, the same each time it is played).
        self.epoch = epoch or new_epoch()
        self.seq = 0
        self.accounts: dict[str, AccountState] = {}
        self.quotes: dict[str, QuoteFields] = {}
        self.greeks: dict[str, GreeksFields] = {}
        #: Newest orders by (link, broker order id): ids are only unique within a broker.
        self.orders: OrderedDict[tuple[int, Any], ListedOrder] = OrderedDict()
        self.watchlist, self.watchlist_version = watchlist or ([], 0)
        #: The rendered status object of each link (the manager keeps it current).
        self.link_status: dict[int, LinkStatus] = {}
        #: The user's active price alerts (streaming/alerts/runner.py keeps them current).
        self.alerts: list[AlertState] = []
        #: The newest `alert` payloads, newest first.
        self.alert_triggers: deque[AlertPayload] = deque(maxlen=MAX_ALERT_TRIGGERS)
        #: The newest `limit` payloads, newest first (a tab that resyncs from a snapshot
        #: learns from them of a breach whose frame it never got).
        self.limit_breaches: deque[LimitPayload] = deque(maxlen=MAX_LIMIT_BREACHES)
        #: Market metrics per underlying (a metrics listener keeps them: streaming/risk/).
        self.metrics: dict[str, Metrics] = {}

    def set_alert_triggers(self, payloads: list[AlertPayload]) -> None:
        """The recent triggers as stored (newest first), when the stream starts."""
        self.alert_triggers = deque(payloads[:MAX_ALERT_TRIGGERS], maxlen=MAX_ALERT_TRIGGERS)

    def set_limit_breaches(self, payloads: list[LimitPayload]) -> None:
        """The recent limit breaches as stored (newest first), when the stream starts."""
        self.limit_breaches = deque(payloads[:MAX_LIMIT_BREACHES], maxlen=MAX_LIMIT_BREACHES)

    @property
    def simulated(self) -> bool:
        return any(info.simulated for info in self.links.values())

    @property
    def position(self) -> Position:
        return Position(self.epoch, self.seq)

    def continue_from(self, head: Position) -> None:
        """Continue the numbering of the stream's event log."""
        self.epoch, self.seq = head.epoch, head.seq

    # -- account events ----------------------------------------------------------------------
    def apply_account_event(
        self, kind: str, link_id: int, account: str, payload: Any, *, now_ms: int
    ) -> dict[str, Any]:
        """Apply one account event and number it: the frame every tab applies next."""
        if kind not in ACCOUNT_FRAMES:
            raise ValueError(f"unknown account event kind {kind!r}")
        if kind in ("alert", "limit"):  # the user's, not a link's: account "" and link 0
            kept = self.alert_triggers if kind == "alert" else self.limit_breaches
            if not any(p["id"] == payload["id"] for p in kept):  # a new owner may resend one
                kept.appendleft(payload)
            self.seq += 1
            return {
                "type": kind,
                "epoch": self.epoch,
                "seq": self.seq,
                "account": "",
                "link": 0,
                kind: payload,
                "t": now_ms,
                "simulated": self.simulated,
            }
        link = self.links[link_id]
        state = self.accounts.setdefault(account, AccountState(account, link))
        if kind == "balance":
            state.balance = payload
        elif kind == "positions":
            state.positions = {p["symbol"]: p for p in payload}
        elif kind == "position":
            if payload.get("quantity") in (0, None):
                state.positions.pop(payload["symbol"], None)
            else:
                state.positions[payload["symbol"]] = payload
        else:
            # one status vocabulary for every broker (the browser knows which are final)
            received: Order = payload
            order: Order = {**received, "status": order_status(received.get("status"))}
            payload = order
            key = (link_id, order["id"])
            self.orders[key] = {**order, "link": link_id, "account": account}
            self.orders.move_to_end(key)
            while len(self.orders) > MAX_ORDERS:
                self.orders.popitem(last=False)
        self.seq += 1
        return {
            "type": kind,
            "epoch": self.epoch,
            "seq": self.seq,
            "account": account,
            "link": link_id,
            kind: payload,  # the body is named for the frame type
            "t": now_ms,
            "simulated": link.simulated,
        }

    # -- live values ---------------------------------------------------------------------------
    def set_watchlist(self, symbols: list[str], version: int) -> bool:
        """A newer watchlist replaces ours (versions only grow); False if not newer."""
        if version <= self.watchlist_version:
            return False
        self.watchlist, self.watchlist_version = list(symbols), version
        return True

    def position_symbols(self) -> set[str]:
        """Every position's streamer symbol: positions always stream."""
        return {
            p["streamer_symbol"]
            for account in self.accounts.values()
            for p in account.positions.values()
            if p.get("streamer_symbol")
        }

    def instrument_book(self) -> InstrumentBook:
        """Every instrument the accounts hold, by every spelling (the broker's facts kept):
        what an order, a chart or an alert resolves its symbol through."""
        return InstrumentBook(
            (account.link.broker, p)
            for account in self.accounts.values()
            for p in account.positions.values()
        )

    def live_values(
        self, wanted: set[str]
    ) -> tuple[dict[str, QuoteFields], dict[str, GreeksFields]]:
        """The last quotes and greeks of the wanted symbols."""
        quotes = {s: q for s, q in self.quotes.items() if s in wanted}
        greeks = {s: g for s, g in self.greeks.items() if s in wanted}
        return quotes, greeks

    def set_metrics(self, metrics: dict[str, Metrics]) -> bool:
        """Newer metrics replace ours per underlying; False if none changed."""
        changed = {u: m for u, m in metrics.items() if self.metrics.get(u) != m}
        self.metrics.update(changed)
        return bool(changed)

    # -- reading -------------------------------------------------------------------------------
    def portfolio(self) -> dict[str, Any]:
        """Every account with every last quote, greek and metric, in a snapshot's shape:
        what the features computing portfolio numbers read (totals, risk, limits, P&L)."""
        return {
            "accounts": [a.as_dict() for a in self.accounts_in_link_order()],
            "quotes": self.quotes,
            "greeks": self.greeks,
            "metrics": self.metrics,
        }

    def snapshot(self, wanted: set[str], *, now_ms: int) -> SnapshotFrame:
        """The contract's `snapshot` of everything, with quotes for `wanted`."""
        quotes, greeks = self.live_values(wanted)
        return {
            "type": "snapshot",
            "epoch": self.epoch,
            "seq": self.seq,
            "simulated": self.simulated,
            "accounts": [a.as_dict() for a in self.accounts_in_link_order()],
            "quotes": quotes,
            "greeks": greeks,
            "orders": bounded(self.orders.values(), recent=self.recent_orders()),
            "links": list(self.link_status.values()),
            "watchlist": {"symbols": self.watchlist, "version": self.watchlist_version},
            "subscriptions": sorted(wanted),
            "alerts": list(self.alerts),
            "alert_triggers": list(self.alert_triggers),
            "limit_breaches": list(self.limit_breaches),
            "metrics": dict(self.metrics),
            "t": now_ms,
        }

    def recent_orders(self) -> list[ListedOrder]:
        """The orders changed last (`orders` is kept in the order of their changes)."""
        return list(self.orders.values())[-RECENT_CHANGES_KEPT:]

    def accounts_in_link_order(self) -> list[AccountState]:
        """Accounts grouped by link, links in the order they were made (stable pages)."""
        rank = {link_id: i for i, link_id in enumerate(self.links)}
        return sorted(self.accounts.values(), key=lambda a: (rank.get(a.link.id, 0), a.number))
