"""Legs grouped into the strategies traders name, with each group's greeks and payoff.

Deterministic rules (docs/streaming-contract.md, "Risk: strategies"):

1. Legs are grouped per (account, underlying): a strategy's legs live in one account (a
   call is not covered by stock held at another broker). Across accounts the risk adds
   up in the per-underlying tables, not here.
2. Per expiration (ascending), the option legs of that expiration form one named shape
   when their strikes, rights and sizes fit it exactly (verticals, straddles,
   strangles, butterflies 1:2:1 with equal wings, iron condors and iron butterflies);
   a lone leg stays single; anything else (ratio spreads, two unrelated spreads) is
   "custom".
3. Lone legs of two expirations, same right, opposite sides and equal size pair into a
   calendar (same strike) or diagonal (nearest strike), nearest expiration first.
4. Lone short calls are covered by long stock in the account (a short put by short
   stock; a long put protects long stock), per 1 contract = multiplier shares; a short
   call + long put of one expiration covered by the stock is a collar. Unequal sizes
   split: 2 short calls against 100 shares are a covered call of 1 and a short call of 1.
5. The stock left over is "long stock" / "short stock".

The same legs in any order give the same strategies in the same order: every step
walks sorted legs, and the result is sorted by (underlying, account, first expiration
(stock alone last), name, legs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from streaming.risk.legs import Kind, Leg
from streaming.risk.names import underlying_display
from streaming.risk.strategies.payoff import DECIMALS, Extreme, Part, payoff
from streaming.risk.strategies.shapes import named_shape, pair_calendars

GREEKS = ("delta", "gamma", "theta", "vega")


class StrategyLeg(TypedDict):
    """A strategy's share of one leg (signed quantity); `expiration` YYYY-MM-DD."""

    symbol: str
    display: str
    kind: Kind
    strike: float | None
    expiration: str | None
    quantity: float


class StrategyJson(TypedDict):
    """A strategy as `GET /api/risk/strategies` answers it (Strategy.as_dict)."""

    key: str
    name: str
    family: str
    underlying: str
    display: str
    account: str
    legs: list[StrategyLeg]
    expirations: list[str]
    quantity: float
    greeks: dict[str, float | None]
    net: float | None
    net_kind: str | None
    max_profit: Extreme
    max_loss: Extreme
    breakevens: list[float] | None


@dataclass(frozen=True)
class Strategy:
    """One strategy held in one account; money in dollars, greeks for the whole group."""

    name: str  # e.g. "iron condor", "covered call", "custom"
    family: str  # the word: "vertical", "butterfly", "single", "stock", ...
    underlying: str
    account: str
    parts: tuple[Part, ...]
    quantity: float  # units of the strategy (contracts per leg; shares for stock)
    greeks: dict[str, float | None]  # delta in shares, gamma, theta $/day, vega $/vol point
    net: float | None  # + credit taken in, - debit paid; None when a leg's cost is unknown
    max_profit: Extreme
    max_loss: Extreme  # a loss as a positive number
    breakevens: tuple[float, ...] | None  # None where not defined (spans expirations)

    @property
    def expirations(self) -> list[dt.date]:
        return sorted({p.leg.expiration for p in self.parts if p.leg.expiration is not None})

    @property
    def key(self) -> str:
        """What names it across requests (the scenario grid's `strategy=`): a digest of its
        account, name and legs, so the same holdings give the same key."""
        legs = ";".join(f"{p.leg.symbol}={p.quantity!r}" for p in self.parts)
        text = f"{self.account}|{self.underlying}|{self.name}|{legs}"
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]

    @property
    def net_kind(self) -> str | None:
        if self.net is None:
            return None
        return "credit" if self.net > 0 else "debit" if self.net < 0 else "even"

    def as_dict(self) -> StrategyJson:
        """JSON-ready: dates as YYYY-MM-DD, "unlimited" and null as they are."""
        return {
            "key": self.key,
            "name": self.name,
            "family": self.family,
            "underlying": self.underlying,
            "display": underlying_display(self.underlying),
            "account": self.account,
            "legs": [
                {
                    "symbol": p.leg.symbol,
                    "display": p.leg.display or p.leg.symbol,
                    "kind": p.leg.kind,
                    "strike": p.leg.strike,
                    "expiration": p.leg.expiration.isoformat() if p.leg.expiration else None,
                    "quantity": p.quantity,
                }
                for p in self.parts
            ],
            "expirations": [d.isoformat() for d in self.expirations],
            "quantity": self.quantity,
            "greeks": dict(self.greeks),
            "net": self.net,
            "net_kind": self.net_kind,
            "max_profit": self.max_profit,
            "max_loss": self.max_loss,
            "breakevens": None if self.breakevens is None else list(self.breakevens),
        }


def strategies_of(legs: Iterable[Leg]) -> list[Strategy]:
    """Every equity leg (stock, calls, puts) in exactly one strategy, in a stable order (a
    future, a future option or a coin is in none: the curve and the tables count them)."""
    groups: dict[tuple[str, str], list[Leg]] = defaultdict(list)
    for leg in legs:
        if leg.asset != "equity":
            continue
        groups[(leg.account, leg.underlying)].append(leg)
    found: list[Strategy] = []
    for account, underlying in sorted(groups):
        found.extend(
            _in_account(account, underlying, sorted(groups[(account, underlying)], key=leg_order))
        )
    return sorted(found, key=strategy_order)


def leg_order(leg: Leg) -> tuple[Any, ...]:
    """Legs sort by expiration (stock first), right, strike, symbol, then size."""
    return (
        leg.expiration or dt.date.min,
        leg.kind,
        leg.strike or 0.0,
        leg.symbol,
        leg.quantity,
    )


def strategy_order(s: Strategy) -> tuple[Any, ...]:
    days = s.expirations
    return (
        s.underlying,
        s.account,
        days[0] if days else dt.date.max,
        s.name,
        tuple((p.leg.symbol, p.quantity) for p in s.parts),
    )


@dataclass
class _Held:
    leg: Leg
    left: float  # signed shares not yet in a strategy


class _Stock:
    """The account's shares of the underlying, handed out to covered strategies."""

    def __init__(self, legs: list[Leg]) -> None:
        self.held = [_Held(leg, leg.quantity) for leg in legs]

    def shares(self, sign: int) -> float:
        """The shares left on one side (+1 long, -1 short), as a positive number."""
        return abs(sum(h.left for h in self.held if h.left * sign > 0))

    def take(self, shares: float) -> list[Part]:
        """`shares` signed; taken from the legs in symbol order."""
        parts: list[Part] = []
        need = shares
        for h in self.held:
            if need == 0 or h.left * need <= 0:
                continue
            used = need if abs(h.left) >= abs(need) else h.left
            parts.append(Part(h.leg, used))
            h.left -= used
            need -= used
        return parts


def _in_account(account: str, underlying: str, legs: list[Leg]) -> list[Strategy]:
    stock = _Stock([leg for leg in legs if leg.kind == "stock"])
    by_day: dict[dt.date, list[Leg]] = defaultdict(list)
    for leg in legs:
        if leg.expiration is not None:
            by_day[leg.expiration].append(leg)
    made: list[Strategy] = []
    lone: list[Leg] = []
    unnamed: list[list[Leg]] = []
    for day in sorted(by_day):
        day_legs = by_day[day]
        shape = named_shape(day_legs) if len(day_legs) > 1 else None
        if len(day_legs) == 1:
            lone.append(day_legs[0])
        elif shape is not None:
            made.append(build(shape[0], shape[1], account, underlying, _whole(day_legs), shape[2]))
        else:
            unnamed.append(day_legs)

    for near, far in pair_calendars(lone):
        same = near.strike == far.strike
        family = "calendar" if same else "diagonal"
        name = f"{near.kind} {family}" if far.quantity > 0 else f"reverse {near.kind} {family}"
        made.append(
            build(name, family, account, underlying, _whole([near, far]), abs(far.quantity))
        )
        lone = [leg for leg in lone if leg is not near and leg is not far]

    for day_legs in unnamed:
        made.extend(_collar_or_custom(day_legs, stock, account, underlying))
    for leg in lone:
        made.extend(_covered_or_single(leg, stock, account, underlying))
    for h in stock.held:
        if h.left:
            side = "long" if h.left > 0 else "short"
            parts = [Part(h.leg, h.left)]
            made.append(build(f"{side} stock", "stock", account, underlying, parts, abs(h.left)))
    return made


def _whole(legs: Sequence[Leg]) -> list[Part]:
    return [Part(leg, leg.quantity) for leg in legs]


def _collar_or_custom(
    day_legs: list[Leg], stock: _Stock, account: str, underlying: str
) -> list[Strategy]:
    """A short call + long put of one size, fully covered by long stock, is a collar."""
    kinds = sorted((leg.kind, leg.quantity > 0) for leg in day_legs)
    if kinds == [("call", False), ("put", True)] and abs(day_legs[0].quantity) == abs(
        day_legs[1].quantity
    ):
        contracts = abs(day_legs[0].quantity)
        shares = contracts * day_legs[0].multiplier
        if stock.shares(+1) >= shares:
            parts = [*_whole(day_legs), *stock.take(shares)]
            return [build("collar", "collar", account, underlying, parts, contracts)]
    return [build("custom", "custom", account, underlying, _whole(day_legs), 1.0)]


#: (right, option side, stock side) → the covered strategy's name.
COVERED = {
    ("call", -1, +1): "covered call",
    ("put", +1, +1): "protective put",
    ("put", -1, -1): "covered put",
}


def _covered_or_single(leg: Leg, stock: _Stock, account: str, underlying: str) -> list[Strategy]:
    """A lone option, covered by the account's stock as far as it goes."""
    side = 1 if leg.quantity > 0 else -1
    made: list[Strategy] = []
    left = leg.quantity
    for stock_side in (+1, -1):
        name = COVERED.get((leg.kind, side, stock_side))
        if name is None:
            continue
        contracts = min(abs(left), stock.shares(stock_side) // leg.multiplier)
        if contracts > 0:
            parts = [
                Part(leg, side * contracts),
                *stock.take(stock_side * contracts * leg.multiplier),
            ]
            made.append(build(name, "covered", account, underlying, parts, contracts))
            left -= side * contracts
    if left:
        name = f"{'long' if left > 0 else 'short'} {leg.kind}"
        made.append(build(name, "single", account, underlying, [Part(leg, left)], abs(left)))
    return made


def build(
    name: str, family: str, account: str, underlying: str, parts: Sequence[Part], quantity: float
) -> Strategy:
    """The strategy of these parts: greeks, net premium, and its payoff's extremes."""
    greeks = {g: _total([p.leg.greeks.get(g) for p in parts], parts) for g in GREEKS}
    cost = _total([p.leg.cost for p in parts], parts)
    net = None if cost is None else -cost + 0.0  # + 0.0: no "-0.0"
    max_profit, max_loss, breakevens = _extremes(parts, net)
    return Strategy(
        name,
        family,
        underlying,
        account,
        tuple(parts),
        float(quantity),
        greeks,
        net,
        max_profit,
        max_loss,
        breakevens,
    )


def _total(per_unit: Sequence[float | None], parts: Sequence[Part]) -> float | None:
    """The sum of per-unit value * multiplier * signed quantity; None if any is unknown."""
    total = 0.0
    for value, part in zip(per_unit, parts, strict=True):
        if value is None:
            return None
        total += value * part.leg.multiplier * part.quantity
    return round(total, DECIMALS)


def _extremes(
    parts: Sequence[Part], net: float | None
) -> tuple[Extreme, Extreme, tuple[float, ...] | None]:
    """Exact where every option expires on one day; where they span days, only the max
    loss of a group whose later legs are all long (valued at intrinsic at the first
    expiration: a floor) is stated."""
    days = sorted({p.leg.expiration for p in parts if p.leg.expiration is not None})
    if len(days) <= 1:
        curve = payoff(parts, 0.0 if net is None else net)
        if net is None:  # a leg's cost unknown: only whether it is unlimited is known
            return _only_unlimited(curve.max_profit()), _only_unlimited(curve.max_loss()), None
        return curve.max_profit(), curve.max_loss(), tuple(curve.breakevens())
    first = [p for p in parts if p.leg.expiration in (None, days[0])]
    later = [p for p in parts if p.leg.expiration not in (None, days[0])]
    if net is None or any(p.quantity < 0 for p in later):
        return None, None, None
    return None, payoff(first, net, at_intrinsic=later).max_loss(), None


def _only_unlimited(extreme: Extreme) -> Extreme:
    return extreme if extreme == "unlimited" else None
