"""A snapshot's positions as legs the risk model prices: the underlying itself (stock, a
future, a coin), calls and puts (on an equity or on a future).

Every broker's positions share the contract's shape (docs/streaming-contract.md,
"Objects"): each is read as its instrument (streaming/instruments/resolve.py
`from_position`: an option's root, expiration, right and strike; a future option's
expiration from its REST symbol, else its `expires_at`). The quantity here is signed (the
direction's sign), per contract for options; the cost is the average open price per unit,
as the Open P&L column counts it. IV is the option's own (its greeks), None when not
streamed. A kind the app does not act on (a bond) is no leg.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from streaming.instruments.instrument import Instrument, parse
from streaming.instruments.kinds import Kind as InstrumentKind
from streaming.instruments.kinds import kind_of
from streaming.instruments.resolve import clean, from_position
from streaming.instruments.symbols import EXPIRY_TIME, NEW_YORK
from streaming.portfolio.valuation import is_option_position, number
from streaming.risk.exposure import (
    account_positions,
    multiplier_of,
    quote_key,
    signed_quantity,
    underlying_of,
)
from streaming.risk.names import position_display

Kind = Literal["stock", "call", "put"]
#: What the leg's price follows: an equity (stock, ETF), a future, a coin.
Asset = Literal["equity", "future", "coin"]
ASSETS: dict[InstrumentKind, Asset] = {
    InstrumentKind.EQUITY: "equity",
    InstrumentKind.EQUITY_OPTION: "equity",
    InstrumentKind.FUTURE: "future",
    InstrumentKind.FUTURE_OPTION: "future",
    InstrumentKind.CRYPTO: "coin",
}


@dataclass(frozen=True)
class Leg:
    """One position as the model sees it."""

    account: str
    symbol: str  # the position's symbol as its broker spells it
    underlying: str  # the underlying's contract symbol
    kind: Kind  # "stock": the underlying itself (a share, a future, a coin)
    quantity: float  # signed: contracts for options, units of the underlying otherwise
    multiplier: float  # 100 an equity option, a future's (and its options') point value, else 1
    strike: float | None  # None for the underlying itself
    expiration: dt.date | None  # None for the underlying itself
    expires_at: dt.datetime | None  # 16:00 New York on the expiration date (UTC-aware)
    cost: float | None  # average open price per unit (share or option), None if unknown
    iv: float | None  # the option's implied volatility (fraction), None if unknown
    greeks: dict[str, float | None]  # per share: delta, gamma, theta, vega (as streamed)
    iv_t: float | None = None  # ms: the `t` of the greeks the IV came from (the IV's age)
    display: str = ""  # the position's display name ("/ES Dec 26 6000 C")
    asset: Asset = "equity"  # an option on a future is priced on the future (Black-76)

    @property
    def is_option(self) -> bool:
        return self.kind != "stock"


def _instrument(position: Mapping[str, object]) -> Instrument | None:
    """The position's instrument, from the broker's facts, else from its symbols."""
    found = from_position(position)
    if found is not None:
        return found
    for spelling in (quote_key(position), position.get("symbol")):
        text = clean(spelling)
        parsed = parse(text) if text else None
        if parsed is not None:
            return parsed
    return None


def _expiration(instrument: Instrument, position: Mapping[str, object]) -> dt.date | None:
    """The option's expiration date: its symbol's, else its `expires_at`'s (New York)."""
    if instrument.expires is not None:
        return instrument.expires
    ms = number(position.get("expires_at"))
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).astimezone(NEW_YORK).date()


def leg_from_position(
    account: str, position: Mapping[str, object], greeks: Mapping[str, object]
) -> Leg | None:
    """The leg of one position; None for a kind the app does not act on, an option whose
    strike or expiration cannot be read, or an unknown quantity."""
    qty = signed_quantity(position)
    if qty is None or qty == 0:
        return None
    stated = position.get("instrument_type")
    kind = kind_of(stated) if stated else None
    if stated and kind is None:
        return None  # a bond, a warrant: shown, not priced
    cost = number(position.get("average_open_price"))
    found = greeks.get(quote_key(position))
    g: dict[str, Any] = found if isinstance(found, dict) else {}
    if not is_option_position(position):
        kind = kind or InstrumentKind.EQUITY
        if kind.is_option:
            return None
        return Leg(
            account,
            str(position.get("symbol")),
            underlying_of(position),
            "stock",
            qty,
            multiplier_of(position),
            None,
            None,
            None,
            cost,
            None,
            {"delta": 1.0, "gamma": 0.0, "theta": 0.0, "vega": 0.0},
            display=position_display(position),
            asset=ASSETS[kind],
        )
    instrument = _instrument(position)
    if instrument is None or not instrument.kind.is_option:
        return None
    day = _expiration(instrument, position)
    if day is None or instrument.strike is None or instrument.right is None:
        return None
    expires = dt.datetime.combine(day, EXPIRY_TIME, tzinfo=NEW_YORK).astimezone(dt.UTC)
    return Leg(
        account=account,
        symbol=str(position.get("symbol")),
        underlying=underlying_of(position) or instrument.underlying,
        kind="call" if instrument.right == "C" else "put",
        quantity=qty,
        multiplier=multiplier_of(position),
        strike=float(instrument.strike),
        expiration=day,
        expires_at=expires,
        cost=cost,
        iv=number(g.get("iv")),
        greeks={name: number(g.get(name)) for name in ("delta", "gamma", "theta", "vega")},
        iv_t=number(g.get("t")),
        display=position_display(position),
        asset=ASSETS[instrument.kind],
    )


def legs_from_snapshot(snapshot: Mapping[str, Any], underlying: str | None = None) -> list[Leg]:
    """Every account's legs (of one underlying, if given), in account then symbol order."""
    greeks = snapshot.get("greeks") or {}
    legs = []
    for account, position in account_positions(snapshot, by_symbol=True):
        leg = leg_from_position(account, position, greeks)
        if leg is not None and (underlying is None or leg.underlying == underlying):
            legs.append(leg)
    return legs
