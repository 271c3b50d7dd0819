"""From what a broker holds, and from what a trader or a script types, to one instrument.

A position says what it is in the broker's words (its symbol, `instrument_type`, feed
symbol, multiplier): `from_position` keeps every fact it states, so that Alpaca's
`BTCUSD` is the coin it holds (never a look-alike ticker) and an /ES option is worth the
future's point value. A user's `InstrumentBook` answers any spelling of anything they
hold (the broker's symbol, the feed's, the underlying's); any other symbol is read by its
spelling alone (`instrument.parse`). Pure, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from streaming.instruments.instrument import Instrument, coin_instrument, parse
from streaming.instruments.kinds import Kind, kind_of
from streaming.instruments.symbols import CRYPTO_USD_RE

MAX_SYMBOL_LENGTH = 32


def clean(raw: object) -> str | None:
    """A symbol as typed, trimmed and upper-cased; None when it cannot be one (not text,
    empty, too long, or not ASCII: `.upper()` would turn `ß` into `SS`)."""
    if not isinstance(raw, str) or not 0 < len(raw) <= MAX_SYMBOL_LENGTH or not raw.isascii():
        return None
    text = raw.strip().upper()
    return text or None


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number > 0 else None


def from_position(position: Mapping[str, Any], broker: str = "") -> Instrument | None:
    """The instrument a position (or an order's leg) holds, from the broker's own facts;
    None for a kind the app does not act on (a bond, a warrant) or a symbol it cannot read."""
    kind = kind_of(position.get("instrument_type"))
    symbol = str(position.get("symbol") or "")
    feed = str(position.get("streamer_symbol") or "")
    if kind is None or not symbol:
        return None
    if kind is Kind.CRYPTO:
        match = CRYPTO_USD_RE.match(symbol.removesuffix(":CXTALP"))
        base = coin_instrument(match[1]) if match else None
    elif kind is Kind.FUTURE_OPTION:
        # the REST symbol names the future (and a weekly's own expiration): read it first
        base = parse(clean(symbol) or "") or parse(feed)
    else:
        base = parse(feed) or parse(clean(symbol) or "")
    if base is None or base.kind is not kind:
        return None
    facts: dict[str, Any] = {}
    if feed and feed != base.symbol and kind in (Kind.FUTURE, Kind.FUTURE_OPTION):
        facts["symbol"] = feed  # the broker's feed symbol is the truth
        if kind is Kind.FUTURE:
            facts["underlying"] = feed
    underlying = str(position.get("underlying") or "")
    if kind is Kind.FUTURE_OPTION and ":" in underlying:
        facts["underlying"] = underlying  # the future's feed symbol, as the broker said it
    multiplier = _decimal(position.get("multiplier"))
    if multiplier is not None:
        facts["multiplier"] = multiplier
    if broker and kind is not Kind.CRYPTO:  # a coin's order symbol is the pair, by rule
        facts["spelled"] = {**base.spelled, broker: symbol}
    return dataclasses.replace(base, **facts) if facts else base


class InstrumentBook:
    """Every spelling of every instrument a user holds → the instrument (and any other
    symbol by its spelling): what the ticket, risk, charts and alerts resolve through."""

    def __init__(self, holdings: Iterable[tuple[str, Mapping[str, Any]]] = ()) -> None:
        self._by_spelling: dict[str, Instrument] = {}
        self._by_symbol: dict[str, Instrument] = {}
        for broker, position in holdings:
            self.add(from_position(position, broker), position)

    def add(self, instrument: Instrument | None, position: Mapping[str, Any]) -> None:
        if instrument is None:
            return
        self._by_symbol.setdefault(instrument.symbol, instrument)
        for spelling in (
            instrument.symbol,
            position.get("symbol"),
            position.get("streamer_symbol"),
        ):
            text = clean(spelling)
            if text:
                self._by_spelling.setdefault(text, instrument)
        for spelling in instrument.spelled.values():
            text = clean(spelling)
            if text:
                self._by_spelling.setdefault(text, instrument)

    def resolve(self, raw: object) -> Instrument | None:
        """The instrument a spelling names: a held one first (`BTCUSD` held at Alpaca is
        the coin), else by its spelling; None: not a symbol."""
        text = clean(raw)
        if text is None:
            return None
        held = self._by_spelling.get(text)
        if held is not None:
            return held
        parsed = parse(text)
        if parsed is None:
            return None
        return self._by_symbol.get(parsed.symbol, parsed)


def book_of(accounts: Iterable[Mapping[str, Any]]) -> InstrumentBook:
    """The book of a snapshot's accounts (each `{broker, positions}`)."""
    return InstrumentBook(
        (str(account.get("broker") or ""), position)
        for account in accounts
        for position in (account.get("positions") or [])
        if isinstance(position, Mapping)
    )
