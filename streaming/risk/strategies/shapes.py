"""The named shapes of option legs: which strikes, rights and sizes make which strategy.

A shape matches exactly or not at all: every leg of one expiration takes part, sizes
are equal (1:2:1 for a butterfly), so a ratio spread is never mistaken for a vertical.
"""

from __future__ import annotations

from collections.abc import Sequence

from streaming.risk.legs import Leg

#: (name, family, units of the strategy)
Shape = tuple[str, str, float]


def named_shape(legs: Sequence[Leg]) -> Shape | None:
    """The shape of 2-4 option legs of one expiration, or None ("custom")."""
    legs = sorted(legs, key=lambda leg: (leg.kind, leg.strike or 0.0))
    if len({(leg.kind, leg.strike) for leg in legs}) < len(legs):
        return None  # the same contract twice: nothing to name
    if len(legs) == 2:
        return _two(legs[0], legs[1])
    if len(legs) == 3:
        return _butterfly(legs)
    if len(legs) == 4:
        return _iron(legs)
    return None


def _side(leg: Leg) -> str:
    return "long" if leg.quantity > 0 else "short"


def _strike(leg: Leg) -> float:
    return leg.strike or 0.0


def _two(a: Leg, b: Leg) -> Shape | None:
    units = abs(a.quantity)
    if abs(b.quantity) != units:
        return None
    if a.kind == b.kind:  # strikes differ (checked above): a vertical when sides do too
        if (a.quantity > 0) == (b.quantity > 0):
            return None
        low, high = (a, b) if _strike(a) < _strike(b) else (b, a)
        # the long leg nearer the money costs more: a call's lower strike, a put's higher
        debit = (low.quantity > 0) if a.kind == "call" else (high.quantity > 0)
        return f"{a.kind} {'debit' if debit else 'credit'} vertical", "vertical", units
    call, put = (a, b) if a.kind == "call" else (b, a)
    if (call.quantity > 0) != (put.quantity > 0):
        return None  # a risk reversal / synthetic: custom
    if _strike(call) == _strike(put):
        return f"{_side(call)} straddle", "straddle", units
    if _strike(put) < _strike(call):
        return f"{_side(call)} strangle", "strangle", units
    return None  # a "guts" strangle (both in the money): custom


def _butterfly(legs: Sequence[Leg]) -> Shape | None:
    low, mid, high = legs
    if not low.kind == mid.kind == high.kind:
        return None
    wing = low.quantity
    if high.quantity != wing or mid.quantity != -2 * wing:
        return None
    if _strike(mid) - _strike(low) != _strike(high) - _strike(mid):
        return None  # a broken-wing butterfly: custom
    return f"{_side(low)} {low.kind} butterfly", "butterfly", abs(wing)


def _iron(legs: Sequence[Leg]) -> Shape | None:
    calls = [leg for leg in legs if leg.kind == "call"]
    puts = [leg for leg in legs if leg.kind == "put"]
    if len(calls) != 2 or len(puts) != 2:
        return None
    units = abs(legs[0].quantity)
    if any(abs(leg.quantity) != units for leg in legs):
        return None
    (p1, p2), (c1, c2) = puts, calls  # each ascending by strike
    # short iron: long the outer wings, short the inner strikes
    short_iron = p1.quantity > 0 and p2.quantity < 0 and c1.quantity < 0 and c2.quantity > 0
    long_iron = p1.quantity < 0 and p2.quantity > 0 and c1.quantity > 0 and c2.quantity < 0
    if not (short_iron or long_iron) or _strike(p2) > _strike(c1):
        return None
    family = "iron butterfly" if _strike(p2) == _strike(c1) else "iron condor"
    return (family if short_iron else f"reverse {family}"), family, units


def pair_calendars(lone: Sequence[Leg]) -> list[tuple[Leg, Leg]]:
    """Lone legs of different expirations paired (near, far): same right, opposite
    sides, equal size; the same strike first, then the nearest later expiration, then
    the nearest strike (the lower on a tie). Input in expiration order."""
    pairs: list[tuple[Leg, Leg]] = []
    used: set[int] = set()
    for i, near in enumerate(lone):
        if i in used:
            continue
        candidates = [
            (j, far)
            for j, far in enumerate(lone)
            if j not in used
            and j != i
            and far.kind == near.kind
            and far.expiration is not None
            and near.expiration is not None
            and far.expiration > near.expiration
            and (far.quantity > 0) != (near.quantity > 0)
            and abs(far.quantity) == abs(near.quantity)
        ]
        if not candidates:
            continue
        j, far = min(
            candidates,
            key=lambda c: (
                c[1].strike != near.strike,
                c[1].expiration,
                abs(_strike(c[1]) - _strike(near)),
                _strike(c[1]),
            ),
        )
        used.update((i, j))
        pairs.append((near, far))
    return pairs
