"""β from history where no broker states it: the least-squares slope of the symbol's
daily returns on SPY's, over one year of daily closes aligned by date.

Only complete days count (the last candle is still forming: its close is the live
price, which would make β move with every tick). Returns are taken between consecutive
dates both series have, so a day one of them lacks does not pair unrelated moves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np

from streaming.brokers.bars import DAY_MS, day_start_ms
from streaming.contract.risk import Metrics

#: What β is computed over (the contract's `beta_window`).
WINDOW = "1y daily closes vs SPY"
SOURCE: Final = "regression"
#: The Metrics fields a regression fills (the IV fields stay the broker's, or null).
BETA_FIELDS = ("beta", "beta_source", "beta_window", "beta_as_of")
#: How far back the closes go.
LOOKBACK_MS = 365 * DAY_MS
#: Fewer aligned returns than this say nothing about β.
MIN_RETURNS = 20


def history_start(now_ms: int) -> int:
    """Where the candle history for a β starts."""
    return day_start_ms(now_ms) - LOOKBACK_MS


def complete_closes(candles: Sequence[Mapping[str, object]], now_ms: int) -> dict[int, float]:
    """Day (candle `t`) -> close, for the days within the window that have ended: a
    history's last candle is the forming one (`SupportsCandles`), whatever its date (before
    the open it is the last session's, still moving with the broker's late prints)."""
    today = day_start_ms(now_ms)
    start = today - LOOKBACK_MS
    closes: dict[int, float] = {}
    for c in candles[:-1]:
        t, close = c.get("t"), c.get("close")
        if (
            isinstance(t, int)
            and start <= t < today
            and isinstance(close, int | float)
            and close > 0
        ):
            closes[t] = float(close)
    return closes


def regression_beta(
    closes: dict[int, float], benchmark: dict[int, float]
) -> tuple[float, int] | None:
    """(β, the last day used) of `closes` against `benchmark`, None with too few days."""
    days = sorted(closes.keys() & benchmark.keys())
    if len(days) <= MIN_RETURNS:
        return None
    y = np.array([closes[d] for d in days])
    x = np.array([benchmark[d] for d in days])
    ry, rx = y[1:] / y[:-1] - 1.0, x[1:] / x[:-1] - 1.0
    variance = float(np.var(rx))
    if variance == 0.0:
        return None
    slope = float(np.mean((rx - rx.mean()) * (ry - ry.mean())) / variance)
    return slope, days[-1]


def regression_metrics(beta: float, as_of: int, fetched_ms: int) -> Metrics:
    """The contract's Metrics of a regression β (no IV source)."""
    return {
        **empty_metrics(fetched_ms),
        "beta": beta,
        "beta_source": SOURCE,
        "beta_window": WINDOW,
        "beta_as_of": as_of,
    }


def empty_metrics(fetched_ms: int) -> Metrics:
    """Metrics with nothing known (every value null), fetched at `fetched_ms`."""
    return {
        "beta": None,
        "beta_source": None,
        "beta_window": None,
        "beta_as_of": None,
        "iv_index": None,
        "iv_rank": None,
        "iv_percentile": None,
        "iv_source": None,
        "expiration_ivs": {},
        "dividend_yield": None,
        "t": fetched_ms,
    }
