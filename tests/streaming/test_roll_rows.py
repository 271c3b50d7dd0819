"""A roll picker row from its quotes (docs/streaming-contract.md, "The roll picker"): a leg
without a bid and an ask leaves the net unknown and says so, a quote older than
`STREAM_QUOTE_STALE_AFTER` marks the row stale (never shown as fresh), and the new short
put's POP is N(-d2) at its break-even, computed here with scipy from the row's inputs."""

from __future__ import annotations

import datetime as dt
import math

from scipy.stats import norm

from streaming.pages.roll.choices import Held
from streaming.pages.roll.rows import Option, Position, row, unquoted

NOW = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)
STALE_AFTER = 10.0


def put(day: str, strike: float, mid: float | None, *, age_s: float = 1.0) -> Option:
    expiration = dt.date.fromisoformat(day)
    code = f"{expiration:%y%m%d}P{strike:g}"
    return Option(
        symbol=f".SPY{code}",
        occ=f"SPY{expiration:%y%m%d}P{round(strike * 1000):08d}",
        right="put",
        strike=strike,
        expiration=expiration,
        mid=mid,
        delta=-0.3,
        iv=0.2,
        quote_t=NOW_MS - int(age_s * 1000),
    )


def short_put(mid: float | None, *, age_s: float = 1.0) -> Position:
    held = put("2026-12-18", 580.0, mid, age_s=age_s)
    return Position("5WT1", "SPY", 100.0, ((Held("put", 580.0, -1), held),))


def made(position: Position, new: Option) -> dict:
    return row(position, "delta", [new], 590.0, now=NOW, rate=0.04, stale_after=STALE_AFTER)


def test_a_credit_roll_at_mid_with_the_new_puts_pop() -> None:
    answer = made(short_put(2.00), put("2027-01-15", 575.0, 3.10))
    assert answer["net"] == 1.10  # sell the new at 3.10, buy back the old at 2.00
    assert [leg["action"] for leg in answer["legs"]] == ["Buy to Close", "Sell to Open"]
    assert (answer["days_added"], answer["stale"]) == (28, False)
    (breakeven,) = answer["breakevens"]
    assert breakeven == 575.0 - 3.10
    inputs = answer["pop_inputs"]
    t = inputs["days"] / 365
    s = inputs["iv"]
    d2 = (math.log(inputs["price"] / breakeven) + (inputs["rate"] - s * s / 2) * t) / (
        s * math.sqrt(t)
    )
    assert answer["pop"] == round(float(norm.cdf(d2)), 4)  # P(S_T > break-even)


def test_a_leg_without_a_quote_leaves_the_net_unknown_in_words() -> None:
    position, new = short_put(2.00), put("2027-01-15", 575.0, None)
    answer = made(position, new)
    assert answer["net"] is None
    assert unquoted(position, [new]) == [
        "No quote for SPY 15 Jan 27 575 P: its roll's net is unknown."
    ]


def test_a_quote_older_than_the_stale_bound_marks_the_row_stale() -> None:
    fresh = made(short_put(2.00, age_s=STALE_AFTER - 1), put("2027-01-15", 575.0, 3.10))
    old = made(short_put(2.00, age_s=STALE_AFTER + 1), put("2027-01-15", 575.0, 3.10))
    assert (fresh["stale"], old["stale"]) == (False, True)
