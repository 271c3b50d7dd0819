"""Alpaca's option contracts, portfolio history, watchlists and account configuration
changes, driven by alpaca-py's own `TradingClient` and `BrokerClient` over real sockets:
responses validate against alpaca-py's models, values agree with the market and the
brokerage (one truth), refusals are Alpaca's `{"code", "message"}` JSON."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from alpaca.broker import BrokerClient
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import (
    AssetStatus,
    ContractType,
    ExerciseStyle,
    OrderSide,
    TimeInForce,
    TradeConfirmationEmail,
)
from alpaca.trading.models import AccountConfiguration
from alpaca.trading.requests import (
    CreateWatchlistRequest,
    GetOptionContractsRequest,
    GetPortfolioHistoryRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    UpdateWatchlistRequest,
)

from sandbox.core import trading_calendar as cal
from sandbox.core.config import SandboxConfig
from sandbox.core.symbols import parse_occ_symbol
from tests.support import alpaca as shared

SECRET = "more-families-secret"
key_id = shared.key_id  # a fresh key (customer) per test


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """A still market (no ticks, no order steps): equity does not move between two calls."""
    return SandboxConfig(tick_rate=0.0, order_step_interval=0)


@pytest.fixture
def client(sandbox, key_id) -> TradingClient:
    return TradingClient(key_id, SECRET, paper=True, url_override=f"{sandbox.url}/alpaca")


@pytest.fixture
def broker(sandbox, key_id) -> BrokerClient:
    return BrokerClient(key_id, SECRET, sandbox=True, url_override=f"{sandbox.url}/alpaca")


def refused(call, *args, **kwargs) -> APIError:
    with pytest.raises(APIError) as caught:
        call(*args, **kwargs)
    return caught.value


def broker_accounts(broker: BrokerClient) -> tuple[str, str]:
    """(margin account id, cash IRA account id)."""
    ids = {}
    for account in broker.list_accounts():
        ids[broker.get_trade_account_by_id(account.id).multiplier] = str(account.id)
    return ids["2"], ids["1"]


# --------------------------------------------------------------------------- option contracts


def test_option_contracts_come_from_the_market_chain(client, sandbox):
    """Every contract of SPY's chain, filtered as documented; close price and open interest
    are the market's previous close and open interest of that contract."""
    market = sandbox.sandbox.market
    page = client.get_option_contracts(GetOptionContractsRequest(underlying_symbols=["SPY"]))
    contracts = page.option_contracts
    assert contracts and len(contracts) == 100  # Alpaca's default page size
    assert page.next_page_token
    first = contracts[0]
    assert first.underlying_symbol == "SPY" and first.root_symbol == "SPY"
    assert first.style == ExerciseStyle.AMERICAN and first.size == "100"
    assert first.status == AssetStatus.ACTIVE and first.tradable
    option = parse_occ_symbol(first.symbol)
    assert option is not None and option.expiry == first.expiration_date
    assert Decimal(str(first.strike_price)) == option.strike
    streamer = option.streamer_symbol
    assert Decimal(first.close_price) == Decimal(str(market.prev_close(streamer)))
    assert int(first.open_interest) == market.summary(streamer)["openInterest"]
    assert first.close_price_date <= dt.datetime.now(dt.UTC).date()

    following = client.get_option_contracts(
        GetOptionContractsRequest(underlying_symbols=["SPY"], page_token=page.next_page_token)
    ).option_contracts
    assert following and not {c.symbol for c in following} & {c.symbol for c in contracts}

    expiry = first.expiration_date
    strike = Decimal(str(first.strike_price))
    narrow = client.get_option_contracts(
        GetOptionContractsRequest(
            underlying_symbols=["SPY"],
            expiration_date=expiry,
            type=ContractType.PUT,
            strike_price_gte=str(strike),
            strike_price_lte=str(strike + 5),
            limit=500,
        )
    ).option_contracts
    assert narrow and all(c.type == ContractType.PUT for c in narrow)
    assert all(c.expiration_date == expiry for c in narrow)
    assert all(strike <= Decimal(str(c.strike_price)) <= strike + 5 for c in narrow)

    later = client.get_option_contracts(
        GetOptionContractsRequest(
            underlying_symbols=["SPY", "AAPL"], expiration_date_gte=expiry, limit=10000
        )
    ).option_contracts
    assert {c.underlying_symbol for c in later} == {"SPY", "AAPL"}
    assert min(c.expiration_date for c in later) == expiry
    by_root = client.get_option_contracts(
        GetOptionContractsRequest(root_symbol="AAPL", limit=10000)
    ).option_contracts
    assert by_root and {c.root_symbol for c in by_root} == {"AAPL"}
    none = client.get_option_contracts(
        GetOptionContractsRequest(underlying_symbols=["SPY"], style=ExerciseStyle.EUROPEAN)
    )
    assert not none.option_contracts and none.next_page_token is None


def test_one_option_contract_by_symbol_or_id(client, sandbox):
    listed = client.get_option_contracts(
        GetOptionContractsRequest(underlying_symbols=["QQQ"], limit=1)
    ).option_contracts[0]
    by_symbol = client.get_option_contract(listed.symbol)
    by_id = client.get_option_contract(listed.id)
    assert by_symbol.id == by_id.id == listed.id and by_id.symbol == listed.symbol
    assert by_symbol.underlying_asset_id == client.get_asset("QQQ").id
    # Thursday 2099-12-31 *is* listed (New Year's Day 2100 is a Friday holiday)
    assert client.get_option_contract("QQQ991231C00001000").expiration_date.weekday() == 3
    error = refused(client.get_option_contract, "QQQ991230C00001000")  # a Wednesday
    assert (error.status_code, error.code) == (404, 40410000)
    error = refused(client.get_option_contract, str(uuid.uuid4()))
    assert (error.status_code, error.code) == (404, 40410000)


def test_option_contract_filters_refuse_bad_input(client):
    for bad in (
        {"limit": 0},
        {"limit": 10001},
        {"strike_price_gte": "abc"},
        {"expiration_date": "2025-13-01"},
    ):
        request = GetOptionContractsRequest(underlying_symbols=["SPY"], **bad)
        error = refused(client.get_option_contracts, request)
        assert (error.status_code, error.code) == (422, 40010000), bad


# --------------------------------------------------------------------------- portfolio history


def test_portfolio_history_ends_at_the_account_equity(client):
    before = float(client.get_account().equity)
    history = client.get_portfolio_history(GetPortfolioHistoryRequest(period="1M", timeframe="1D"))
    after = float(client.get_account().equity)
    assert history.timeframe == "1D"
    assert len(history.timestamp) == len(history.equity) == len(history.profit_loss)
    assert min(before, after) - 0.01 <= history.equity[-1] <= max(before, after) + 0.01
    days = [dt.datetime.fromtimestamp(t, cal.NEW_YORK).date() for t in history.timestamp]
    assert days == sorted(days) and all(cal.is_trading_day(d) for d in days)
    assert 18 <= len(days) <= 24  # a month of trading days
    assert history.base_value and history.base_value > 0
    for equity, pl, pct in zip(
        history.equity, history.profit_loss, history.profit_loss_pct, strict=True
    ):
        assert pl == pytest.approx(equity - history.base_value, abs=0.011)
        assert pct == pytest.approx(pl / history.base_value, abs=1e-4)


def test_portfolio_history_periods_timeframes_and_date_end(client):
    week = client.get_portfolio_history(GetPortfolioHistoryRequest(period="1W"))
    assert week.timeframe == "15Min"  # the default for periods under 30 days
    gaps = {b - a for a, b in zip(week.timestamp, week.timestamp[1:], strict=False)}
    assert 900 in gaps
    for stamp in week.timestamp:  # regular hours only without extended_hours
        local = dt.datetime.fromtimestamp(stamp, cal.NEW_YORK)
        assert cal.is_trading_day(local.date()) and cal.OPEN <= local.time() < cal.CLOSE
    extended = client.get_portfolio_history(
        GetPortfolioHistoryRequest(period="1W", timeframe="1H", extended_hours=True)
    )
    hours = {dt.datetime.fromtimestamp(t, cal.NEW_YORK).hour for t in extended.timestamp}
    assert min(hours) == 4 and max(hours) == 19
    end = cal.previous_trading_day(cal.previous_trading_day(dt.date.today()))
    past = client.get_portfolio_history(
        GetPortfolioHistoryRequest(period="5D", timeframe="1D", date_end=end)
    )
    days = [dt.datetime.fromtimestamp(t, cal.NEW_YORK).date() for t in past.timestamp]
    assert days[-1] == end and len(days) == 5
    year = client.get_portfolio_history(GetPortfolioHistoryRequest(period="1A"))
    assert year.timeframe == "1D" and 245 <= len(year.timestamp) <= 256


def test_portfolio_history_refuses_bad_parameters(client):
    for bad in ({"period": "1X"}, {"timeframe": "2Min"}, {"period": "0D"}):
        error = refused(client.get_portfolio_history, GetPortfolioHistoryRequest(**bad))
        assert (error.status_code, error.code) == (422, 40010000), bad


def test_broker_portfolio_history_is_per_account(broker):
    margin, ira = broker_accounts(broker)
    for account_id in (margin, ira):
        equity = float(broker.get_trade_account_by_id(account_id).equity)
        history = broker.get_portfolio_history_for_account(
            account_id, GetPortfolioHistoryRequest(period="3M", timeframe="1D")
        )
        assert history.equity[-1] == pytest.approx(equity, abs=0.01)
    error = refused(broker.get_portfolio_history_for_account, str(uuid.uuid4()))
    assert (error.status_code, error.code) == (404, 40410000)


# --------------------------------------------------------------------------- watchlists


def test_watchlist_lifecycle_on_the_trading_api(client):
    assert client.get_watchlists() == []
    created = client.create_watchlist(CreateWatchlistRequest(name="Tech", symbols=["AAPL"]))
    assert created.name == "Tech" and [a.symbol for a in created.assets] == ["AAPL"]
    assert str(created.account_id) == str(client.get_account().id)
    added = client.add_asset_to_watchlist_by_id(created.id, "MSFT")
    assert [a.symbol for a in added.assets] == ["AAPL", "MSFT"]
    assert added.updated_at >= created.updated_at
    renamed = client.update_watchlist_by_id(
        created.id, UpdateWatchlistRequest(name="Mega", symbols=["NVDA", "AAPL"])
    )
    assert renamed.name == "Mega" and [a.symbol for a in renamed.assets] == ["NVDA", "AAPL"]
    removed = client.remove_asset_from_watchlist_by_id(created.id, "NVDA")
    assert [a.symbol for a in removed.assets] == ["AAPL"]
    assert client.get_watchlist_by_id(created.id).assets[0].symbol == "AAPL"
    listed = client.get_watchlists()
    assert [w.name for w in listed] == ["Mega"]
    client.delete_watchlist_by_id(created.id)
    assert client.get_watchlists() == []
    error = refused(client.get_watchlist_by_id, created.id)
    assert (error.status_code, error.code) == (404, 40410000)


def test_watchlist_refusals_are_alpaca_json(client):
    first = client.create_watchlist(CreateWatchlistRequest(name="One", symbols=[]))
    error = refused(client.create_watchlist, CreateWatchlistRequest(name="One", symbols=[]))
    assert (error.status_code, error.code) == (422, 40010000)
    error = refused(client.create_watchlist, CreateWatchlistRequest(name="Two", symbols=["1BAD"]))
    assert (error.status_code, error.code) == (422, 40010000) and "1BAD" in error.message
    error = refused(client.add_asset_to_watchlist_by_id, first.id, "SPX")  # an index
    assert (error.status_code, error.code) == (422, 40010000)
    for call in (
        lambda: client.add_asset_to_watchlist_by_id(uuid.uuid4(), "AAPL"),
        lambda: client.delete_watchlist_by_id(uuid.uuid4()),
        lambda: client.update_watchlist_by_id(uuid.uuid4(), UpdateWatchlistRequest(name="x")),
        lambda: client.remove_asset_from_watchlist_by_id(first.id, "AAPL"),
    ):
        error = refused(call)
        assert (error.status_code, error.code) == (404, 40410000)
    second = client.create_watchlist(CreateWatchlistRequest(name="Two", symbols=[]))
    error = refused(client.update_watchlist_by_id, second.id, UpdateWatchlistRequest(name="One"))
    assert (error.status_code, error.code) == (422, 40010000)


def test_broker_watchlists_are_per_account(broker):
    margin, ira = broker_accounts(broker)
    made = broker.create_watchlist_for_account(
        margin, CreateWatchlistRequest(name="Income", symbols=["SCHD"])
    )
    assert str(made.account_id) == margin
    assert broker.get_watchlists_for_account(ira) == []
    error = refused(broker.get_watchlist_for_account_by_id, ira, made.id)
    assert (error.status_code, error.code) == (404, 40410000)
    broker.add_asset_to_watchlist_for_account_by_id(margin, made.id, "VTI")
    changed = broker.update_watchlist_for_account_by_id(
        margin, made.id, UpdateWatchlistRequest(symbols=["VTI"])
    )
    assert changed.name == "Income" and [a.symbol for a in changed.assets] == ["VTI"]
    gone = broker.remove_asset_from_watchlist_for_account_by_id(margin, made.id, "VTI")
    assert gone.assets == []
    assert [w.id for w in broker.get_watchlists_for_account(margin)] == [made.id]
    broker.delete_watchlist_from_account_by_id(margin, made.id)
    assert broker.get_watchlists_for_account(margin) == []


# --------------------------------------------------------------------------- configurations


def test_set_account_configurations_stores_and_shows(client):
    current = client.get_account_configurations()
    changed = current.model_copy(
        update={
            "no_shorting": True,
            "trade_confirm_email": TradeConfirmationEmail.NONE,
            "max_margin_multiplier": "1",
        }
    )
    answered = client.set_account_configurations(changed)
    assert answered.no_shorting and answered.max_margin_multiplier == "1"
    assert answered.trade_confirm_email.value == "none"
    again = client.get_account_configurations()
    assert again == answered
    assert client.get_account().shorting_enabled is False
    for bad in (
        {"max_margin_multiplier": "3"},
        {"max_options_trading_level": 7},
        {"trade_confirm_email": "sometimes"},
    ):
        body = AccountConfiguration.model_construct(**(again.model_dump() | bad))
        error = refused(client.set_account_configurations, body)
        assert (error.status_code, error.code) == (422, 40010000), bad
    assert client.get_account_configurations() == again  # a refusal changes nothing


def test_configuration_switches_govern_new_orders(client):
    """`no_shorting` refuses a sell that would open a short, `suspend_trade` every order
    (403, Alpaca's forbidden code); turning them off lets orders through again."""
    config = client.get_account_configurations()
    short = MarketOrderRequest(
        symbol="GOOG", qty=1, side=OrderSide.SELL, time_in_force=TimeInForce.DAY
    )
    buy = LimitOrderRequest(
        symbol="SCHD", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=1
    )
    client.set_account_configurations(config.model_copy(update={"no_shorting": True}))
    error = refused(client.submit_order, short)
    assert (error.status_code, error.code) == (403, 40310000)
    assert client.submit_order(buy).symbol == "SCHD"
    client.set_account_configurations(config.model_copy(update={"suspend_trade": True}))
    error = refused(client.submit_order, buy)
    assert (error.status_code, error.code) == (403, 40310000)
    assert client.get_account().trade_suspended_by_user is True
    client.set_account_configurations(config)
    assert client.submit_order(short).side == OrderSide.SELL


def test_broker_trade_configuration_update_per_account(broker):
    margin, ira = broker_accounts(broker)
    config = broker.get_trade_configuration_for_account(margin)
    updated = broker.update_trade_configuration_for_account(
        margin, config.model_copy(update={"suspend_trade": True, "max_options_trading_level": 1})
    )
    assert updated.suspend_trade and updated.max_options_trading_level == 1
    assert broker.get_trade_configuration_for_account(margin) == updated
    assert broker.get_trade_configuration_for_account(ira).suspend_trade is False
    assert broker.get_trade_account_by_id(margin).trade_suspended_by_user is True
    cash = broker.get_trade_configuration_for_account(ira)
    error = refused(
        broker.update_trade_configuration_for_account,
        ira,
        cash.model_copy(update={"max_options_trading_level": 3}),  # above the cash level 2
    )
    assert (error.status_code, error.code) == (422, 40010000)


def test_fractional_trading_switched_off_refuses_a_stocks_fractions(client, sandbox):
    """`fractional_trading` (alpaca-docs broker-api account configurations; on by default)
    switched off: a stock's fractional or notional order is refused (403), a whole-share
    order still placed; switched on again, the fraction is taken. The Broker API's
    per-account configuration takes the switch too."""
    config = client.get_account_configurations()
    assert config.fractional_trading is True
    off = client.set_account_configurations(config.model_copy(update={"fractional_trading": False}))
    assert off.fractional_trading is False
    fraction = MarketOrderRequest(
        symbol="AAPL", qty=0.5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
    )
    dollars = MarketOrderRequest(
        symbol="AAPL", notional=100, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
    )
    for request in (fraction, dollars):
        error = refused(client.submit_order, request)
        assert (error.status_code, error.message) == (
            403, "fractional trading is not enabled for this account",
        )  # fmt: skip
    whole = MarketOrderRequest(
        symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
    )
    assert client.submit_order(whole).qty == "1"
    client.set_account_configurations(off.model_copy(update={"fractional_trading": True}))
    assert client.submit_order(fraction).qty == "0.5"
    broker = BrokerClient(  # a Broker key of its own (a key serves one API)
        f"AK{uuid.uuid4().hex[:14].upper()}",
        SECRET,
        sandbox=True,
        url_override=f"{sandbox.url}/alpaca",
    )
    margin, _ = broker_accounts(broker)
    current = broker.get_trade_configuration_for_account(margin)
    changed = broker.update_trade_configuration_for_account(
        margin, current.model_copy(update={"fractional_trading": False})
    )
    assert changed.fractional_trading is False
