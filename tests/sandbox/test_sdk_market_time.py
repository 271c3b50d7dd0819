"""The real tastytrade SDK reading market sessions and holidays, warrants, currency pairs and
quantity precisions from the sandbox over real sockets.

Sessions and holidays come from `core/trading_calendar.py`, the calendar the Tradier clock
and calendar use, so the expectations here are computed from it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from tastytrade.instruments import Forex, Warrant, get_quantity_decimal_precisions
from tastytrade.market_sessions import (
    ExchangeType,
    MarketSession,
    MarketStatus,
    get_futures_holidays,
    get_market_holidays,
    get_market_sessions,
)
from tastytrade.order import InstrumentType
from tastytrade.utils import TastytradeError

from sandbox.core import trading_calendar as cal
from sandbox.tastytrade.market_time import market_session
from tests.support.sdk import sdk_session

UTC = dt.UTC


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_closed_weekend_before_a_holiday_matches_tastytrades_own_example():
    """Saturday 2025-02-15, Monday the 17th a holiday: the SDK docs' real answer (open 09:30
    New York, close 16:00, extended close 20:00), except that the session starts at the
    calendar's pre-market 07:00 where tastytrade's example says 08:15."""
    s = MarketSession(**market_session("Equity", _at("2025-02-15T18:00:00")))
    assert s.status == MarketStatus.CLOSED
    assert (s.open_at, s.close_at, s.start_at, s.close_at_ext) == (None, None, None, None)
    assert s.next_session is not None and s.previous_session is not None
    assert s.next_session.session_date == dt.date(2025, 2, 18)
    assert s.next_session.open_at == _at("2025-02-18T14:30:00")
    assert s.next_session.close_at == _at("2025-02-18T21:00:00")
    assert s.next_session.close_at_ext == _at("2025-02-19T01:00:00")
    assert s.next_session.start_at == _at("2025-02-18T12:00:00")
    assert s.previous_session.session_date == dt.date(2025, 2, 14)
    assert s.previous_session.close_at == _at("2025-02-14T21:00:00")


def test_states_through_a_trading_day_and_an_early_close():
    """Pre-market, Open, Extended, then Closed; the day after Thanksgiving closes at 13:00."""
    day = "2025-03-04"  # a Tuesday, EST (UTC-5)
    states = {
        "11:30": MarketStatus.CLOSED,
        "13:30": MarketStatus.PRE_MARKET,
        "15:00": MarketStatus.OPEN,
        "22:00": MarketStatus.EXTENDED,
        "02:00": MarketStatus.CLOSED,  # the next morning, UTC
    }
    for clock, state in states.items():
        moment = _at(f"{day}T{clock}:00")
        if clock == "02:00":
            moment += dt.timedelta(days=1)
        assert MarketSession(**market_session("Equity", moment)).status == state, clock
    open_now = MarketSession(**market_session("Equity", _at(f"{day}T15:00:00")))
    assert open_now.open_at == _at(f"{day}T14:30:00")
    assert open_now.previous_session.session_date == dt.date(2025, 3, 3)
    assert open_now.next_session.session_date == dt.date(2025, 3, 5)
    black_friday = MarketSession(**market_session("Equity", _at("2025-11-28T17:00:00")))
    assert black_friday.status == MarketStatus.OPEN
    assert black_friday.close_at == _at("2025-11-28T18:00:00")
    assert black_friday.close_at_ext == _at("2025-11-28T22:00:00")


def test_futures_sessions_open_the_evening_before():
    """CME's session for a day opens 18:00 New York the evening before and closes 17:00."""
    sunday_night = _at("2025-03-03T00:00:00")  # Sunday 19:00 New York
    s = MarketSession(**market_session("CME", sunday_night))
    assert s.status == MarketStatus.OPEN
    assert s.open_at == _at("2025-03-02T23:00:00")
    assert s.close_at == _at("2025-03-03T22:00:00")
    assert s.instrument_collection == "CME"
    saturday = MarketSession(**market_session("CFE", _at("2025-03-01T18:00:00")))
    assert saturday.status == MarketStatus.CLOSED
    assert saturday.next_session.open_at == _at("2025-03-02T23:00:00")


async def test_sdk_market_sessions_now(sandbox, refresh_token):
    """get_market_sessions answers one session per asked collection, in the state the
    calendar gives for now."""
    async with sdk_session(sandbox, refresh_token) as session:
        for _ in range(3):  # retried only if a state boundary passes during the call
            before = dt.datetime.now(UTC)
            sessions = await get_market_sessions(
                session, [ExchangeType.NYSE, ExchangeType.CME, ExchangeType.CFE]
            )
            after = dt.datetime.now(UTC)
            expected = [
                MarketSession(**market_session(c, before)) for c in ("Equity", "CME", "CFE")
            ]
            if expected == [
                MarketSession(**market_session(c, after)) for c in ("Equity", "CME", "CFE")
            ]:
                break
    assert [s.instrument_collection for s in sessions] == ["Equity", "CME", "CFE"]
    assert sessions == expected


async def test_sdk_holidays_are_the_calendars(sandbox, refresh_token):
    today = dt.datetime.now(UTC).date()
    async with sdk_session(sandbox, refresh_token) as session:
        equities = await get_market_holidays(session)
        cme = await get_futures_holidays(session, ExchangeType.CME)
    expected = sorted(d for y in range(today.year - 1, today.year + 2) for d in cal.holidays(y))
    assert set(expected) <= set(equities.holidays)
    assert equities.holidays == sorted(equities.holidays)
    assert dt.date(2025, 4, 18) in equities.holidays  # Good Friday 2025
    assert dt.date(2025, 11, 28) in equities.half_days
    assert all(not cal.is_trading_day(d) for d in equities.holidays)
    assert all(d in cal.early_closes(d.year) for d in equities.half_days)
    assert cme == equities


async def test_unknown_futures_exchange_is_not_found(sandbox, refresh_token):
    async with sdk_session(sandbox, refresh_token) as session:
        await session.refresh()
        response = await session._client.get("/market-time/futures/holidays/NOPE")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "record_not_found"


async def test_no_warrants_and_no_currency_pairs(sandbox, refresh_token):
    """The simulated market lists neither: empty lists, and a lookup is not found."""
    async with sdk_session(sandbox, refresh_token) as session:
        assert await Warrant.get(session) == []
        assert await Warrant.get(session, ["NKLAW"]) == []
        with pytest.raises(TastytradeError, match="record_not_found"):
            await Warrant.get(session, "NKLAW")
        assert await Forex.get(session) == []


async def test_quantity_decimal_precisions(sandbox, refresh_token):
    """Whole shares and contracts (the brokerage takes no fractional quantity)."""
    async with sdk_session(sandbox, refresh_token) as session:
        precisions = await get_quantity_decimal_precisions(session)
    by_type = {(p.instrument_type, p.symbol): p for p in precisions}
    equity = by_type[(InstrumentType.EQUITY, None)]
    assert (equity.value, equity.minimum_increment_precision) == (0, 0)
    option = by_type[(InstrumentType.EQUITY_OPTION, None)]
    assert (option.value, option.minimum_increment_precision) == (0, 0)
    assert by_type[(InstrumentType.FUTURE, None)].value == 0
