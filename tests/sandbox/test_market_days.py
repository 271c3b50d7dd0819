"""One market date and one trading calendar for every façade: which expirations are listed,
the previous close's date, expirations moved off NYSE holidays.

The sandbox's clock is pinned with `SandboxConfig.start_time` (it then runs on from that
instant), so nothing here depends on the real date. The core is tested directly; the
façades through their real clients: the tastytrade SDK (REST and DXLink), alpaca-py, and
Tradier's documented HTTP calls."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal

import anyio
import httpx
import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.requests import GetOptionContractsRequest
from tastytrade import DXLinkStreamer
from tastytrade.dxfeed import Quote, Summary
from tastytrade.instruments import NestedOptionChain, Option
from tastytrade.market_data import get_market_data
from tastytrade.order import InstrumentType
from tastytrade.utils import TastytradeError

from sandbox.core import chains
from sandbox.core import trading_calendar as cal
from sandbox.core.config import SandboxConfig
from sandbox.core.market.walk import Market
from sandbox.core.symbols import OptionSymbol
from tests.support.sdk import sdk_session
from tests.support.tradier import tradier_client

D = dt.date
NY = cal.NEW_YORK


def _epoch(*args: int) -> float:
    return dt.datetime(*args, tzinfo=NY).timestamp()


#: New Year's Eve 2026, 23:00 in New York: already 2027-01-01 04:00 UTC. New Year's Day
#: 2027 is a Friday (a holiday), so that week's options expire on Thursday 2026-12-31.
NEW_YEARS_EVE = _epoch(2026, 12, 31, 23, 0)
#: Monday before Good Friday 2027 (2027-03-26): that week's options expire 2027-03-25.
HOLY_MONDAY = _epoch(2027, 3, 22, 11, 0)
#: Monday after Good Friday 2027: the previous trading day is Thursday 2027-03-25.
EASTER_MONDAY = _epoch(2027, 3, 29, 11, 0)
#: Juneteenth 2026 is the third Friday of June: the June monthly expires Thursday 06-18.
EARLY_JUNE_2026 = _epoch(2026, 6, 1, 11, 0)


# ------------------------------------------------------------------------------- the core


def test_market_date_is_the_new_york_date():
    """Late evening in New York is already tomorrow in UTC; the market's date is New York's."""
    assert cal.market_date(NEW_YEARS_EVE) == D(2026, 12, 31)
    assert dt.datetime.fromtimestamp(NEW_YEARS_EVE, dt.UTC).date() == D(2027, 1, 1)
    assert cal.market_date(dt.datetime(2027, 1, 1, 5, 0, tzinfo=dt.UTC)) == D(2027, 1, 1)
    assert cal.market_date(_epoch(2027, 3, 27, 0, 0)) == D(2027, 3, 27)  # a Saturday too


def test_expirations_move_off_holiday_fridays():
    """A Friday that is an NYSE holiday expires on the trading day before it."""
    assert chains.listed_expiration(D(2027, 3, 22)) == D(2027, 3, 25)  # Good Friday
    assert chains.listed_expiration(D(2027, 3, 29)) == D(2027, 4, 2)
    assert chains.expirations(D(2027, 3, 22)) == [
        D(2027, 3, 25),
        D(2027, 4, 2),
        D(2027, 4, 9),
        D(2027, 4, 16),
        D(2027, 5, 21),
        D(2027, 6, 17),  # Juneteenth is observed on Friday 2027-06-18
    ]
    assert D(2026, 12, 31) in chains.expirations(D(2026, 12, 28))  # New Year's Day 2027
    assert D(2026, 12, 24) in chains.expirations(D(2026, 12, 21))  # Christmas 2026
    assert D(2026, 7, 2) in chains.expirations(D(2026, 6, 29))  # July 4th observed 07-03
    for today in (D(2027, 3, 22), D(2026, 12, 28), D(2026, 6, 1), D(2026, 12, 21)):
        assert all(cal.is_trading_day(d) for d in chains.expirations(today))


def test_an_expiration_today_is_no_longer_listed_on_its_thursday():
    """The listing starts after the market date, as on a Friday: the Thursday of a moved
    expiration lists the next week first."""
    assert chains.expirations(D(2027, 3, 25))[0] == D(2027, 4, 2)
    assert chains.expirations(D(2026, 12, 31))[0] == D(2027, 1, 8)
    assert chains.expirations(D(2026, 12, 30))[0] == D(2026, 12, 31)


def test_a_moved_monthly_stays_regular():
    """Juneteenth 2026 is June's third Friday: the monthly expires Thursday and is
    still the Regular (Tradier: standard) expiration."""
    assert chains.monthly_expiration(2026, 6) == D(2026, 6, 18)
    assert chains.monthly_expiration(2026, 7) == D(2026, 7, 17)
    assert chains.expiration_type(D(2026, 6, 18)) == "Regular"
    assert chains.expiration_type(D(2026, 6, 11)) == "Weekly"
    listed = chains.expirations(D(2026, 6, 1))
    assert D(2026, 6, 18) in listed and D(2026, 6, 19) not in listed
    chain = chains.nested_chain("SPY", 600.0, D(2026, 6, 1))
    types = {e["expiration-date"]: e["expiration-type"] for e in chain["expirations"]}
    assert types["2026-06-18"] == "Regular"
    assert types["2026-06-12"] == "Weekly"


def test_listed_contracts_expire_on_the_weeks_expiration():
    """A contract is listed on its week's expiration: the Thursday of a holiday week, a
    Friday otherwise; never the holiday itself, never another Thursday."""

    def listed(day: dt.date) -> bool:
        return chains.is_listed(OptionSymbol("SPY", day, "C", Decimal(600)))

    assert listed(D(2027, 3, 25)) and listed(D(2027, 4, 2)) and listed(D(2026, 6, 18))
    assert not listed(D(2027, 3, 26))  # Good Friday
    assert not listed(D(2026, 6, 19))  # Juneteenth
    assert not listed(D(2027, 3, 18))  # an ordinary Thursday
    assert not listed(D(2027, 3, 27))  # a Saturday
    item = chains.option_instrument(
        OptionSymbol("SPY", D(2026, 12, 31), "C", Decimal(600)), D(2026, 12, 31), "SPY"
    )
    assert (item["active"], item["days-to-expiration"], item["is-closing-only"]) == (
        True,
        0,
        False,
    )


def _day_id(day: dt.date) -> int:
    return (day - D(1970, 1, 1)).days


@pytest.mark.parametrize(
    ("now", "previous"),
    [
        (EASTER_MONDAY, D(2027, 3, 25)),  # over Good Friday
        (_epoch(2027, 1, 19, 11, 0), D(2027, 1, 15)),  # over MLK day (Monday 01-18)
        (_epoch(2026, 11, 27, 11, 0), D(2026, 11, 25)),  # over Thanksgiving
        (_epoch(2027, 3, 23, 11, 0), D(2027, 3, 22)),  # an ordinary Tuesday
    ],
)
def test_previous_day_id_is_the_previous_trading_day(now, previous):
    market = Market(seed=7, clock=lambda: now)
    summary = market.summary("SPY") if market.ensure("SPY") else None
    assert summary is not None
    assert summary["prevDayId"] == _day_id(previous)


# ---------------------------------------------------------------------------- the façades


@pytest.fixture
def sandbox_config(request) -> SandboxConfig:
    """A still market whose clock starts at the instant the test names."""
    return SandboxConfig(tick_rate=0.0, order_step_interval=0, start_time=request.param)


def pinned(at: float):
    return pytest.mark.parametrize("sandbox_config", [at], indirect=True)


@pytest.fixture
def tradier(sandbox) -> Iterator[httpx.Client]:
    with tradier_client(sandbox) as client:
        yield client


@pytest.fixture
def alpaca(sandbox) -> TradingClient:
    key = f"AK{uuid.uuid4().hex[:14].upper()}"
    return TradingClient(key, "days-secret", paper=True, url_override=f"{sandbox.url}/alpaca")


def _tradier_expirations(tradier: httpx.Client, symbol: str) -> dict[str, str]:
    body = tradier.get(
        "/v1/markets/options/expirations", params={"symbol": symbol, "expirationType": "true"}
    ).json()["expirations"]["expiration"]
    return {row["date"]: row["expiration_type"] for row in body}


def _alpaca_expirations(alpaca: TradingClient, symbol: str) -> set[dt.date]:
    found: set[dt.date] = set()
    request = GetOptionContractsRequest(underlying_symbols=[symbol], limit=10000)
    page = alpaca.get_option_contracts(request)
    found |= {c.expiration_date for c in page.option_contracts}
    assert page.next_page_token is None
    return found


async def _tasty_chain(sandbox, refresh_token: str, symbol: str):
    async with sdk_session(sandbox, refresh_token) as session:
        return (await NestedOptionChain.get(session, symbol))[0]


@pinned(NEW_YEARS_EVE)
async def test_every_facade_lists_the_new_york_days_expirations(
    sandbox, refresh_token, tradier, alpaca
):
    """At 23:00 New York on 2026-12-31 (2027-01-01 in UTC) the three façades list the
    same expirations, counted from the New York date."""
    expected = chains.expirations(D(2026, 12, 31))
    nested = await _tasty_chain(sandbox, refresh_token, "SPY")
    assert [e.expiration_date for e in nested.expirations] == expected
    assert nested.expirations[0].days_to_expiration == 8  # 2027-01-08, from 12-31
    assert [dt.date.fromisoformat(d) for d in _tradier_expirations(tradier, "SPY")] == expected
    assert sorted(_alpaca_expirations(alpaca, "SPY")) == expected


@pinned(NEW_YEARS_EVE)
async def test_todays_moved_expiration_is_still_live_at_new_york_midnight_eve(
    sandbox, refresh_token, tradier, alpaca
):
    """The 2026-12-31 contracts (New Year's Day moved them to Thursday) expire today in
    New York: still active at tastytrade and Alpaca, quoted everywhere, though UTC says
    2027 already."""
    nested = await _tasty_chain(sandbox, refresh_token, "SPY")
    strike = nested.expirations[0].strikes[10].strike_price
    occ = OptionSymbol("SPY", D(2026, 12, 31), "C", strike)
    async with sdk_session(sandbox, refresh_token) as session:
        option = await Option.get(session, occ.occ_symbol)
        assert option.active and not option.is_closing_only
        assert option.days_to_expiration == 0
        assert option.expiration_type == "Weekly"
        data = await get_market_data(session, occ.occ_symbol, InstrumentType.EQUITY_OPTION)
        assert data.ask > 0
        async with DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Quote, [occ.streamer_symbol])
            with anyio.fail_after(10):
                quote = await streamer.get_event(Quote)
            assert quote.event_symbol == occ.streamer_symbol
    contract = alpaca.get_option_contract(occ.occ_symbol.replace(" ", ""))
    assert contract.expiration_date == D(2026, 12, 31) and contract.status == "active"
    row = tradier.get(
        "/v1/markets/quotes", params={"symbols": occ.occ_symbol.replace(" ", "")}
    ).json()["quotes"]["quote"]
    assert (row["expiration_date"], row["expiration_type"]) == ("2026-12-31", "weeklys")


@pinned(HOLY_MONDAY)
async def test_good_friday_week_expires_on_thursday_everywhere(
    sandbox, refresh_token, tradier, alpaca
):
    """The week of Good Friday 2027 expires on Thursday 03-25 at every façade; its
    contracts are found, listed and quoted; no contract is listed on the holiday."""
    nested = await _tasty_chain(sandbox, refresh_token, "AAPL")
    dates = [e.expiration_date for e in nested.expirations]
    assert dates[0] == D(2027, 3, 25) and D(2027, 3, 26) not in dates
    assert list(map(dt.date.fromisoformat, _tradier_expirations(tradier, "AAPL"))) == dates
    assert sorted(_alpaca_expirations(alpaca, "AAPL")) == dates
    strike = nested.expirations[0].strikes[10].strike_price
    thursday = OptionSymbol("AAPL", D(2027, 3, 25), "P", strike)
    friday = OptionSymbol("AAPL", D(2027, 3, 26), "P", strike)
    async with sdk_session(sandbox, refresh_token) as session:
        option = await Option.get(session, thursday.occ_symbol)
        assert option.expiration_date == D(2027, 3, 25) and option.active
        assert option.days_to_expiration == 3
        with pytest.raises(TastytradeError, match="record_not_found"):
            await Option.get(session, friday.occ_symbol)
    assert alpaca.get_option_contract(thursday.occ_symbol.replace(" ", "")).symbol
    with pytest.raises(APIError) as caught:
        alpaca.get_option_contract(friday.occ_symbol.replace(" ", ""))
    assert caught.value.status_code == 404


@pinned(EARLY_JUNE_2026)
async def test_a_monthly_moved_by_juneteenth_stays_regular_everywhere(
    sandbox, refresh_token, tradier
):
    """June 2026's monthly expires Thursday 06-18 (Juneteenth is the third Friday): Regular
    at tastytrade, standard at Tradier, in the chain, on the instrument and on a quote."""
    nested = await _tasty_chain(sandbox, refresh_token, "SPY")
    types = {e.expiration_date: e.expiration_type for e in nested.expirations}
    assert types[D(2026, 6, 18)] == "Regular" and D(2026, 6, 19) not in types
    assert _tradier_expirations(tradier, "SPY")["2026-06-18"] == "standard"
    strike = nested.expirations[0].strikes[10].strike_price
    monthly = OptionSymbol("SPY", D(2026, 6, 18), "C", strike)
    async with sdk_session(sandbox, refresh_token) as session:
        assert (await Option.get(session, monthly.occ_symbol)).expiration_type == "Regular"
    row = tradier.get(
        "/v1/markets/quotes", params={"symbols": monthly.occ_symbol.replace(" ", "")}
    ).json()["quotes"]["quote"]
    assert row["expiration_type"] == "standard"
    with_roots = tradier.get(
        "/v1/markets/options/expirations",
        params={"symbol": "SPX", "includeAllRoots": "false"},
    ).json()["expirations"]["date"]
    assert "2026-06-18" in with_roots  # an index lists its standard dates only


@pinned(EASTER_MONDAY)
async def test_the_previous_close_is_dated_the_previous_trading_day(sandbox, refresh_token, alpaca):
    """On the Monday after Good Friday the previous close is Thursday's: DXLink's
    prevDayId, tastytrade's prev-close-date and Alpaca's close_price_date agree."""
    thursday = D(2027, 3, 25)
    async with sdk_session(sandbox, refresh_token) as session:
        data = await get_market_data(session, "SPY", InstrumentType.EQUITY)
        assert data.prev_close_date == thursday
        assert data.summary_date == D(2027, 3, 29)
        async with DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Summary, ["SPY"])
            with anyio.fail_after(10):
                summary = await streamer.get_event(Summary)
        assert summary.prev_day_id == _day_id(thursday)
        assert summary.day_id == _day_id(D(2027, 3, 29))
        nested = (await NestedOptionChain.get(session, "SPY"))[0]
    strike = nested.expirations[0].strikes[10].strike_price
    occ = OptionSymbol("SPY", nested.expirations[0].expiration_date, "C", strike)
    contract = alpaca.get_option_contract(occ.occ_symbol.replace(" ", ""))
    assert contract.close_price_date == thursday
