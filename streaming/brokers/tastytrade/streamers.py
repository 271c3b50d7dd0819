"""The SDK's streamers with one queue each, so one task reads a link's market data and one
its account data (issue 15: an idle user's tasks and their anyio machinery were ~100 KiB
of ~330), in the order the broker sent them.

The SDK stays in charge of the DXLink session (connect, auth, channels, subscriptions,
keepalive). Its one hook for the data is `DXLinkStreamer._map_message(data, channel)`, a
private method called for every FEED_DATA message: `CompactDXLinkStreamer` overrides it
and puts every Quote, Trade, Summary, Greeks (as compact `Row`s, tastytrade/compact.py)
and Candle event on ONE queue, where the SDK keeps a queue per type; a tick's Quote, Trade
and Summary (separate DXLink messages) reach the manager in DXLink's order. Candles, the
FULL format and anything unknown are parsed by the SDK. `QueuedAlertStreamer` does the
same for the account streamer's balances, positions, orders and complex orders.

The hooks are private, so they are checked when this module loads (`supported()`,
`alerts_supported()`): if a future SDK changes them, the adapter uses the plain
streamers, the models and a pump per type again.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import ValidationError
from tastytrade import AlertStreamer, DXLinkStreamer
from tastytrade.dxfeed import Candle, Greeks, Quote, Summary, Trade
from tastytrade.dxfeed.event import Event

from streaming.brokers.tastytrade.compact import DECODERS, Row
from streaming.instruments.symbols import is_option

log = logging.getLogger(__name__)


def supported() -> bool:
    """Whether the SDK still has the private hook as this module knows it."""
    method = getattr(DXLinkStreamer, "_map_message", None)
    if method is None:
        return False
    try:
        params = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        return False
    slots = getattr(DXLinkStreamer, "__slots__", ())
    if params != ["self", "message", "channel"] or not {
        "_send",
        "_recv",
        "_channels_reversed",
    } <= set(slots):
        return False
    try:  # no I/O: the SDK's per-type queues and channels, as `CompactDXLinkStreamer` uses them
        # a probe never connects: the SDK's signature wants a Session it would only use then
        probe = DXLinkStreamer(None)  # type: ignore[arg-type]
    except Exception:
        return False
    try:
        return (
            set(QUEUED) <= probe._send.keys()
            and set(QUEUED.values()) <= probe._recv.keys()
            and set(QUEUED) <= set(probe._channels_reversed.values())
        )
    finally:
        for send in probe._send.values():
            send.close()
        for receive in probe._recv.values():
            receive.close()


class EventQueue:
    """A FIFO of market events that one task waits on: a deque and, while that task
    waits, one future (smaller than an anyio memory stream or an asyncio.Queue, and the
    producer is synchronous: the SDK's reader calling `_map_message`).

    A wait's bound (the pump's watchdog looks at least that often) is one timer per
    period, not per wait: under load the pump waits once per DXLink message, and a timer
    armed and cancelled each time cost 3-4 % of a daphne's CPU (docs/performance.md,
    "Where a daphne's CPU goes"). A timer armed for an earlier wait may end a later one
    sooner, with nothing queued: the pump looks at its watchdog and waits again."""

    __slots__ = ("_expiry", "_expiry_at", "_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._expiry_at = 0.0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, within: float) -> bool:
        """Until something is queued (True) or, at the latest, `within` seconds passed
        with nothing queued (False)."""
        if self._items:
            return True
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        deadline = loop.time() + within
        if self._expiry is None or self._expiry_at > deadline:
            if self._expiry is not None:
                self._expiry.cancel()
            self._expiry_at = deadline
            self._expiry = loop.call_at(deadline, self._expire)
        try:
            await waiter
        finally:
            self._waiter = None
        return bool(self._items)

    def _expire(self) -> None:
        self._expiry = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self, limit: int) -> list[Any]:
        """Up to `limit` queued items, oldest first."""
        items = self._items
        if len(items) <= limit:
            out = list(items)
            items.clear()
            return out
        return [items.popleft() for _ in range(limit)]


#: The SDK's event types that go on the one queue.
QUEUED: dict[str, type[Event]] = {
    "Quote": Quote,
    "Trade": Trade,
    "Summary": Summary,
    "Greeks": Greeks,
    "Candle": Candle,
}


class CompactDXLinkStreamer(DXLinkStreamer):
    """The SDK's DXLink streamer, queueing `Row`s instead of models for the four quote
    types, and those and Candle models on one queue (`events`) in DXLink's order. Other
    types stay in the SDK's own queues (`get_event`)."""

    __slots__ = ("events",)

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.events = EventQueue()
        # The SDK's own queues of the types that go on `events` would never be used:
        # closed and dropped (~7 KiB per DXLink at rest; `get_event` of these types is
        # not for this streamer). The other types keep theirs.
        for kind, cls in QUEUED.items():
            self._send.pop(kind).close()
            self._recv.pop(cls).close()

    def _map_message(self, message: list[Any], channel: int) -> None:
        kind = self._channels_reversed.get(channel)
        cls = QUEUED.get(kind) if kind is not None else None
        if kind is None or cls is None:
            super()._map_message(message, channel)  # a type nobody here reads
            return
        decoder = DECODERS.get(kind)
        rows = None
        if decoder is not None and len(message) >= 2 and isinstance(message[1], list):
            rows = decoder.rows(message[1])
        if rows is None:  # FULL format, candles, a payload that is not whole rows
            self._through_the_sdk(message, channel, kind, cls, decoder)
            return
        put = self.events.put
        for row in rows:
            put(row)

    def _through_the_sdk(
        self, message: list[Any], channel: int, kind: str, cls: type[Event], decoder: Any
    ) -> None:
        """The SDK's own parsing (`sdk_events`: it raises where the SDK always did), its
        models on the one queue in their order."""
        put = self.events.put
        for event in sdk_events(cls, message):
            if decoder is not None:
                put(Row(event.event_symbol, decoder.to_fields(event), kind))
            else:
                put(event)


def sdk_events(cls: type[Event], message: list[Any]) -> list[Event]:
    """A FEED_DATA payload parsed as `DXLinkStreamer._map_message` parses it: the FULL
    format a model per dict (skipping what fails validation), COMPACT `from_stream`
    (which skips what fails, and raises on a payload that is not whole rows)."""
    if message and isinstance(message[0], dict):
        out: list[Event] = []
        for event_dict in message:
            try:
                out.append(cls.model_validate(event_dict))
            except ValidationError:
                continue
        return out
    return cls.from_stream(message[1])


#: What the adapter opens DXLink with.
STREAMER: type[DXLinkStreamer] = CompactDXLinkStreamer if supported() else DXLinkStreamer

#: The account streamer's message types read through its one queue, and their models
#: (a `ComplexOrder` carries its member orders: the SDK's `PlacedComplexOrder`).
ACCOUNT_TYPES = ("AccountBalance", "CurrentPosition", "Order", "ComplexOrder")
#: What an order message the SDK cannot read is queued as (its JSON, as it came).
RAW_ORDER_TYPES = {"Order": "RawOrder", "ComplexOrder": "RawComplexOrder"}


def alerts_supported() -> bool:
    """Whether the SDK's AlertStreamer still has the private hook as known here: the
    reader awaits `_map_message(type_str, data)` for every typed message."""
    method = getattr(AlertStreamer, "_map_message", None)
    if method is None or not inspect.iscoroutinefunction(method):
        return False
    try:
        params = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        return False
    from tastytrade.streamer import MAP_ALERTS

    return params == ["self", "type_str", "data"] and all(t in MAP_ALERTS for t in ACCOUNT_TYPES)


class QueuedAlertStreamer(AlertStreamer):
    """The SDK's account streamer, queueing balances, positions, orders and complex
    orders (the SDK's models, built as it builds them) as `(type, model)` on one queue
    (`events`) in the order the streamer sent them, where the SDK keeps a queue per type
    (`listen`): one task reads them, and a fill's order, position and balance reach the
    sink in order."""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.events = EventQueue()
        #: Balance and position messages the SDK could not read (skipped: the next
        #: reconcile reads them again over REST).
        self.unreadable = 0

    async def _map_message(self, type_str: str, data: dict[str, Any]) -> None:
        if type_str not in ACCOUNT_TYPES:
            await super()._map_message(type_str, data)
            return
        from tastytrade.streamer import MAP_ALERTS

        try:
            self.events.put((type_str, MAP_ALERTS[type_str](**data)))
        except ValidationError as exc:
            # a value the SDK's models lack (a new status, the OpenAPI's BLAST) must not
            # end the account stream: an order is queued as it came (the adapter reads
            # it field by field, wire.order_from_json), anything else skipped
            if type_str in RAW_ORDER_TYPES:
                self.events.put((RAW_ORDER_TYPES[type_str], data))
            else:
                self.unreadable += 1
                log.warning("tastytrade %s message the SDK cannot read, skipped: %s", type_str, exc)


#: What the adapter opens the account streamer with.
ALERT_STREAMER: type[AlertStreamer] = QueuedAlertStreamer if alerts_supported() else AlertStreamer


E = TypeVar("E", bound=Event)
#: How many queued events of one kind are taken (and collapsed) at once.
DRAIN_BATCH = 1000


async def latest_events(dx: DXLinkStreamer, cls: type[E]) -> list[E]:
    """The next events of one kind, only the newest per symbol. Each DXLink event is a
    whole record (every field of its kind), so a newer one replaces an older one: when
    this process falls behind the feed, the SDK's (unbounded) queue is drained in
    batches whose work is bounded by the symbols, not by the lag; memory and quote age
    stay bounded (quotes are latest-wins, docs/streaming-contract.md)."""
    first = await dx.get_event(cls)
    newest: dict[str, E] = {first.event_symbol: first}
    for _ in range(DRAIN_BATCH):
        event = dx.get_event_nowait(cls)
        if event is None:
            break
        newest.pop(event.event_symbol, None)  # in the order of their newest updates
        newest[event.event_symbol] = event
    return list(newest.values())


def latest_rows(items: list[Row | Event]) -> list[Row | Event]:
    """The newest event of each type per symbol, in the order of those newest events
    (each DXLink event is a whole record of its type: latest-wins, as `latest_events`);
    candles are kept, every one in order (a snapshot is many events of one symbol)."""
    newest: dict[tuple[str, str], Row | Event] = {}
    candles = 0
    for item in items:
        if type(item) is Row:
            key = (item.kind, item.event_symbol)
            newest.pop(key, None)
        else:
            key = ("", str(candles))
            candles += 1
        newest[key] = item
    return list(newest.values())


async def update_subscriptions(dx: DXLinkStreamer, added: list[str], removed: list[str]) -> None:
    """Subscribe `added` and unsubscribe `removed` symbols, 500 per request: equities get
    Quote/Trade/Summary, options Quote/Greeks."""
    for chunk in _chunks([s for s in added if not is_option(s)], 500):
        for cls in (Quote, Trade, Summary):
            await dx.subscribe(cls, chunk)
    for chunk in _chunks([s for s in added if is_option(s)], 500):
        for option_cls in (Quote, Greeks):
            await dx.subscribe(option_cls, chunk)
    for chunk in _chunks(removed, 500):
        equities = [s for s in chunk if not is_option(s)]
        options = [s for s in chunk if is_option(s)]
        for cls in (Quote, Trade, Summary):
            if equities:
                await dx.unsubscribe(cls, equities)
        for option_cls in (Quote, Greeks):
            if options:
                await dx.unsubscribe(option_cls, options)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
