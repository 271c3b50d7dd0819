"""A snapshot's positions as legs the risk model prices: stock, calls and puts.

Every broker's positions share the contract's shape (docs/streaming-contract.md,
"Objects"): an option is named by its streamer symbol (`.SPY261218C600`), which carries
its root, expiration, right and strike. The quantity here is signed (the direction's
sign), per contract for options; the cost is the average open price per unit, as the
Open P&L column counts it. IV is the option's own (its greeks), None when not streamed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from streaming.dashboard.totals import is_option_position, number
from streaming.instruments.symbols import EXPIRY_TIME, NEW_YORK, OPTION_STREAMER_RE, option_date
from streaming.risk.exposure import account_positions, quote_key, signed_quantity, underlying_of

Kind = Literal["stock", "call", "put"]


@dataclass(frozen=True)
class Leg:
    """One position as the model sees it."""

    account: str
    symbol: str  # the position's symbol as its broker spells it
    underlying: str
    kind: Kind
    quantity: float  # signed: contracts for options, shares for stock
    multiplier: float  # 100 for a standard equity option, 1 for stock
    strike: float | None  # None for stock
    expiration: dt.date | None  # None for stock
    expires_at: dt.datetime | None  # 16:00 New York on the expiration date (UTC-aware)
    cost: float | None  # average open price per unit (share or option), None if unknown
    iv: float | None  # the option's implied volatility (fraction), None if unknown
    greeks: dict[str, float | None]  # per share: delta, gamma, theta, vega (as streamed)
    iv_t: float | None = None  # ms: the `t` of the greeks the IV came from (the IV's age)

    @property
    def is_option(self) -> bool:
        return self.kind != "stock"


def leg_from_position(account: str, position: dict[str, Any], greeks: dict[str, Any]) -> Leg | None:
    """The leg of one contract position; None when it is neither stock nor an equity
    option named by a streamer symbol (e.g. a future), or its quantity is unknown."""
    qty = signed_quantity(position)
    if qty is None or qty == 0:
        return None
    mult = number(position.get("multiplier"))
    cost = number(position.get("average_open_price"))
    key = quote_key(position)
    found = greeks.get(key)
    g: dict[str, Any] = found if isinstance(found, dict) else {}
    leg_greeks = {name: number(g.get(name)) for name in ("delta", "gamma", "theta", "vega")}
    if not is_option_position(position):
        kind = str(position.get("instrument_type") or "Equity").lower()
        if not any(k in kind for k in ("equity", "stock", "etf")):
            return None
        return Leg(
            account,
            str(position.get("symbol")),
            underlying_of(position),
            "stock",
            qty,
            1.0 if mult is None else mult,
            None,
            None,
            None,
            cost,
            None,
            {"delta": 1.0, "gamma": 0.0, "theta": 0.0, "vega": 0.0},
        )
    match = OPTION_STREAMER_RE.match(key)
    day = option_date(match.group(2)) if match else None
    if match is None or day is None:
        return None
    expires = dt.datetime.combine(day, EXPIRY_TIME, tzinfo=NEW_YORK).astimezone(dt.UTC)
    return Leg(
        account=account,
        symbol=str(position.get("symbol")),
        underlying=underlying_of(position) or match.group(1),
        kind="call" if match.group(3) == "C" else "put",
        quantity=qty,
        multiplier=100.0 if mult is None else mult,
        strike=float(match.group(4)),
        expiration=day,
        expires_at=expires,
        cost=cost,
        iv=number(g.get("iv")),
        greeks=leg_greeks,
        iv_t=number(g.get("t")),
    )


def legs_from_snapshot(snapshot: dict[str, Any], underlying: str | None = None) -> list[Leg]:
    """Every account's legs (of one underlying, if given), in account then symbol order."""
    greeks = snapshot.get("greeks") or {}
    legs = []
    for account, position in account_positions(snapshot, by_symbol=True):
        leg = leg_from_position(account, position, greeks)
        if leg is not None and (underlying is None or leg.underlying == underlying):
            legs.append(leg)
    return legs
