"""Reference facts about the simulated market's underlyings: volatility metrics, liquidity,
borrow terms, earnings and dividends.

Brokers publish these beside quotes (tastytrade's market metrics, an equity's lendability).
Everything is a pure function of the market's seed, the symbol and the date, and is built
on the market's own numbers wherever it has one: the implied volatility is the one its
options are priced with, beta and shares are its Profile's, prices are its quotes. No
façade format here: each façade renders a :class:`Fundamentals` its own way.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from decimal import Decimal

from sandbox.core.market.listings import instrument_kind
from sandbox.core.market.walk import Market

__all__ = ["Dividend", "Earnings", "Fundamentals", "fundamentals"]

_QUARTER = dt.timedelta(days=91)
_HISTORY_QUARTERS = 12


def _units(seed: int, symbol: str, topic: str, n: int) -> list[float]:
    """``n`` uniforms in [0, 1) fixed by (seed, symbol, topic)."""
    rng = random.Random(f"{seed}:{symbol}:{topic}")  # str seeds hash the same everywhere
    return [rng.random() for _ in range(n)]


def _dec(value: float, places: int) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def _weekday_on_or_after(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _weekday_on_or_before(day: dt.date) -> dt.date:
    """For past dates: a weekend moves back, so a past event never lands after today."""
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


@dataclass(frozen=True, slots=True)
class Dividend:
    ex_date: dt.date
    pay_date: dt.date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Earnings:
    report_date: dt.date
    eps: Decimal
    estimated: bool
    time_of_day: str  # "BTO" (before the open) or "AMC" (after the close)


@dataclass(frozen=True, slots=True)
class Fundamentals:
    """What a broker knows about an underlying beyond its quote (None: does not apply)."""

    symbol: str
    kind: str  # "stock" | "etf" | "index" | "future"
    description: str
    iv_index: Decimal  # the at-the-money vol the market prices options with
    iv_index_5_day_change: Decimal
    iv_rank: Decimal  # fractions, 0..1, as tastytrade sends them
    iv_percentile: Decimal
    hv_30: Decimal
    hv_60: Decimal
    hv_90: Decimal
    beta: Decimal | None
    corr_spy_3month: Decimal
    market_cap: Decimal
    shares: Decimal | None
    liquidity_value: Decimal
    liquidity_rank: Decimal
    liquidity_rating: int  # 0..5
    lendability: str  # "Easy To Borrow" | "Locate Required"
    borrow_rate: Decimal  # annual percent
    eps: Decimal | None
    pe_ratio: Decimal | None
    dividend_rate: Decimal | None  # per share per year
    dividend_yield: Decimal | None  # fraction
    dividends: tuple[Dividend, ...]  # past ex-dates, newest first
    next_dividend: Dividend | None
    earnings: tuple[Earnings, ...]  # past reports, newest first
    next_earnings: Earnings | None


def _dividends(
    seed: int, symbol: str, kind: str, ref_price: float, today: dt.date
) -> tuple[tuple[Dividend, ...], Dividend | None, Decimal | None]:
    """Quarterly dividends for every ETF and most stocks; none for indices and futures."""
    pays, level, phase = _units(seed, symbol, "dividend", 3)
    if kind == "etf":
        annual_yield = 0.005 + 0.03 * level
    elif kind == "stock" and pays < 0.6:
        annual_yield = 0.003 + 0.022 * level
    else:
        return (), None, None
    amount = _dec(ref_price * annual_yield / 4.0, 4)
    anchor = dt.date(2000, 1, 1) + dt.timedelta(days=int(phase * 91))
    quarters = (today - anchor).days // 91
    last_ex = anchor + _QUARTER * quarters
    ex_dates = [_weekday_on_or_before(last_ex - _QUARTER * i) for i in range(_HISTORY_QUARTERS)]
    past = tuple(Dividend(ex, ex + dt.timedelta(days=14), amount) for ex in ex_dates)
    upcoming_ex = _weekday_on_or_after(last_ex + _QUARTER)
    upcoming = Dividend(upcoming_ex, upcoming_ex + dt.timedelta(days=14), amount)
    return past, upcoming, amount * 4


def _earnings(
    seed: int, symbol: str, kind: str, ref_price: float, today: dt.date
) -> tuple[tuple[Earnings, ...], Earnings | None, Decimal | None]:
    """Quarterly reports for stocks only (funds and indices report no earnings)."""
    if kind != "stock":
        return (), None, None
    pe, phase, timing, *noise = _units(seed, symbol, "earnings", 3 + _HISTORY_QUARTERS + 1)
    annual_eps = ref_price / (12.0 + 30.0 * pe)
    time_of_day = "BTO" if timing < 0.5 else "AMC"
    anchor = dt.date(2000, 1, 10) + dt.timedelta(days=int(phase * 91))
    quarters = (today - anchor).days // 91
    last = anchor + _QUARTER * quarters
    past = tuple(
        Earnings(
            _weekday_on_or_before(last - _QUARTER * i),
            _dec(annual_eps / 4.0 * (0.8 + 0.4 * noise[i]), 2),
            False,
            time_of_day,
        )
        for i in range(_HISTORY_QUARTERS)
    )
    upcoming = Earnings(
        _weekday_on_or_after(last + _QUARTER),
        _dec(annual_eps / 4.0 * (0.9 + 0.2 * noise[-1]), 2),
        True,
        time_of_day,
    )
    return past, upcoming, _dec(annual_eps, 2)


def fundamentals(market: Market, symbol: str, today: dt.date) -> Fundamentals | None:
    """The reference facts of an underlying the market quotes (None for anything else)."""
    kind = instrument_kind(symbol)
    if kind is None or not market.ensure(symbol):
        return None
    seed = market.seed
    profile = market.profile(symbol)
    summary = market.summary(symbol)
    price = market.mid(symbol)
    ref_price = market.reference_price(symbol)
    iv = market.implied_volatility(symbol)
    rank, pct, change, h30, h60, h90, corr, lend, rate = _units(seed, symbol, "vol", 9)
    shares = profile["shares"]
    dollar_volume = max(1.0, summary["prevDayVolume"] * price)
    liquidity = math.log10(dollar_volume)  # about 6 (thin) .. 11 (SPY)
    dividends, next_dividend, dividend_rate = _dividends(seed, symbol, kind, ref_price, today)
    earnings, next_earnings, eps = _earnings(seed, symbol, kind, ref_price, today)
    hard = kind == "stock" and lend < 0.15
    return Fundamentals(
        symbol=symbol,
        kind=kind,
        description=profile["description"],
        iv_index=_dec(iv, 6),
        iv_index_5_day_change=_dec(iv * 0.2 * (change - 0.5), 6),
        iv_rank=_dec(rank, 6),
        iv_percentile=_dec(max(rank, pct), 6),
        hv_30=_dec(iv * (0.7 + 0.5 * h30), 6),
        hv_60=_dec(iv * (0.75 + 0.4 * h60), 6),
        hv_90=_dec(iv * (0.8 + 0.3 * h90), 6),
        beta=None if profile["beta"] is None else _dec(profile["beta"], 2),
        corr_spy_3month=_dec(1.0 if symbol == "SPY" else 0.3 + 0.65 * corr, 2),
        market_cap=_dec(shares * price if shares else 0.0, 0),
        shares=None if shares is None else _dec(shares, 0),
        liquidity_value=_dec(dollar_volume / 1000.0, 2),
        liquidity_rank=_dec(max(0.0, (liquidity - 5.0) / 5.0), 6),
        liquidity_rating=max(0, min(5, int(liquidity) - 6)),
        lendability="Locate Required" if hard else "Easy To Borrow",
        borrow_rate=_dec(5.0 + 60.0 * rate if hard else 0.25 * rate, 4),
        eps=eps,
        pe_ratio=None if not eps or eps <= 0 else _dec(price / float(eps), 2),
        dividend_rate=dividend_rate,
        dividend_yield=None if dividend_rate is None else _dec(float(dividend_rate) / price, 6),
        dividends=dividends,
        next_dividend=next_dividend,
        earnings=earnings,
        next_earnings=next_earnings,
    )
