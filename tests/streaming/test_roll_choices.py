"""The roll picker's three choices on a synthetic chain (docs/streaming-contract.md, "The
roll picker"): `same` keeps strikes, `delta` puts each side's anchor at the |delta|
nearest the target (ties: farther from the price) and keeps widths, `credit` shifts the
whole structure by listed strikes, no short strike nearer the price, the largest net."""

from __future__ import annotations

import math

from streaming.pages.roll.choices import Held, Listed, by_credit, by_delta, same

PRICE = 100.0
STRIKES = [float(k) for k in range(80, 121, 5)]  # 80 .. 120


def fake_delta(right: str, strike: float) -> float:
    """A smooth delta: calls fall from ~1 to ~0 across the grid, puts are calls - 1."""
    call = 1.0 / (1.0 + math.exp((strike - PRICE) / 6.0))
    return round(call if right == "call" else call - 1.0, 4)


def chain(**overrides: float) -> list[Listed]:
    """Every strike both ways; `put95=-0.3` overrides one delta."""
    out = []
    for k in STRIKES:
        for right in ("call", "put"):
            d = overrides.get(f"{right}{k:g}", fake_delta(right, k))
            out.append(Listed(right, k, d))  # type: ignore[arg-type]
    return out


SHORT_PUT = [Held("put", 95.0, -1)]
PUT_CREDIT_VERTICAL = [Held("put", 95.0, -1), Held("put", 90.0, 1)]
IRON_CONDOR = [
    Held("put", 85.0, 1),
    Held("put", 90.0, -1),
    Held("call", 110.0, -1),
    Held("call", 115.0, 1),
]


def test_same_keeps_every_strike() -> None:
    assert same(SHORT_PUT, chain()) == (95.0,)
    assert same(IRON_CONDOR, chain()) == (85.0, 90.0, 110.0, 115.0)
    assert same([Held("put", 97.5, -1)], chain()) is None  # not listed there


def test_delta_picks_the_strike_nearest_the_target() -> None:
    # the listed |delta| nearest 0.30 among the puts
    target = 0.30
    puts = [(k, abs(fake_delta("put", k))) for k in STRIKES]
    want = min(puts, key=lambda p: abs(p[1] - target))[0]
    assert by_delta(SHORT_PUT, chain(), PRICE, target) == (want,)
    assert by_delta(SHORT_PUT, chain(), PRICE, 0.05) == (80.0,)


def test_delta_ties_go_to_the_strike_farther_from_the_price() -> None:
    # 90 and 95 both 0.10 from the target 0.30: the put farther from 100 (90) wins
    ties = chain(put90=-0.20, put95=-0.40, put85=-0.05, put100=-0.5)
    assert by_delta(SHORT_PUT, ties, PRICE, 0.30) == (90.0,)


def test_delta_keeps_the_width_to_the_anchor() -> None:
    moved = by_delta(PUT_CREDIT_VERTICAL, chain(put85=-0.30), PRICE, 0.30)
    assert moved == (85.0, 80.0)
    condor = by_delta(IRON_CONDOR, chain(put85=-0.30, call105=0.30), PRICE, 0.30)
    assert condor == (80.0, 85.0, 105.0, 110.0)


def test_credit_keeps_widths_and_short_strikes_no_nearer_the_price() -> None:
    seen: list[tuple[float, ...]] = []

    def net_of(strikes: tuple[float, ...]) -> float:
        seen.append(strikes)
        return -abs(strikes[0] - 90.0)  # the best is the short put at 90

    assert by_credit(SHORT_PUT, chain(), net_of) == (90.0,)
    assert all(s[0] <= 95.0 for s in seen)  # never a short put above its strike
    seen.clear()
    assert by_credit(PUT_CREDIT_VERTICAL, chain(), net_of) == (90.0, 85.0)
    assert all(s[0] - s[1] == 5.0 and s[0] <= 95.0 for s in seen)


def test_credit_of_an_iron_condor_cannot_move_either_short_inward() -> None:
    # a put shift must be <= 0 and a call shift >= 0: one shift of the whole leaves 0
    assert by_credit(IRON_CONDOR, chain(), lambda s: 1.0) == (85.0, 90.0, 110.0, 115.0)


def test_credit_prefers_a_priced_shift_and_the_smallest_on_a_tie() -> None:
    assert by_credit(SHORT_PUT, chain(), lambda s: None if s[0] == 95.0 else 0.5) == (90.0,)
    assert by_credit(SHORT_PUT, chain(), lambda s: 0.5) == (95.0,)
