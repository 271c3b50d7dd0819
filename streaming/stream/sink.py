"""What one link's adapter reports into (the `AdapterSink` of streaming/brokers/base.py).

Per-tick market data goes straight to the quote feed, told which link it came from (the
preferred link's standby probe is not the user's quotes); account events, statuses and
the lease gate go to the stream manager, each position and order named by its instrument
on the way (its contract symbol, display name and underlying: instruments/naming.py), so
everything downstream reads one name per instrument.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

from streaming.brokers.base import AccountKind, AccountPayload
from streaming.brokers.orders.shape import Order
from streaming.brokers.payloads import GreeksFields, Position, QuoteFields
from streaming.instruments.naming import name_order, name_position
from streaming.stream.quote_feed import QuoteFeed
from streaming.stream.recording import UserRecording


class AccountSink(Protocol):
    """The manager's side of an adapter's reports."""

    async def account_event(
        self, kind: AccountKind, link_id: int, account: str, payload: AccountPayload
    ) -> None: ...

    async def status(
        self, link_id: int, state: str, reason: str = "", *, kind: str = "all", **extra: Any
    ) -> None: ...

    async def authorized(self) -> bool: ...


class LinkSink:
    """One link's reports: its ticks to the quote feed, the rest to the manager; each also
    to the user's recording, when the stream records (stream/recording.py), as reported."""

    __slots__ = ("_feed", "_manager", "_recording", "broker", "link_id")

    def __init__(
        self,
        manager: AccountSink,
        feed: QuoteFeed,
        link_id: int,
        broker: str,
        recording: UserRecording | None = None,
    ) -> None:
        self._manager = manager
        self._feed = feed
        self.link_id = link_id
        self.broker = broker
        self._recording = recording

    def quote(self, symbol: str, fields: QuoteFields) -> None:
        if self._recording is not None:
            self._recording.market("quote", self.link_id, symbol, fields)
        self._feed.quote_from(self.link_id, symbol, fields)

    def greeks(self, symbol: str, fields: GreeksFields) -> None:
        if self._recording is not None:
            self._recording.market("greeks", self.link_id, symbol, fields)
        self._feed.greeks_from(self.link_id, symbol, fields)

    async def account_event(
        self, kind: AccountKind, link_id: int, account: str, payload: AccountPayload
    ) -> None:
        named = self._named(kind, payload)
        if self._recording is not None:
            self._recording.account(kind, link_id, account, named)
        await self._manager.account_event(kind, link_id, account, named)

    def _named(self, kind: AccountKind, payload: AccountPayload) -> AccountPayload:
        if kind == "position" and isinstance(payload, dict):
            return cast(Position, name_position(payload, self.broker))
        if kind == "positions" and isinstance(payload, list):
            return [cast(Position, name_position(p, self.broker)) for p in payload]
        if kind == "order" and isinstance(payload, dict):
            return cast(Order, name_order(payload, self.broker))
        return payload

    async def status(
        self, link_id: int, state: str, reason: str = "", *, kind: str = "all", **extra: Any
    ) -> None:
        if self._recording is not None:
            self._recording.status(link_id, state, reason, kind, extra)
        await self._manager.status(link_id, state, reason, kind=kind, **extra)

    def fresh(self, link_id: int, kind: str) -> None:
        if self._recording is not None:
            self._recording.fresh(link_id, kind)
        self._feed.fresh(link_id, kind)

    async def authorized(self) -> bool:
        return await self._manager.authorized()
