"""One roll picker row (docs/streaming-contract.md, "The roll picker"): the order's legs in
the order vocabulary (close every held leg, open the choice's), its net at mid, the new
position's break-evens and POP (risk/odds/opening.py: the legs opened at their mids, sigma
from their chain IVs), the days it adds and whether a quote it used is stale.

Pure: the held legs with their quotes, the expiration's listed options, the price, the
time and the rate in; the buying-power effect is the broker's, added by the caller.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streaming.instruments.instrument import parse
from streaming.pages.roll.choices import Choice, Held, Right, Strikes
from streaming.portfolio.expected_move import close_of
from streaming.risk.legs import Leg
from streaming.risk.odds.opening import opening_odds

NO_QUOTE = "No quote for {name}: its roll's net is unknown."


@dataclass(frozen=True)
class Option:
    """One option with its quote: a held leg's, or a listed one of the new expiration."""

    symbol: str  # the streamer's
    occ: str
    right: Right
    strike: float
    expiration: dt.date
    mid: float | None  # None without a bid and an ask
    delta: float | None
    iv: float | None
    quote_t: int | None  # ms: its quote's time


@dataclass(frozen=True)
class Position:
    """What is rolled: its legs (each with its quote) in one account."""

    account: str
    underlying: str
    multiplier: float
    held: tuple[tuple[Held, Option], ...]

    @property
    def unit(self) -> float:
        """Contracts per unit of the position: the legs' greatest common size (a 1:-2:1
        butterfly of 3 is 3 units)."""
        return float(math.gcd(*(round(abs(h.quantity)) for h, _ in self.held)) or 1)


def display(option: Option) -> str:
    found = parse(option.symbol)
    return found.display if found is not None else option.symbol


def _leg_json(option: Option, action: str, quantity: float) -> dict[str, Any]:
    return {
        "symbol": option.symbol,
        "occ": option.occ,
        "action": action,
        "quantity": int(quantity) if float(quantity).is_integer() else quantity,
        "strike": option.strike,
        "right": option.right,
        "expiration": option.expiration.isoformat(),
        "mid": option.mid,
        "delta": option.delta,
    }


def held_legs(position: Position) -> list[dict[str, Any]]:
    """The held legs, each with the action that closes it."""
    return [
        _leg_json(o, "Buy to Close" if h.quantity < 0 else "Sell to Close", abs(h.quantity))
        for h, o in position.held
    ]


def order_legs(position: Position, opened: Sequence[Option]) -> list[dict[str, Any]]:
    """Close every held leg, then open the new ones (the order vocabulary's actions)."""
    legs = held_legs(position)
    legs += [
        _leg_json(o, "Sell to Open" if h.quantity < 0 else "Buy to Open", abs(h.quantity))
        for (h, _), o in zip(position.held, opened, strict=True)
    ]
    return legs


def roll_net(position: Position, opened: Sequence[Option]) -> float | None:
    """Per unit at mid, + a credit: closing a short and opening a long are bought."""
    total = 0.0
    for (held, old), new in zip(position.held, opened, strict=True):
        if old.mid is None or new.mid is None:
            return None
        size = abs(held.quantity) / position.unit
        sign = 1.0 if held.quantity < 0 else -1.0  # short: buy back (-old), sell new (+new)
        total += sign * (new.mid - old.mid) * size
    return round(total, 2) + 0.0


def unquoted(position: Position, opened: Sequence[Option]) -> list[str]:
    """The sentences for the legs without a quote (the roll's net unknown)."""
    legs = [o for _, o in position.held] + list(opened)
    return [NO_QUOTE.format(name=display(o)) for o in legs if o.mid is None]


def opened_legs(
    position: Position, strikes: Strikes, listed: Mapping[tuple[Right, float], Option]
) -> list[Option] | None:
    """The new expiration's options at `strikes` (None where one is not listed)."""
    found = [listed.get((h.right, k)) for (h, _), k in zip(position.held, strikes, strict=True)]
    return None if any(o is None for o in found) else [o for o in found if o is not None]


def _new_leg(position: Position, held: Held, option: Option) -> Leg:
    return Leg(
        account=position.account,
        symbol=option.symbol,
        underlying=position.underlying,
        kind=held.right,
        quantity=held.quantity,
        multiplier=position.multiplier,
        strike=option.strike,
        expiration=option.expiration,
        expires_at=close_of(option.expiration),
        cost=option.mid,
        iv=option.iv,
        greeks={"delta": option.delta, "gamma": None, "theta": None, "vega": None},
    )


def row(
    position: Position,
    choice: Choice,
    opened: Sequence[Option],
    price: float | None,
    *,
    now: dt.datetime,
    rate: float,
    stale_after: float,
) -> dict[str, Any]:
    """One row, its `buying_power_effect` and note still null (the caller's dry run)."""
    expiration = opened[0].expiration
    held_day = position.held[0][1].expiration
    new = [_new_leg(position, h, o) for (h, _), o in zip(position.held, opened, strict=True)]
    odds = opening_odds(new, price, now=now, rate=rate)
    times = [o.quote_t for o in (*(o for _, o in position.held), *opened)]
    now_ms = now.timestamp() * 1000
    return {
        "expiration": expiration.isoformat(),
        "choice": choice,
        "legs": order_legs(position, opened),
        "net": roll_net(position, opened),
        "breakevens": odds["breakevens"],
        "pop": odds["probability_of_profit"],
        "pop_inputs": odds["pop_inputs"],
        "pop_note": odds["pop_note"],
        "days_added": (expiration - held_day).days,
        "buying_power_effect": None,
        "buying_power_note": None,
        "stale": any(t is None or now_ms - t > stale_after * 1000 for t in times),
        "quoted_at": min((t for t in times if t is not None), default=None),
    }
