"""DXLink COMPACT rows straight into the contract's quote fields, without a pydantic model
per event (docs/performance.md, "Why the hot path looks as it does").

`CompactDXLinkStreamer` (tastytrade/streamers.py) queues a `Row` (the event's symbol and
its contract fields) where the SDK queued a model, for Quote, Trade, Summary and Greeks in
the COMPACT format. Each row is decoded exactly as the model path would (field order: the
model's fields, which is what the SDK asked DXLink for and reads itself); a row with
anything unusual (a `"NaN"` where a number is required, a string, a bool) goes through the
SDK's own model and `wire.py`, so the values are identical either way
(tests/streaming/test_tastytrade_compact.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar, cast

from pydantic import ValidationError
from tastytrade.dxfeed import Greeks, Quote, Summary, Trade
from tastytrade.dxfeed.event import NAN_VALUES, Event

from streaming.brokers.payloads import GreeksFields, QuoteFields
from streaming.brokers.tastytrade import wire

#: A row's fields: a Quote's, Trade's or Summary's quote fields, or a Greeks' greeks.
Fields = QuoteFields | GreeksFields
F = TypeVar("F", QuoteFields, GreeksFields)


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

    def fast(row: list[Any]) -> QuoteFields | None:
        if not (_plain(row[bid]) and _plain(row[ask])):
            return None
        if not all(type(row[i]) is int for i in ints):
            return None
        if not all(isinstance(row[i], str) and row[i] not in NAN_VALUES for i in strs):
            return None
        sizes: list[float | int] = []
        for i in (bid_size, ask_size):
            v = row[i]
            if isinstance(v, str) and v in NAN_VALUES:
                sizes.append(0)  # the model's default (Decimal 0)
            elif _plain(v):
                sizes.append(_number(v))
            else:
                return None
        fields: QuoteFields = {
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
    row: list[Any], ints: list[int], strs: list[int], required: list[int], bools: Sequence[int] = ()
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

    def fast(row: list[Any]) -> QuoteFields | None:
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
        fields: QuoteFields = {"last": _number(row[price]), "change": out[0], "volume": out[1]}
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

    def fast(row: list[Any]) -> QuoteFields | None:
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

    def fast(row: list[Any]) -> GreeksFields | None:
        if not _checked(row, ints, [], required):
            return None
        fields: GreeksFields = {"t": row[at]} if row[at] > 0 else {}
        fields.update(  # a dict, not keywords: mypy checks a TypedDict's update by its keys
            {
                "price": _number(row[price]),
                "iv": _number(row[iv]),
                "delta": _number(row[delta]),
                "gamma": _number(row[gamma]),
                "theta": _number(row[theta]),
                "vega": _number(row[vega]),
                "rho": _number(row[rho]),
            }
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


def fields_of(event: Any, to_fields: Callable[[Any], F]) -> F:
    """A queued event's contract fields: a decoded `Row`'s, or the model's."""
    if type(event) is Row:
        # a queue of one event type holds rows of its decoder's, built as `to_fields` builds them
        return cast(F, event.fields)
    return to_fields(event)
