"""The portfolio limits' crossing rule as a table (streaming/risk/limits/rules.py): a
crossing is armed → outside; the band re-arms inside by the hysteresis; the daily loss
once per trading day; an unknown value evaluates nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from streaming.risk.limits.rules import (
    BETA_DELTA_ABOVE,
    BETA_DELTA_BELOW,
    DAILY_LOSS,
    Armed,
    LimitBook,
    Limits,
    Values,
    message,
    trading_day,
)

NY = dt.timezone(dt.timedelta(hours=-5))
#: Wednesday 2026-11-25 12:00 New York.
WED = int(dt.datetime(2026, 11, 25, 12, tzinfo=NY).timestamp() * 1000)
DAY = 86_400_000


def book(**limits) -> LimitBook:
    b = LimitBook()
    b.replace(Limits(**limits), {})
    return b


def steps(b: LimitBook, values: list[tuple[float | None, float | None]], now: int = WED):
    """(action, kind) of each step's changes."""
    return [[(c.action, c.kind) for c in b.check(Values(bwd, pnl), now)] for bwd, pnl in values]


@pytest.mark.parametrize(
    ("limits", "values", "expected"),
    [
        # above: crosses once, hovers at the limit without a second crossing, re-arms only
        # 2 % (≥ 1 share) back inside, then crosses again
        (
            {"beta_delta_max": 100},
            [(99, None), (101, None), (99.5, None), (100.5, None), (98, None), (100.1, None)],
            [
                [],
                [("breach", BETA_DELTA_ABOVE)],
                [],
                [],
                [("rearm", BETA_DELTA_ABOVE)],
                [("breach", BETA_DELTA_ABOVE)],
            ],
        ),
        # below: the mirror image, with a small limit (hysteresis: the 1-share minimum)
        (
            {"beta_delta_min": -10},
            [(-11, None), (-9.5, None), (-8.9, None), (-10.5, None)],
            [
                [("breach", BETA_DELTA_BELOW)],
                [],
                [("rearm", BETA_DELTA_BELOW)],
                [("breach", BETA_DELTA_BELOW)],
            ],
        ),
        # exactly at the band's edge is inside
        ({"beta_delta_min": -5, "beta_delta_max": 5}, [(5, None), (-5, None)], [[], []]),
        # an unknown β-weighted delta (no metrics) evaluates nothing: no crossing, no re-arm
        (
            {"beta_delta_max": 100},
            [(None, None), (150, None), (None, None), (0, None)],
            [[], [("breach", BETA_DELTA_ABOVE)], [], [("rearm", BETA_DELTA_ABOVE)]],
        ),
        # daily loss: at -limit crosses; a recovery does not re-arm it the same day
        (
            {"daily_loss": 1000},
            [(None, -999.99), (None, -1000), (None, 500), (None, -2000)],
            [[], [("breach", DAILY_LOSS)], [], []],
        ),
        # a partial day P&L is passed as None: not evaluated
        ({"daily_loss": 1}, [(None, None)], [[]]),
        # limits off: nothing
        ({}, [(1e9, -1e9)], [[]]),
        # both at once
        (
            {"beta_delta_max": 10, "daily_loss": 5},
            [(20, -10)],
            [[("breach", BETA_DELTA_ABOVE), ("breach", DAILY_LOSS)]],
        ),
    ],
)
def test_crossing_table(limits, values, expected):
    assert steps(book(**limits), values) == expected


def test_the_daily_loss_re_arms_the_next_trading_day_and_a_weekend_is_friday():
    b = book(daily_loss=100)
    assert steps(b, [(None, -200)], WED) == [[("breach", DAILY_LOSS)]]
    assert steps(b, [(None, -200)], WED + DAY // 3) == [[]]  # 20:00, still Wednesday in New York
    assert steps(b, [(None, -200)], WED + DAY) == [[("breach", DAILY_LOSS)]]  # Thursday
    friday, saturday, monday = WED + 2 * DAY, WED + 3 * DAY, WED + 5 * DAY
    assert steps(b, [(None, -200)], friday) == [[("breach", DAILY_LOSS)]]
    assert steps(b, [(None, -200)], saturday) == [[]]
    assert steps(b, [(None, -200)], monday) == [[("breach", DAILY_LOSS)]]
    assert trading_day(saturday) == trading_day(friday) == dt.date(2026, 11, 27)


def test_a_stored_state_is_respected_at_start():
    """A new owner loads `armed=False` (crossed before a failover): no crossing again."""
    b = LimitBook()
    b.replace(
        Limits(beta_delta_max=10, daily_loss=5),
        {BETA_DELTA_ABOVE: Armed(armed=False), DAILY_LOSS: Armed(day=trading_day(WED))},
    )
    assert steps(b, [(20, -10)]) == [[]]


def test_the_change_carries_the_value_and_the_limit_and_the_message_says_them():
    (change,) = book(daily_loss=1000).check(Values(None, -1204.5), WED)
    assert (change.value, change.limit, change.day) == (-1204.5, 1000, dt.date(2026, 11, 25))
    assert message(DAILY_LOSS, -1204.5, 1000) == (
        "Day P&L -1,204.50 USD is past your daily loss limit of 1,000.00 USD"
    )
    assert message(BETA_DELTA_ABOVE, 152.3, 150) == (
        "β-weighted delta +152 SPY shares is above your limit of +150"
    )
    assert message(BETA_DELTA_BELOW, -2.25, -2) == (
        "β-weighted delta -2.2 SPY shares is below your limit of -2.0"
    )
