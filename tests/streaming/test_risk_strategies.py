"""Strategy grouping on a table of cases (docs/streaming-contract.md, "Risk: strategies").

Every row is computed by hand: the arithmetic is the comment beside it. Money is in
dollars for the whole strategy (quantity x multiplier 100 x price per share); `net` is
+ for a credit, - for a debit; max loss is a positive amount; "unlimited" is stated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

import pytest

from streaming.risk.legs import Kind, Leg
from streaming.risk.strategies.grouping import Strategy, strategies_of
from tests.support.legs import option_leg

E1 = dt.date(2027, 1, 15)
E2 = dt.date(2027, 2, 19)
E3 = dt.date(2027, 3, 19)
NO_GREEKS = {"delta": 0.0, "gamma": 0.0, "theta": 0.0, "vega": 0.0}


def opt(
    kind: Kind,
    strike: float,
    qty: float,
    cost: float | None,
    exp: dt.date = E1,
    account: str = "A1",
    underlying: str = "XYZ",
    greeks: dict[str, float | None] | None = None,
) -> Leg:
    known = dict(NO_GREEKS if greeks is None else greeks)
    return option_leg(
        kind, strike, qty, cost, exp, account=account, underlying=underlying, greeks=known
    )


def stock(qty: float, cost: float | None, account: str = "A1", underlying: str = "XYZ") -> Leg:
    return Leg(
        account, underlying, underlying, "stock", qty, 1.0, None, None, None, cost, None,
        {"delta": 1.0, "gamma": 0.0, "theta": 0.0, "vega": 0.0},
    )  # fmt: skip


def summary(s: Strategy) -> tuple[Any, ...]:
    """(name, quantity, net, max profit, max loss, break-evens), money to the cent."""

    def cents(x: Any) -> Any:
        return round(x, 2) + 0.0 if isinstance(x, float | int) else x

    bes = None if s.breakevens is None else tuple(cents(b) for b in s.breakevens)
    return (s.name, s.quantity, cents(s.net), cents(s.max_profit), cents(s.max_loss), bes)


U = "unlimited"

# (id, legs, [(name, quantity, net, max profit, max loss, break-evens)] in output order)
CASES: list[tuple[str, list[Leg], list[tuple[Any, ...]]]] = [
    # paid 2.50x100 = 250; loses at most that; breaks even at 100 + 2.50
    ("long call", [opt("call", 100, 1, 2.5)], [("long call", 1, -250, U, 250, (102.5,))]),
    # took in 250; the call's intrinsic grows without bound above 102.50
    ("short call", [opt("call", 100, -1, 2.5)], [("short call", 1, 250, 250, U, (102.5,))]),
    # 2 puts: paid 2x100x1 = 200; at S=0 worth 2x100x50 = 10000 - 200 = 9800; BE 50 - 1
    ("long put", [opt("put", 50, 2, 1.0)], [("long put", 2, -200, 9800, 200, (49,))]),
    # took in 100; at S=0 owes 100x50 = 5000 - 100 = 4900; BE 50 - 1
    ("short put", [opt("put", 50, -1, 1.0)], [("short put", 1, 100, 100, 4900, (49,))]),
    # 100 shares at 20: paid 2000, lost at S=0; unlimited above
    ("long stock", [stock(100, 20)], [("long stock", 100, -2000, U, 2000, (20,))]),
    # short 50 at 20: took in 1000, the most it can make (S=0); unlimited loss above
    ("short stock", [stock(-50, 20)], [("short stock", 50, 1000, 1000, U, (20,))]),
    # 100 shares at 50, call 55 sold at 1.50: net -5000 + 150 = -4850; max profit at/above 55:
    # (55 - 50 + 1.50)x100 = 650; max loss at S=0: 4850; BE 50 - 1.50 = 48.50
    (
        "covered call",
        [stock(100, 50), opt("call", 55, -1, 1.5)],
        [("covered call", 1, -4850, 650, 4850, (48.5,))],
    ),
    # short 100 at 50, put 45 sold at 1: net 5000 + 100 = 5100; best at/below 45:
    # (50 - 45)x100 + 100 = 600; unlimited above; BE 50 + 1 = 51
    (
        "covered put",
        [stock(-100, 50), opt("put", 45, -1, 1.0)],
        [("covered put", 1, 5100, 600, U, (51,))],
    ),
    # 100 at 50 + put 45 bought at 2: net -5200; worst at/below 45: (50 - 45 + 2)x100 = 700;
    # BE 50 + 2 = 52
    (
        "protective put",
        [stock(100, 50), opt("put", 45, 1, 2.0)],
        [("protective put", 1, -5200, U, 700, (52,))],
    ),
    # 100 at 50, call 55 sold at 1.50, put 45 bought at 1: net -5000 + 150 - 100 = -4950;
    # best (55 - 50 + 0.50)x100 = 550; worst (50 - 45 - 0.50)x100 = 450; BE 50 - 0.50
    (
        "collar",
        [stock(100, 50), opt("call", 55, -1, 1.5), opt("put", 45, 1, 1.0)],
        [("collar", 1, -4950, 550, 450, (49.5,))],
    ),
    # +C100 at 3, -C105 at 1: debit 200; width 500 - 200 = 300 max profit; BE 100 + 2
    (
        "call debit vertical",
        [opt("call", 100, 1, 3.0), opt("call", 105, -1, 1.0)],
        [("call debit vertical", 1, -200, 300, 200, (102,))],
    ),
    # the mirror: credit 200 kept below 100; loses 500 - 200 = 300 above 105
    (
        "call credit vertical",
        [opt("call", 100, -1, 3.0), opt("call", 105, 1, 1.0)],
        [("call credit vertical", 1, 200, 200, 300, (102,))],
    ),
    # +P105 at 3, -P100 at 1: debit 200; best below 100: 500 - 200 = 300; BE 105 - 2
    (
        "put debit vertical",
        [opt("put", 105, 1, 3.0), opt("put", 100, -1, 1.0)],
        [("put debit vertical", 1, -200, 300, 200, (103,))],
    ),
    # 2 units: credit 2x(3 - 1)x100 = 400; worst below 100: 2x500 - 400 = 600; BE 105 - 2
    (
        "put credit vertical",
        [opt("put", 105, -2, 3.0), opt("put", 100, 2, 1.0)],
        [("put credit vertical", 2, 400, 400, 600, (103,))],
    ),
    # C100 at 3 + P100 at 2: debit 500; BEs 100 ± 5
    (
        "long straddle",
        [opt("call", 100, 1, 3.0), opt("put", 100, 1, 2.0)],
        [("long straddle", 1, -500, U, 500, (95, 105))],
    ),
    # the mirror: credit 500 at S=100; unlimited above; at S=0: 10000 - 500 = 9500 < unlimited
    (
        "short straddle",
        [opt("call", 100, -1, 3.0), opt("put", 100, -1, 2.0)],
        [("short straddle", 1, 500, 500, U, (95, 105))],
    ),
    # P95 at 1 + C105 at 1.50: debit 250; BEs 95 - 2.50 and 105 + 2.50
    (
        "long strangle",
        [opt("put", 95, 1, 1.0), opt("call", 105, 1, 1.5)],
        [("long strangle", 1, -250, U, 250, (92.5, 107.5))],
    ),
    (
        "short strangle",
        [opt("put", 95, -1, 1.0), opt("call", 105, -1, 1.5)],
        [("short strangle", 1, 250, 250, U, (92.5, 107.5))],
    ),
    # +P90 .5, -P95 1.5, -C105 1.5, +C110 .5: credit (1.5 + 1.5 - .5 - .5)x100 = 200;
    # wings 5 wide: worst 500 - 200 = 300; BEs 95 - 2 and 105 + 2
    (
        "iron condor",
        [
            opt("put", 90, 1, 0.5),
            opt("put", 95, -1, 1.5),
            opt("call", 105, -1, 1.5),
            opt("call", 110, 1, 0.5),
        ],
        [("iron condor", 1, 200, 200, 300, (93, 107))],
    ),
    # signs flipped: debit 200, best 300, worst 200, same BEs
    (
        "reverse iron condor",
        [
            opt("put", 90, -1, 0.5),
            opt("put", 95, 1, 1.5),
            opt("call", 105, 1, 1.5),
            opt("call", 110, -1, 0.5),
        ],
        [("reverse iron condor", 1, -200, 300, 200, (93, 107))],
    ),
    # +P90 .5, -P100 3, -C100 3, +C110 .5: credit 500; worst 1000 - 500 = 500; BEs 100 ± 5
    (
        "iron butterfly",
        [
            opt("put", 90, 1, 0.5),
            opt("put", 100, -1, 3.0),
            opt("call", 100, -1, 3.0),
            opt("call", 110, 1, 0.5),
        ],
        [("iron butterfly", 1, 500, 500, 500, (95, 105))],
    ),
    # +C95 6, -2 C100 3, +C105 1: debit (6 + 1 - 6)x100 = 100; best at 100: 500 - 100 = 400;
    # BEs 95 + 1 and 105 - 1
    (
        "long call butterfly",
        [opt("call", 95, 1, 6.0), opt("call", 100, -2, 3.0), opt("call", 105, 1, 1.0)],
        [("long call butterfly", 1, -100, 400, 100, (96, 104))],
    ),
    # -P95 1, +2 P100 3, -P105 6: credit (1 + 6 - 6)x100 = 100, kept outside the wings;
    # worst at 100: 500 - 100 = 400; BEs 96, 104
    (
        "short put butterfly",
        [opt("put", 95, -1, 1.0), opt("put", 100, 2, 3.0), opt("put", 105, -1, 6.0)],
        [("short put butterfly", 1, 100, 100, 400, (96, 104))],
    ),
    # -C100 E1 at 2, +C100 E2 at 3.50: debit 150; at E1 the long call is worth at least
    # its intrinsic, which covers the short's: worst -150; max profit needs the model
    (
        "call calendar",
        [opt("call", 100, -1, 2.0, E1), opt("call", 100, 1, 3.5, E2)],
        [("call calendar", 1, -150, None, 150, None)],
    ),
    # long the near put, short the far one: the far short is not bounded at E1: not stated
    (
        "reverse put calendar",
        [opt("put", 100, 1, 2.0, E1), opt("put", 100, -1, 3.5, E2)],
        [("reverse put calendar", 1, 150, None, None, None)],
    ),
    # +C80 E2 at 22, -C105 E1 at 1.50 (a "poor man's covered call"): debit 2050; floor at
    # E1 100x[(S - 80)+ - (S - 105)+] - 2050 is lowest below 80: -2050
    (
        "call diagonal",
        [opt("call", 105, -1, 1.5, E1), opt("call", 80, 1, 22.0, E2)],
        [("call diagonal", 1, -2050, None, 2050, None)],
    ),
    # -P100 E1 at 3, +P95 E2 at 2.50: credit 50; below 95 the floor is
    # 100x[(95 - S) - (100 - S)] + 50 = -450: the strikes' width beyond the credit
    (
        "put diagonal",
        [opt("put", 100, -1, 3.0, E1), opt("put", 95, 1, 2.5, E2)],
        [("put diagonal", 1, 50, None, 450, None)],
    ),
    # 1x2 ratio: +C100 3, -2 C105 1: debit 100; best at 105: 500 - 100 = 400; slope above
    # 105 is -100/$: unlimited; BEs 100 + 1 and 105 + 400/100
    (
        "ratio spread is custom",
        [opt("call", 100, 1, 3.0), opt("call", 105, -2, 1.0)],
        [("custom", 1, -100, 400, U, (101, 109))],
    ),
    # +C105 1, -P95 1: even; flat at 0 from 95 to 105 (its ends are the BEs); at S=0
    # 100x95 = 9500 lost
    (
        "risk reversal is custom",
        [opt("call", 105, 1, 1.0), opt("put", 95, -1, 1.0)],
        [("custom", 1, 0, U, 9500, (95, 105))],
    ),
    # 1-2-1 with wings 5 and 10 (a broken-wing butterfly): debit (6 - 6 + 0.5)x100 = 50;
    # best at 100: 500 - 50 = 450; above 110: 500 - 1000 - 50 = -550; BEs 95.5, 104.5
    (
        "broken wing is custom",
        [opt("call", 95, 1, 6.0), opt("call", 100, -2, 3.0), opt("call", 110, 1, 0.5)],
        [("custom", 1, -50, 450, 550, (95.5, 104.5))],
    ),
    # a cost unknown: whether it is unlimited is known, nothing in dollars
    ("cost unknown", [opt("call", 100, 1, None)], [("long call", 1, None, U, None, None)]),
    # 2 calls sold against 100 shares: a covered call of 1 (as above) and a naked call of 1
    # (credit 150, BE 55 + 1.50)
    (
        "quantity split",
        [stock(100, 50), opt("call", 55, -2, 1.5)],
        [
            ("covered call", 1, -4850, 650, 4850, (48.5,)),
            ("short call", 1, 150, 150, U, (56.5,)),
        ],
    ),
    # 3 calls against 250 shares: 2 covered (net -10000 + 300, best (5 + 1.5)x200 = 1300),
    # 1 naked, 50 shares left (paid 2500)
    (
        "split with shares left",
        [stock(250, 50), opt("call", 55, -3, 1.5)],
        [
            ("covered call", 2, -9700, 1300, 9700, (48.5,)),
            ("short call", 1, 150, 150, U, (56.5,)),
            ("long stock", 50, -2500, U, 2500, (50,)),
        ],
    ),
    # 50 shares cannot cover a 100-share call
    (
        "too few shares",
        [stock(50, 50), opt("call", 55, -1, 1.5)],
        [("short call", 1, 150, 150, U, (56.5,)), ("long stock", 50, -2500, U, 2500, (50,))],
    ),
    # stock at one broker does not cover a call at another (sorted by account)
    (
        "mixed accounts",
        [stock(100, 50, account="B2"), opt("call", 55, -1, 1.5, account="A1")],
        [("short call", 1, 150, 150, U, (56.5,)), ("long stock", 100, -5000, U, 5000, (50,))],
    ),
    # an iron condor's halves in two accounts: two verticals (credit 100 each, worst 400)
    (
        "iron condor across accounts",
        [
            opt("put", 90, 1, 0.5, account="A1"),
            opt("put", 95, -1, 1.5, account="A1"),
            opt("call", 105, -1, 1.5, account="B2"),
            opt("call", 110, 1, 0.5, account="B2"),
        ],
        [
            ("put credit vertical", 1, 100, 100, 400, (94,)),
            ("call credit vertical", 1, 100, 100, 400, (106,)),
        ],
    ),
    # different underlyings never group (sorted by underlying: ABC first)
    (
        "unrelated underlyings",
        [opt("call", 100, 1, 2.5), opt("call", 105, -1, 1.0, underlying="ABC")],
        [("short call", 1, 100, 100, U, (106,)), ("long call", 1, -250, U, 250, (102.5,))],
    ),
    # the same-strike partner pairs first (E1 with E3), the E2 call stays alone
    (
        "calendar before diagonal",
        [
            opt("call", 100, -1, 2.0, E1),
            opt("call", 105, 1, 2.0, E2),
            opt("call", 100, 1, 4.0, E3),
        ],
        [("call calendar", 1, -200, None, 200, None), ("long call", 1, -200, U, 200, (107,))],
    ),
    # unequal sizes across expirations do not pair: a ratio, left single
    (
        "calendar of unequal sizes",
        [opt("call", 100, -2, 2.0, E1), opt("call", 100, 1, 3.5, E2)],
        [("short call", 2, 400, 400, U, (102,)), ("long call", 1, -350, U, 350, (103.5,))],
    ),
]


@pytest.mark.parametrize(("legs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_table(legs: list[Leg], expected: list[tuple[Any, ...]]) -> None:
    got = strategies_of(legs)
    assert [summary(s) for s in got] == expected
    # every leg's quantity is used exactly once
    for leg in legs:
        used = sum(p.quantity for s in got for p in s.parts if p.leg is leg)
        assert used == leg.quantity


def test_every_named_strategy_has_a_row() -> None:
    named = {e[0] for _, _, rows in CASES for e in rows}
    for family in ("vertical", "straddle", "strangle", "iron condor", "butterfly"):
        assert any(family in n for n in named)
    assert {"calendar", "diagonal"} <= {
        s.family for _, legs, _ in CASES for s in strategies_of(legs)
    }
    assert {"covered call", "custom", "long put", "short put"} <= named


def test_greeks_are_per_share_times_multiplier_times_signed_quantity() -> None:
    call = opt(
        "call", 55, -2, 1.5, greeks={"delta": 0.3, "gamma": 0.05, "theta": -0.02, "vega": 0.1}
    )
    covered, naked = strategies_of([stock(100, 50), call])
    # stock 100 shares: delta +100; one short call: -1x100x0.30 = -30 -> 70
    # gamma -1x100x0.05 = -5; theta -1x100x(-0.02) = +2 $/day; vega -1x100x0.10 = -10
    assert covered.greeks == pytest.approx({"delta": 70, "gamma": -5, "theta": 2, "vega": -10})
    assert naked.greeks == pytest.approx({"delta": -30, "gamma": -5, "theta": 2, "vega": -10})


def test_a_greek_not_streamed_is_none_not_zero() -> None:
    call = opt(
        "call", 100, 1, 2.0, greeks={"delta": 0.5, "gamma": None, "theta": -0.1, "vega": 0.2}
    )
    (only,) = strategies_of([call])
    assert only.greeks == {"delta": 50.0, "gamma": None, "theta": -10.0, "vega": 20.0}


def test_as_dict_is_json_ready() -> None:
    (s,) = strategies_of([opt("call", 100, -1, 2.0, E1), opt("call", 100, 1, 3.5, E2)])
    assert s.as_dict() == {
        "key": s.key,
        "name": "call calendar",
        "family": "calendar",
        "underlying": "XYZ",
        "display": "XYZ",
        "account": "A1",
        "legs": [
            {"symbol": ".XYZ270115C100", "display": ".XYZ270115C100", "kind": "call",
             "strike": 100, "expiration": "2027-01-15", "quantity": -1},
            {"symbol": ".XYZ270219C100", "display": ".XYZ270219C100", "kind": "call",
             "strike": 100, "expiration": "2027-02-19", "quantity": 1},
        ],
        "expirations": ["2027-01-15", "2027-02-19"],
        "quantity": 1.0,
        "greeks": {"delta": 0.0, "gamma": 0.0, "theta": 0.0, "vega": 0.0},
        "net": -150.0,
        "net_kind": "debit",
        "max_profit": None,
        "max_loss": 150.0,
        "breakevens": None,
    }  # fmt: skip
    assert len(s.key) == 12 and int(s.key, 16) >= 0
    (stock_only,) = strategies_of([stock(-10, 20)])
    assert (stock_only.as_dict()["max_loss"], stock_only.as_dict()["net_kind"]) == (U, "credit")


def portfolio() -> list[Leg]:
    """Every row's legs at once, each row in its own account (so none mixes)."""
    legs = []
    for i, (_, row, _) in enumerate(CASES):
        legs += [dataclasses.replace(leg, account=f"{leg.account}-{i:02d}") for leg in row]
    return legs


def test_the_same_legs_in_any_order_give_the_same_strategies() -> None:
    legs = portfolio()
    expected = [s.as_dict() for s in strategies_of(legs)]
    rng = random.Random(32)
    for _ in range(25):
        shuffled = legs[:]
        rng.shuffle(shuffled)
        assert [s.as_dict() for s in strategies_of(shuffled)] == expected
    # and the stated order: underlying, account, first expiration (stock alone last)
    keys = [(d["underlying"], d["account"], d["expirations"][:1] or ["9999"]) for d in expected]
    assert keys == sorted(keys)
    assert len(expected) == sum(len(rows) for _, _, rows in CASES)


def test_the_key_names_the_same_holdings_alike_and_a_change_anew() -> None:
    legs = [opt("put", 95, 1, 1.0), opt("put", 100, -1, 2.0), stock(100, 50)]
    keys = [s.key for s in strategies_of(legs)]
    assert keys == [s.key for s in strategies_of(list(reversed(legs)))]
    assert len(set(keys)) == len(keys)
    bigger = [opt("put", 95, 2, 1.0), opt("put", 100, -2, 2.0), stock(100, 50)]
    assert not set(keys[:1]) & {s.key for s in strategies_of(bigger)}
