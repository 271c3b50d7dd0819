"""Where a roll could go at one new expiration: the three choices of the roll picker
(docs/streaming-contract.md, "The roll picker"), each the new strike of every leg.

Pure: the held legs, the expiration's listed options (strike, right, delta) and the
underlying's price in, strikes out; `credit` is handed the function that prices a set of
strikes (the roll's net at mid), so the choice and the pricing stay apart.

- `same`: every leg at its own strike.
- `delta`: per side (puts, calls), its anchor (its short leg, else its first) at the listed
  strike whose |delta| is nearest the target (ties: the strike farther from the price);
  the side's other legs keep their distance to the anchor, each at the listed strike
  nearest it (ties: farther from the price).
- `credit`: the whole structure shifted by a listed strike distance, every width kept, no
  short strike nearer the price than it is now (a put's no higher, a call's no lower); of
  those, the largest net (ties: the smallest shift).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Right = Literal["call", "put"]
Choice = Literal["same", "delta", "credit"]
CHOICES: tuple[Choice, ...] = ("same", "delta", "credit")
#: Strikes equal within this are one strike (listed strikes are cents apart at least).
SAME_STRIKE = 1e-6


@dataclass(frozen=True)
class Held:
    """One option leg of the position being rolled."""

    right: Right
    strike: float
    quantity: float  # signed: < 0 short


@dataclass(frozen=True)
class Listed:
    """One listed option of the new expiration (a chain side)."""

    right: Right
    strike: float
    delta: float | None


#: A choice's new strikes, one per held leg, in the held legs' order.
Strikes = tuple[float, ...]
#: The net of a set of new strikes (None where a leg has no quote).
Pricer = Callable[[Strikes], float | None]


def _listed(chain: Sequence[Listed], right: Right) -> list[Listed]:
    return sorted((o for o in chain if o.right == right), key=lambda o: o.strike)


def _has(chain: Sequence[Listed], right: Right, strike: float) -> bool:
    return any(abs(o.strike - strike) < SAME_STRIKE for o in _listed(chain, right))


def same(held: Sequence[Held], chain: Sequence[Listed]) -> Strikes | None:
    """Every leg at its own strike; None where one of them is not listed."""
    if not all(_has(chain, leg.right, leg.strike) for leg in held):
        return None
    return tuple(leg.strike for leg in held)


def _anchor(side: Sequence[Held]) -> Held:
    return next((leg for leg in side if leg.quantity < 0), side[0])


def _nearest(options: Sequence[Listed], strike: float, price: float) -> float:
    """The listed strike nearest `strike` (ties: the one farther from the price)."""
    return min(options, key=lambda o: (abs(o.strike - strike), -abs(o.strike - price))).strike


def by_delta(
    held: Sequence[Held], chain: Sequence[Listed], price: float, target: float
) -> Strikes | None:
    """Each side's anchor at the |delta| nearest `target`, its other legs at their distance;
    None where a side has no listed option with a delta."""
    moved: dict[int, float] = {}
    for right in ("put", "call"):
        side = [leg for leg in held if leg.right == right]
        if not side:
            continue
        options = _listed(chain, right)
        with_delta = [o for o in options if o.delta is not None]
        if not with_delta:
            return None
        anchor = _anchor(side)
        to = min(
            with_delta,
            key=lambda o: (abs(abs(o.delta or 0.0) - target), -abs(o.strike - price)),
        ).strike
        for i, leg in enumerate(held):
            if leg.right == right:
                moved[i] = _nearest(options, to + (leg.strike - anchor.strike), price)
    return tuple(moved[i] for i in range(len(held)))


def _keeps_shorts_out(held: Sequence[Held], shift: float) -> bool:
    """No short strike nearer the price: a short put's no higher, a short call's no lower."""
    for leg in held:
        if leg.quantity < 0 and leg.right == "put" and shift > SAME_STRIKE:
            return False
        if leg.quantity < 0 and leg.right == "call" and shift < -SAME_STRIKE:
            return False
    return True


def shifts(held: Sequence[Held], chain: Sequence[Listed]) -> list[float]:
    """Every listed distance the whole structure can move by with each leg listed."""
    first = held[0]
    found = []
    for option in _listed(chain, first.right):
        shift = option.strike - first.strike
        if all(_has(chain, leg.right, leg.strike + shift) for leg in held):
            found.append(shift)
    return found


def by_credit(held: Sequence[Held], chain: Sequence[Listed], net_of: Pricer) -> Strikes | None:
    """The shift, widths kept and shorts no nearer the price, whose net is the largest (a
    shift without a net ranks below every priced one; ties: the smallest shift). None:
    no shift keeps every leg listed."""
    best: tuple[tuple[bool, float, float], Strikes] | None = None
    for shift in shifts(held, chain):
        if not _keeps_shorts_out(held, shift):
            continue
        strikes = tuple(leg.strike + shift for leg in held)
        net = net_of(strikes)
        rank = (net is not None, net if net is not None else 0.0, -abs(shift))
        if best is None or rank > best[0]:
            best = (rank, strikes)
    return None if best is None else best[1]


def choose(
    held: Sequence[Held],
    chain: Sequence[Listed],
    price: float | None,
    target: float,
    net_of: Pricer,
) -> Mapping[Choice, Strikes | None]:
    """The three choices' strikes at one expiration (None: that choice has no strikes)."""
    return {
        "same": same(held, chain),
        "delta": None if price is None else by_delta(held, chain, price, target),
        "credit": by_credit(held, chain, net_of),
    }
