"""DXLink COMPACT rows straight into the contract's quote fields, without a pydantic model
per event (issue 15: the models were ~26 µs of a ~32 µs event; docs/performance.md).

The SDK stays in charge of the DXLink session (connect, auth, channels, subscriptions,
keepalive, its queues). Its one hook for the data is `DXLinkStreamer._map_message(data,
channel)`, a private method called for every FEED_DATA message: `CompactDXLinkStreamer`
overrides it for Quote, Trade, Summary and Greeks in the COMPACT format and queues a
`Row` (the event's symbol and its contract fields) where the SDK queued a model. Each row
is decoded exactly as the model path would (field order: the model's fields, which is
what the SDK asked DXLink for and reads itself); a row with anything unusual (a `"NaN"`
where a number is required, a string, a bool) goes through the SDK's own model and
`tastytrade_wire`, so the values are identical either way (tests/streaming/
test_tastytrade_compact.py). Candles, the FULL format and anything unknown go to the SDK.

The same hook puts every Quote, Trade, Summary, Greeks and Candle event on ONE queue
(`CompactDXLinkStreamer.events`) in the order DXLink sent them, where the SDK keeps a queue
per type: the adapter reads it with one task instead of a pump per type (issue 15: an idle
user's tasks and their anyio machinery were ~100 KiB of ~330), and a tick's Quote, Trade
and Summary (separate DXLink messages) reach the manager in DXLink's order.

The hook is private, so it is checked when this module loads (`supported()`): if a
future SDK changes it, the adapter uses the plain `DXLinkStreamer`, the models and a
pump per type again.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from pydantic import ValidationError
from tastytrade import AlertStreamer, DXLinkStreamer
from tastytrade.dxfeed import Candle, Greeks, Quote, Summary, Trade
from tastytrade.dxfeed.event import NAN_VALUES, Event

from streaming.brokers import tastytrade_wire as wire

Fields = dict[str, Any]


class Row(NamedTuple):
    """One decoded event: what `latest_events` and the pumps need of it."""

    event_symbol: str
    fields: Fields
    #: The SDK's event type name ("Quote", "Trade", "Summary", "Greeks"): one queue
    #: carries all four.
    kind: str = ""


def _number(value: Any) -> float | int:
    """A finite JSON number as `values.num` makes it from the SDK's Decimal: an int when
    whole (and exact in a double), else the float itself."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _plain(value: Any) -> bool:
    """A finite int or float (not a bool): the fast path's only kind of number."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


class _Decoder:
    """Rows of one event type: `fast` builds the fields from a clean row (or returns None
    to take the model path for that row)."""

    def __init__(
        self,
        cls: type[Event],
        to_fields: Callable[[Any], Fields],
        fast: Callable[[list[Any]], Fields | None],
    ) -> None:
        self.cls = cls
        self.keys = list(cls.model_fields)
        self.size = len(self.keys)
        self.to_fields = to_fields
        self.fast = fast
        self.kind = cls.__name__
        self.symbol = self.keys.index("event_symbol")

    def index(self, name: str) -> int:
        return self.keys.index(name)

    def rows(self, data: list[Any]) -> list[Row] | None:
        """Every event of a COMPACT payload, or None when its length is not a multiple
        of the row size (the SDK then raises, as it always did)."""
        size = self.size
        if not size or len(data) % size:
            return None
        out: list[Row] = []
        symbol_at = self.symbol
        kind = self.kind
        for offset in range(0, len(data), size):
            row = data[offset : offset + size]
            symbol = row[symbol_at]
            clean = isinstance(symbol, str) and symbol not in NAN_VALUES
            fields = self.fast(row) if clean else None
            if fields is not None:
                out.append(Row(symbol, fields, kind))
                continue
            try:  # the SDK's own way: NaN handling, coercion, skipping what fails
                event = self.cls.model_validate(dict(zip(self.keys, row, strict=True)))
            except ValidationError:
                continue
            out.append(Row(event.event_symbol, self.to_fields(event), kind))
        return out


def _quote_decoder() -> _Decoder:
    d = _Decoder(Quote, wire.quote_fields, lambda row: None)
    bid, ask = d.index("bid_price"), d.index("ask_price")
    bid_size, ask_size = d.index("bid_size"), d.index("ask_size")
    bid_t, ask_t = d.index("bid_time"), d.index("ask_time")
    ints = [
        d.index(k) for k in ("event_time", "sequence", "time_nano_part", "bid_time", "ask_time")
    ]
    strs = [d.index(k) for k in ("bid_exchange_code", "ask_exchange_code")]

    def fast(row: list[Any]) -> Fields | None:
        if not (_plain(row[bid]) and _plain(row[ask])):
            return None
        if not all(type(row[i]) is int for i in ints):
            return None
        if not all(isinstance(row[i], str) and row[i] not in NAN_VALUES for i in strs):
            return None
        sizes = []
        for i in (bid_size, ask_size):
            v = row[i]
            if isinstance(v, str) and v in NAN_VALUES:
                sizes.append(0)  # the model's default (Decimal 0)
            elif _plain(v):
                sizes.append(_number(v))
            else:
                return None
        fields: Fields = {
            "bid": _number(row[bid]),
            "ask": _number(row[ask]),
            "bid_size": sizes[0],
            "ask_size": sizes[1],
        }
        t = max(row[bid_t], row[ask_t])
        if t > 0:
            fields["t"] = t
        return fields

    d.fast = fast
    return d


def _optional(value: Any) -> tuple[bool, Any]:
    """An optional number: (ok, value); NaN and null are None, as the model has it."""
    if value is None or (isinstance(value, str) and value in NAN_VALUES):
        return True, None
    if _plain(value):
        return True, _number(value)
    return False, None


def _checked(
    row: list[Any], ints: list[int], strs: list[int], required: list[int], bools: list[int] = ()
) -> bool:
    return (
        all(type(row[i]) is int for i in ints)
        and all(isinstance(row[i], str) and row[i] not in NAN_VALUES for i in strs)
        and all(_plain(row[i]) for i in required)
        and all(type(row[i]) is bool for i in bools)
    )


def _trade_decoder() -> _Decoder:
    d = _Decoder(Trade, wire.trade_fields, lambda row: None)
    ix = d.index
    ints = [ix(k) for k in ("event_time", "time", "time_nano_part", "sequence", "day_id")]
    strs = [ix("exchange_code"), ix("tick_direction")]
    price, change, size, volume, turnover = (
        ix(k) for k in ("price", "change", "size", "day_volume", "day_turnover")
    )
    at = ix("time")
    bools = [ix("extended_trading_hours")]

    def fast(row: list[Any]) -> Fields | None:
        if not _checked(row, ints, strs, [price], bools):
            return None
        out = []
        for i in (change, volume, turnover):
            ok, value = _optional(row[i])
            if not ok:
                return None
            out.append(value)
        v = row[size]  # `int | None`: a whole number, or none
        if not (v is None or type(v) is int or (isinstance(v, str) and v in NAN_VALUES)):
            return None
        fields: Fields = {"last": _number(row[price]), "change": out[0], "volume": out[1]}
        if row[at] > 0:
            fields["t"] = row[at]
        return fields

    d.fast = fast
    return d


def _summary_decoder() -> _Decoder:
    d = _Decoder(Summary, wire.summary_fields, lambda row: None)
    ix = d.index
    ints = [ix(k) for k in ("event_time", "day_id", "prev_day_id", "open_interest")]
    strs = [ix("day_close_price_type"), ix("prev_day_close_price_type")]
    optional = [
        ix(k)
        for k in (
            "day_open_price",
            "day_high_price",
            "day_low_price",
            "day_close_price",
            "prev_day_close_price",
            "prev_day_volume",
        )
    ]
    high, low, prev = ix("day_high_price"), ix("day_low_price"), ix("prev_day_close_price")

    def fast(row: list[Any]) -> Fields | None:
        if not _checked(row, ints, strs, []):
            return None
        values = {}
        for i in optional:
            ok, value = _optional(row[i])
            if not ok:
                return None
            values[i] = value
        return {"day_high": values[high], "day_low": values[low], "prev_close": values[prev]}

    d.fast = fast
    return d


def _greeks_decoder() -> _Decoder:
    d = _Decoder(Greeks, wire.greeks_fields, lambda row: None)
    ix = d.index
    ints = [ix(k) for k in ("event_time", "event_flags", "index", "time", "sequence")]
    names = ("price", "volatility", "delta", "gamma", "theta", "vega", "rho")
    required = [ix(k) for k in names]
    at = ix("time")
    price, iv, delta, gamma, theta, vega, rho = required

    def fast(row: list[Any]) -> Fields | None:
        if not _checked(row, ints, [], required):
            return None
        fields: Fields = {"t": row[at]} if row[at] > 0 else {}
        fields.update(
            price=_number(row[price]),
            iv=_number(row[iv]),
            delta=_number(row[delta]),
            gamma=_number(row[gamma]),
            theta=_number(row[theta]),
            vega=_number(row[vega]),
            rho=_number(row[rho]),
        )
        return fields

    d.fast = fast
    return d


#: By the SDK's event type name (its channel key).
DECODERS: dict[str, _Decoder] = {
    "Quote": _quote_decoder(),
    "Trade": _trade_decoder(),
    "Summary": _summary_decoder(),
    "Greeks": _greeks_decoder(),
}


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
        for stream in (*probe._send.values(), *probe._recv.values()):
            stream.close()


class EventQueue:
    """A FIFO of market events that one task waits on: a deque and, while that task
    waits, one future (smaller than an anyio memory stream or an asyncio.Queue, and the
    producer is synchronous: the SDK's reader calling `_map_message`)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, within: float) -> bool:
        """Until something is queued (True) or `within` seconds passed (False)."""
        if self._items:
            return True
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(within):
                await waiter
        except TimeoutError:
            return bool(self._items)
        finally:
            self._waiter = None
        return True

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
        if cls is None:
            super()._map_message(message, channel)  # a type nobody here reads
            return
        decoder = DECODERS.get(kind)  # type: ignore[arg-type]
        rows = None
        if decoder is not None and len(message) >= 2 and isinstance(message[1], list):
            rows = decoder.rows(message[1])
        if rows is None:  # FULL format, candles, a payload that is not whole rows
            self._through_the_sdk(message, channel, kind, cls, decoder)  # type: ignore[arg-type]
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


def fields_of(event: Any, to_fields: Callable[[Any], Fields]) -> Fields:
    """A queued event's contract fields: a decoded `Row`'s, or the model's."""
    if type(event) is Row:
        return event.fields
    return to_fields(event)


#: The account streamer's message types read through its one queue, and their models.
ACCOUNT_TYPES = ("AccountBalance", "CurrentPosition", "Order")


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
    """The SDK's account streamer, queueing balances, positions and orders (the SDK's
    models, built as it builds them) as `(type, model)` on one queue (`events`) in the
    order the streamer sent them, where the SDK keeps a queue per type (`listen`): one
    task reads them, and a fill's order, position and balance reach the sink in order."""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.events = EventQueue()

    async def _map_message(self, type_str: str, data: dict[str, Any]) -> None:
        if type_str not in ACCOUNT_TYPES:
            await super()._map_message(type_str, data)
            return
        from tastytrade.streamer import MAP_ALERTS

        self.events.put((type_str, MAP_ALERTS[type_str](**data)))


#: What the adapter opens the account streamer with.
ALERT_STREAMER: type[AlertStreamer] = QueuedAlertStreamer if alerts_supported() else AlertStreamer
