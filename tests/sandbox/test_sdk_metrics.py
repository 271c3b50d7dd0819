"""The real SDK's market metrics, dividends, earnings and risk-free rate against the sandbox."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import anyio
import pytest
from tastytrade import DXLinkStreamer
from tastytrade.dxfeed import Greeks, Profile
from tastytrade.instruments import NestedOptionChain
from tastytrade.market_data import get_market_data_by_type
from tastytrade.metrics import get_dividends, get_earnings, get_market_metrics, get_risk_free_rate
from tastytrade.utils import TastytradeError

from tests.support.sdk import sdk_session

SYMBOLS = ["SPY", "AAPL", "NVDA", "SPX", "/ES", "ZZQX"]


async def test_market_metrics_for_every_kind_of_underlying(sandbox, refresh_token):
    """One MarketMetricInfo per symbol the market has, typed as the SDK reads it; repeatable.
    Dates are the market's: New York's (the UTC date turns hours before its day ends)."""
    today = sandbox.sandbox.market_date()
    async with sdk_session(sandbox, refresh_token) as session:
        metrics = await get_market_metrics(session, [*SYMBOLS, "1BAD"])
        again = await get_market_metrics(session, SYMBOLS)
    by_symbol = {m.symbol: m for m in metrics}
    assert list(by_symbol) == SYMBOLS  # the bad symbol is left out
    for m in metrics:
        assert 0 <= Decimal(m.implied_volatility_index_rank) <= 1
        assert Decimal(m.implied_volatility_index_rank) <= Decimal(m.implied_volatility_percentile)
        assert m.implied_volatility_index > 0 and m.historical_volatility_30_day > 0
        assert m.liquidity_rating is not None and 0 <= m.liquidity_rating <= 5
        assert m.borrow_rate is not None and m.lendability in ("Easy To Borrow", "Locate Required")
    for first, second in zip(metrics, again, strict=True):  # deterministic from the seed
        assert first.implied_volatility_index_rank == second.implied_volatility_index_rank
        assert (first.earnings is None) == (second.earnings is None)
        if first.earnings and second.earnings:
            assert first.earnings.model_dump(exclude={"updated_at"}) == (
                second.earnings.model_dump(exclude={"updated_at"})
            )
        assert first.historical_volatility_90_day == second.historical_volatility_90_day
    aapl, spy, spx, future = by_symbol["AAPL"], by_symbol["SPY"], by_symbol["SPX"], by_symbol["/ES"]
    assert aapl.market_cap > 0 and spx.market_cap == 0
    assert aapl.earnings is not None and aapl.earnings.expected_report_date > today
    assert spy.earnings is None and spx.earnings is None
    assert spy.dividend_ex_date is not None and spy.dividend_ex_date <= today
    assert spy.dividend_next_date is not None and spy.dividend_next_date > today
    assert spx.dividend_yield is None
    assert spy.beta == 1 and spy.implied_volatility_index == Decimal("0.15")
    assert future.option_expiration_implied_volatilities is None
    expirations = [e.expiration_date for e in spy.option_expiration_implied_volatilities or []]
    # listed until their day's close in New York: today's too (a Friday's weekly)
    assert expirations and all(d >= today for d in expirations)


async def test_a_coin_is_named_by_its_pair_and_a_future_by_its_product(sandbox, refresh_token):
    """tastytrade's market metrics know a coin by its pair (`BTC/USD`, as its positions and
    orders name it) and a future by its product (`/ES`, as tastytrade-cli asks them): the
    feed's `BTC/USD:CXTALP` and the look-alike `BTCUSD` are none of its metrics' symbols.
    The coin's β is its Profile's, and it lists no option expirations."""
    asked = ["BTC/USD", "BTC/USD:CXTALP", "BTCUSD", "/ES"]
    async with sdk_session(sandbox, refresh_token) as session:
        metrics = await get_market_metrics(session, asked)
        async with DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Profile, ["BTC/USD:CXTALP"])
            with anyio.fail_after(10):
                profile = await streamer.get_event(Profile)
    by_symbol = {m.symbol: m for m in metrics}
    assert list(by_symbol) == ["BTC/USD", "/ES"]
    coin = by_symbol["BTC/USD"]
    assert coin.beta == Decimal(str(profile.beta)).quantize(Decimal("0.01"))
    assert coin.implied_volatility_index > 0
    assert coin.option_expiration_implied_volatilities is None
    assert coin.dividend_yield is None


async def test_metrics_agree_with_the_feed(sandbox, refresh_token):
    """The IV index is the vol the market's Greeks use at the money, beta is the Profile's,
    and the market cap is the Profile's shares times the quote."""
    async with sdk_session(sandbox, refresh_token) as session:
        [metric] = await get_market_metrics(session, ["NVDA"])
        chain = (await NestedOptionChain.get(session, "NVDA"))[0]
        strikes = chain.expirations[0].strikes
        atm = strikes[len(strikes) // 2]
        async with DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Greeks, [atm.call_streamer_symbol])
            await streamer.subscribe(Profile, ["NVDA"])
            with anyio.fail_after(10):
                greeks = await streamer.get_event(Greeks)
                profile = await streamer.get_event(Profile)
        [quote] = await get_market_data_by_type(session, equities=["NVDA"])
    # a strike within half a step of the money sits at the bottom of the smile
    assert abs(Decimal(str(greeks.volatility)) - metric.implied_volatility_index) < Decimal("0.005")
    assert metric.beta == Decimal(str(profile.beta)).quantize(Decimal("0.01"))
    shares = Decimal(str(profile.shares))
    assert abs(metric.market_cap - shares * quote.mid) / metric.market_cap < Decimal("0.01")


async def test_dividends_and_earnings_history(sandbox, refresh_token):
    """Quarterly history, oldest first; `start-date` limits earnings; none for an ETF."""
    today = sandbox.sandbox.market_date()
    start = today - dt.timedelta(days=365)
    async with sdk_session(sandbox, refresh_token) as session:
        dividends = await get_dividends(session, "SPY")
        earnings = await get_earnings(session, "AAPL", start)
        [metric] = await get_market_metrics(session, ["SPY"])
        assert await get_earnings(session, "SPY", start) == []
        with pytest.raises(TastytradeError, match="record_not_found"):
            await get_dividends(session, "1BAD")
        with pytest.raises(TastytradeError, match="start-date: is missing"):
            await session._get("/market-metrics/historic-corporate-events/earnings-reports/AAPL")
    dates = [d.occurred_date for d in dividends]
    assert dates == sorted(dates) and dates[-1] == metric.dividend_ex_date
    assert all(80 <= (b - a).days <= 95 for a, b in itertools.pairwise(dates))
    assert all(d.amount > 0 for d in dividends)
    assert 3 <= len(earnings) <= 5
    assert all(start <= e.occurred_date <= today and e.eps > 0 for e in earnings)


async def test_risk_free_rate_and_refusals(sandbox, refresh_token):
    """The public rate is the one options are priced with; a missing `symbols` is a 400."""
    async with sdk_session(sandbox, refresh_token) as session:
        assert await get_risk_free_rate(session) == Decimal("0.045")
        with pytest.raises(TastytradeError, match="symbols: is missing"):
            await session._get("/market-metrics")
