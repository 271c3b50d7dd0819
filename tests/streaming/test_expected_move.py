"""The expected move (streaming/portfolio/expected_move.py): price x IV x sqrt(days/365), and
the chain page's line at first paint, the same text the browser writes on its first render
(static/js/stream/expected-move.js, run by node on the same cases)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from streaming.portfolio.expected_move import (
    close_of,
    days_until,
    expected_move,
    expected_move_text,
)
from tests.support.node import node_tool

#: 2026-12-18's close, 16:00 EST = 21:00 UTC.
CLOSE = dt.datetime(2026, 12, 18, 21, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _rows(ivs: dict[float, tuple[float | None, float | None]]) -> list[dict]:
    return [{"strike": k, "callIv": c, "putIv": p} for k, (c, p) in ivs.items()]


def test_the_move_is_price_times_iv_times_root_time() -> None:
    """One sd of the price in `days` calendar days; 0 once the horizon has passed."""
    assert expected_move(100.0, 0.25, 45.25) == pytest.approx(100 * 0.25 * math.sqrt(45.25 / 365))
    assert expected_move(200.0, 0.3, 365.0) == pytest.approx(60.0)
    assert expected_move(100.0, 0.25, -1.0) == 0.0
    assert close_of(dt.date(2026, 12, 18)) == CLOSE
    assert days_until(dt.date(2026, 12, 18), CLOSE - 45.25 * DAY) == pytest.approx(45.25)


CASES = [
    # the ATM strike 100: (0.24 + 0.26) / 2 = 0.25 over 45.25 days
    ("SPY", 100.0, {95: (0.3, 0.32), 100: (0.24, 0.26), 105: (0.2, None)}, 45.25),
    # a tie between 100 and 105 goes to the lower strike (as `atm_strike`)
    ("SPY", 102.5, {100: (0.24, 0.26), 105: (0.4, 0.4)}, 10.5),
    # only the put's IV is known; a price in the thousands (separators)
    ("SPX", 5912.34, {5900: (None, 0.18), 5925: (0.17, 0.17)}, 3.25),
    ("QQQ", 512.37, {510: (0.2213, 0.2391), 515: (0.2, 0.2)}, 0.7),
    # no IV at the money, no price, a close already past: words, never a number
    ("SPY", 100.0, {100: (None, None), 105: (0.2, 0.2)}, 30.0),
    ("SPY", None, {100: (0.2, 0.2)}, 30.0),
    ("SPY", 100.0, {100: (0.2, 0.2)}, -0.5),
]


def test_the_first_paint_says_what_the_browser_writes() -> None:
    """The server's line at first paint is the browser's for the same price, rows and
    clock: the move to 2 decimals, its percent to 1, the range; or the same sentence."""
    cases = []
    server = []
    for name, price, ivs, days in CASES:
        now = CLOSE - days * DAY
        rows = _rows(ivs)
        server.append(
            expected_move_text(
                name=name, expiration=dt.date(2026, 12, 18), price=price, rows=rows, now=now
            )
        )
        cases.append(
            {
                "name": name,
                "expiration": "2026-12-18",
                "price": price,
                "rows": rows,
                "now": now.timestamp() * 1000,
            }
        )
    assert server[0] == "Expected move ±8.80 (±8.8%) by 2026-12-18: 91.20 \u2013 108.80"
    assert server[4] == "Expected move: the IV at the money has not streamed yet."
    assert node_tool("expected-move.mjs", {"cases": cases}) == server
