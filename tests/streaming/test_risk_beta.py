"""β by regression (streaming/risk/metrics/beta.py) and tastytrade's metrics as the contract's
(streaming/brokers/tastytrade/metrics.py), on hand-made inputs with known answers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from tastytrade.metrics import MarketMetricInfo

from streaming.brokers.bars import DAY_MS, day_start_ms
from streaming.brokers.tastytrade.metrics import metrics_of
from streaming.risk.metrics import beta

NOW = 1_795_700_000_000  # 2026-11-26, a Thursday afternoon UTC
TODAY = day_start_ms(NOW)


def candles(closes: list[float], *, last_day: int = TODAY - DAY_MS) -> list[dict]:
    days = [last_day - (len(closes) - 1 - i) * DAY_MS for i in range(len(closes))]
    return [{"t": t, "close": c} for t, c in zip(days, closes, strict=True)]


def walk(returns: np.ndarray, start: float = 100.0) -> list[float]:
    return list(start * np.cumprod(np.concatenate([[1.0], 1.0 + returns])))


def test_the_slope_of_daily_returns_is_beta():
    rng = np.random.default_rng(7)
    spy_r = rng.normal(0, 0.01, 200)
    stock_r = 1.7 * spy_r + rng.normal(0, 0.002, 200)
    forming = {"t": TODAY, "close": 1.0}  # today's, still moving: never counted
    spy = beta.complete_closes([*candles(walk(spy_r)), forming], NOW)
    stock = beta.complete_closes([*candles(walk(stock_r, 50.0)), forming], NOW)
    fit = beta.regression_beta(stock, spy)
    assert fit is not None
    slope, as_of = fit
    assert slope == pytest.approx(float(np.polyfit(spy_r, stock_r, 1)[0]), rel=1e-9)
    assert slope == pytest.approx(1.7, abs=0.05)
    assert as_of == TODAY - DAY_MS


def test_the_last_candle_is_the_forming_one_whatever_its_date():
    closes = beta.complete_closes(candles([10.0, 11.0, 12.0]), NOW)
    assert sorted(closes.values()) == [10.0, 11.0]  # 12 was the last (forming) one


def test_days_are_aligned_and_old_ones_left_out():
    spy = {TODAY - d * DAY_MS: 100.0 + d for d in range(1, 40)}
    stock = dict(spy)
    del stock[TODAY - 5 * DAY_MS]  # a day only SPY has
    fit = beta.regression_beta(stock, spy)
    assert fit is not None and fit[0] == pytest.approx(1.0, rel=1e-12)
    old = [{"t": TODAY - 400 * DAY_MS, "close": 5.0}, *candles([1.0, 2.0])]
    assert TODAY - 400 * DAY_MS not in beta.complete_closes(old, NOW)


def test_too_few_days_or_a_flat_benchmark_say_nothing():
    spy = {TODAY - d * DAY_MS: 100.0 + d for d in range(1, beta.MIN_RETURNS + 1)}
    assert beta.regression_beta(spy, spy) is None  # MIN_RETURNS days: one return short
    flat = {d: 100.0 for d in spy} | {TODAY - 30 * DAY_MS: 100.0}
    assert beta.regression_beta(flat, flat) is None


def info(symbol: str, **fields) -> MarketMetricInfo:
    """A MarketMetricInfo parsed by the SDK from the wire's shape (dashes, strings)."""
    wire = {"symbol": symbol, "updated-at": "2026-11-26T14:02:00.000Z", "market-cap": "1", **fields}
    return MarketMetricInfo(**wire)


def test_tastytrade_ranks_are_percent_and_decimals_floats():
    m = metrics_of(
        info(
            "AAPL",
            **{
                "beta": "1.21",
                "beta-updated-at": "2026-11-26T14:02:00.000Z",
                "implied-volatility-index": "0.2834",
                "tos-implied-volatility-index-rank": "0.355",
                "tw-implied-volatility-index-rank": "0.9",
                "implied-volatility-percentile": "0.41",
                "dividend-yield": "0.0044",
                "option-expiration-implied-volatilities": [
                    {
                        "expiration-date": "2026-12-18",
                        "settlement-type": "AM",
                        "option-chain-type": "Standard",
                        "implied-volatility": "0.5",
                    },
                    {
                        "expiration-date": "2026-12-18",
                        "settlement-type": "PM",
                        "option-chain-type": "Standard",
                        "implied-volatility": "0.3",
                    },
                    {
                        "expiration-date": "2026-12-04",
                        "settlement-type": "PM",
                        "option-chain-type": "Standard",
                    },
                ],
            },
        ),
        NOW,
    )
    when = int(dt.datetime(2026, 11, 26, 14, 2, tzinfo=dt.UTC).timestamp() * 1000)
    assert m == {
        "beta": 1.21,
        "beta_source": "tastytrade",
        "beta_window": None,
        "beta_as_of": when,
        "iv_index": 0.2834,
        "iv_rank": pytest.approx(35.5),  # tos, not tw, for an equity
        "iv_percentile": pytest.approx(41.0),
        "iv_source": "tastytrade",
        "expiration_ivs": {"2026-12-18": 0.3},  # PM-settled wins; no IV: left out
        "dividend_yield": 0.0044,
        "t": NOW,
    }


def test_futures_rank_is_tw_and_nothing_known_is_null():
    future = metrics_of(
        info(
            "/ES",
            **{
                "tos-implied-volatility-index-rank": "0.1",
                "tw-implied-volatility-index-rank": "0.62",
            },
        ),
        NOW,
    )
    assert future["iv_rank"] == pytest.approx(62.0)
    bare = metrics_of(info("XYZ"), NOW)
    assert bare["beta"] is None and bare["beta_source"] is None and bare["beta_as_of"] is None
    assert bare["iv_source"] is None and bare["iv_rank"] is None and bare["expiration_ivs"] == {}
