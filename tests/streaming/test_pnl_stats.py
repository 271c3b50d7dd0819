"""The P&L curve's stats on a table of curves (streaming/risk/pnl/stats.py)."""

from __future__ import annotations

import pytest

from streaming.risk.pnl.stats import as_day_change, curve_stats


def pts(*values):
    return [{"t": 1000 * i, "net_liq": None, "day_pnl": v} for i, v in enumerate(values)]


CASES = [
    # (day P&L values, high (value, t), low (value, t), drawdown (value, peak_t, trough_t))
    ((), None, None, None),
    ((None, None), None, None, None),
    ((5.0,), (5.0, 0), (5.0, 0), (0.0, 0, 0)),
    ((1.0, 2.0, 3.0), (3.0, 2000), (1.0, 0), (0.0, 0, 0)),
    ((3.0, 2.0, 1.0), (3.0, 0), (1.0, 2000), (2.0, 0, 2000)),
    # the largest fall is not from the day's high: 10 -> 4 (6) beats 12 -> 9 (3)
    ((0.0, 10.0, 4.0, 12.0, 9.0), (12.0, 3000), (0.0, 0), (6.0, 1000, 2000)),
    # the low comes before the peak: no drawdown from it
    ((-5.0, 8.0, 7.5), (8.0, 1000), (-5.0, 0), (0.5, 1000, 2000)),
    # a null in the middle is skipped, not read as 0
    ((4.0, None, 3.0), (4.0, 0), (3.0, 2000), (1.0, 0, 2000)),
    # repeated highs: the first time it was reached; falls measured from the running peak
    ((2.0, 2.0, -1.0, 2.0, -3.0), (2.0, 0), (-3.0, 4000), (5.0, 0, 4000)),
]


@pytest.mark.parametrize(("values", "high", "low", "drawdown"), CASES)
def test_curve_stats(values, high, low, drawdown):
    stats = curve_stats(pts(*values))
    assert stats["high"] == (None if high is None else {"value": high[0], "t": high[1]})
    assert stats["low"] == (None if low is None else {"value": low[0], "t": low[1]})
    expected = (
        None
        if drawdown is None
        else {"value": drawdown[0], "peak_t": drawdown[1], "trough_t": drawdown[2]}
    )
    assert stats["max_drawdown"] == expected


def test_points_out_of_order_are_read_in_time_order():
    points = [{"t": 2000, "day_pnl": 1.0}, {"t": 0, "day_pnl": 5.0}, {"t": 1000, "day_pnl": 9.0}]
    assert curve_stats(points)["max_drawdown"] == {"value": 8.0, "peak_t": 1000, "trough_t": 2000}


def test_a_brokers_net_liq_becomes_the_days_change():
    points = [
        {"t": 0, "net_liq": None},
        {"t": 1, "net_liq": 100.0},
        {"t": 2, "net_liq": 97.5},
        {"t": 3, "net_liq": None},
    ]
    assert [p["day_pnl"] for p in as_day_change(points)] == [None, 0.0, -2.5, None]
