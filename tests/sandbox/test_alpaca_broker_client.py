"""The Alpaca Broker API façade driven by the official, unmodified alpaca-py `BrokerClient`
over real sockets: every response must validate against alpaca-py's models, and every
refusal is an `APIError` carrying Alpaca's `{"code", "message"}` body."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import orjson
import pytest
from alpaca.broker import BrokerClient
from alpaca.broker.enums import AccountEntities
from alpaca.broker.requests import (
    GetAccountActivitiesRequest,
    LimitOrderRequest,
    ListAccountsRequest,
    MarketOrderRequest,
)
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import (
    AccountStatus,
    ActivityType,
    AssetClass,
    OrderSide,
    OrderStatus,
    QueryOrderStatus,
    TimeInForce,
)
from alpaca.trading.requests import (
    ClosePositionRequest,
    GetAssetsRequest,
    GetCalendarRequest,
    GetOrdersRequest,
    ReplaceOrderRequest,
)

from tests.support import alpaca as shared
from tests.support.wait import poll_until

SECRET = "sk-broker-secret"

sandbox_config = shared.sandbox_config  # orders advance only on control.step()
key_id = shared.key_id  # a fresh key (customer) per test


@pytest.fixture
def broker(sandbox, key_id) -> BrokerClient:
    return BrokerClient(key_id, SECRET, sandbox=True, url_override=f"{sandbox.url}/alpaca")


def margin_account(broker: BrokerClient) -> str:
    """The id of the key's margin account (multiplier 2); the other one is a cash IRA."""
    for account in broker.list_accounts():
        if broker.get_trade_account_by_id(account.id).multiplier == "2":
            return str(account.id)
    raise AssertionError("no margin account")


def refused(call, *args, **kwargs) -> APIError:
    with pytest.raises(APIError) as caught:
        call(*args, **kwargs)
    return caught.value


def limit_buy(
    symbol: str = "SCHD", qty: int = 10, price: float = 1.0, **extra
) -> LimitOrderRequest:
    return LimitOrderRequest(
        symbol=symbol,
        qty=qty,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.DAY,
        limit_price=price,
        **extra,
    )


def trade_events(sandbox, key_id: str) -> list[dict]:
    """The key's retained v2 trade events (a replay, cut at the first heartbeat)."""
    events = []
    with httpx.Client(base_url=f"{sandbox.url}/alpaca", auth=(key_id, SECRET)) as client:
        params = {"since_id": "0" * 26}
        with client.stream("GET", "/v2/events/trades", params=params, timeout=10) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith(":heartbeat"):
                    break
                if line.startswith("data: "):
                    events.append(orjson.loads(line[6:]))
    poll_until(lambda: not sandbox.sandbox.hub.find("alpaca-sse"), what="stream released")
    return events


# --------------------------------------------------------------------------- accounts


def test_accounts_list_filters_and_entities(broker):
    accounts = broker.list_accounts()
    assert len(accounts) == 2
    assert all(a.status == AccountStatus.ACTIVE and a.contact is None for a in accounts)
    created = sorted(a.created_at for a in accounts)
    assert [a.created_at for a in accounts] == created[::-1]  # Alpaca's default: newest first
    newest_first = broker.list_accounts(ListAccountsRequest())  # alpaca-py sends sort=desc
    assert [a.created_at for a in newest_first] == created[::-1]
    oldest_first = broker.list_accounts(ListAccountsRequest(sort="asc"))
    assert [a.created_at for a in oldest_first] == created
    one = accounts[0]
    by_number = broker.list_accounts(ListAccountsRequest(query=one.account_number))
    assert [a.id for a in by_number] == [one.id]
    assert broker.list_accounts(ListAccountsRequest(query="no-such-token")) == []
    after = broker.list_accounts(ListAccountsRequest(created_after=created[1]))
    assert after == []  # strictly after the newest
    before = broker.list_accounts(ListAccountsRequest(created_before=created[1]))
    assert [a.created_at for a in before] == [created[0]]
    closed = broker.list_accounts(ListAccountsRequest(status=[AccountStatus.ACCOUNT_CLOSED]))
    assert closed == []
    with_contact = broker.list_accounts(
        ListAccountsRequest(entities=[AccountEntities.CONTACT, AccountEntities.IDENTITY])
    )
    assert all(a.contact is not None and a.identity is not None for a in with_contact)
    assert all(a.disclosures is None for a in with_contact)
    by_email = broker.list_accounts(
        ListAccountsRequest(query=with_contact[0].contact.email_address)
    )
    assert len(by_email) == 2  # one customer, one e-mail address for both accounts


def test_account_by_id_is_the_full_broker_account(broker):
    account_id = margin_account(broker)
    account = broker.get_account_by_id(account_id)
    assert str(account.id) == account_id
    assert account.contact.email_address and account.contact.street_address
    assert account.contact.country == "USA" and account.contact.state
    assert account.identity.given_name and account.identity.family_name
    assert account.identity.country_of_tax_residence == "USA"
    assert account.disclosures.immediate_family_exposed is False
    kinds = {a.agreement.value for a in account.agreements}
    assert {"customer_agreement", "margin_agreement", "account_agreement"} <= kinds
    assert account.kyc_results.summary == "pass"
    assert Decimal(account.last_equity) > 0
    missing = refused(broker.get_account_by_id, uuid.uuid4())
    assert missing.status_code == 404 and missing.code == 40410000


def test_trade_account_has_every_field_typed(broker, sandbox, key_id):
    account_id = margin_account(broker)
    account = broker.get_trade_account_by_id(account_id)
    for name in (
        "cash",
        "cash_withdrawable",
        "cash_transferable",
        "equity",
        "last_equity",
        "buying_power",
        "last_buying_power",
        "regt_buying_power",
        "last_regt_buying_power",
        "long_market_value",
        "last_long_market_value",
        "short_market_value",
        "last_short_market_value",
        "last_cash",
        "initial_margin",
        "last_initial_margin",
        "maintenance_margin",
        "last_maintenance_margin",
        "non_marginable_buying_power",
        "options_buying_power",
    ):
        value = getattr(account, name)
        assert isinstance(value, str), name
        Decimal(value)  # a decimal string, never a float
    assert account.previous_close is not None and account.created_at is not None
    assert account.clearing_broker is not None
    assert account.trade_suspended_by_user is False
    assert isinstance(account.options_approved_level, int)
    equity = Decimal(account.equity)
    parts = Decimal(account.cash) + Decimal(account.long_market_value)
    assert abs(equity - parts - Decimal(account.short_market_value)) < Decimal("0.02")
    last = Decimal(account.last_cash) + Decimal(account.last_long_market_value)
    last += Decimal(account.last_short_market_value)
    assert abs(Decimal(account.last_equity) - last) < Decimal("0.02")
    raw = httpx.get(
        f"{sandbox.url}/alpaca/v1/trading/accounts/{account_id}/account",
        auth=(key_id, SECRET),
    ).json()
    assert isinstance(raw["options_approved_level"], int) and isinstance(raw["cash"], str)
    config = broker.get_trade_configuration_for_account(account_id)
    assert config.max_margin_multiplier == "2" and config.no_shorting is False
    missing = refused(broker.get_trade_account_by_id, uuid.uuid4())
    assert missing.status_code == 404 and missing.code == 40410000


# --------------------------------------------------------------------------- positions


def test_positions_by_symbol_and_asset_id(broker):
    account_id = margin_account(broker)
    positions = broker.get_all_positions_for_account(account_id)
    assert positions and all(p.unrealized_intraday_plpc is not None for p in positions)
    first = positions[0]
    by_symbol = broker.get_open_position_for_account(account_id, first.symbol)
    by_asset = broker.get_open_position_for_account(account_id, first.asset_id)
    assert by_symbol.qty == by_asset.qty == first.qty and by_asset.symbol == first.symbol
    missing = refused(broker.get_open_position_for_account, account_id, "ZZZZ")
    assert missing.status_code == 404 and missing.code == 40410000


def _equity_position(broker: BrokerClient, account_id: str, side: str):
    for p in broker.get_all_positions_for_account(account_id):
        if (
            p.asset_class == AssetClass.US_EQUITY
            and p.side.value == side
            and abs(Decimal(p.qty)) >= 2
        ):
            return p
    raise AssertionError(f"no {side} equity position")


def test_close_position_by_percentage_and_qty(broker, control):
    account_id = margin_account(broker)
    long = _equity_position(broker, account_id, "long")
    held = Decimal(long.qty)
    half = (held * Decimal("0.5")).to_integral_value(rounding="ROUND_DOWN")
    order = broker.close_position_for_account(
        account_id, long.symbol, ClosePositionRequest(percentage="50")
    )
    assert order.side == OrderSide.SELL and order.type.value == "market"
    assert Decimal(order.qty) == half and order.symbol == long.symbol

    def filled():
        control.step()
        return broker.get_order_for_account_by_id(account_id, order.id).status == OrderStatus.FILLED

    poll_until(filled, what="closing order filled")
    after = broker.get_open_position_for_account(account_id, long.symbol)
    assert Decimal(after.qty) == held - half
    short = _equity_position(broker, account_id, "short")
    buy = broker.close_position_for_account(account_id, short.symbol, ClosePositionRequest(qty="1"))
    assert buy.side == OrderSide.BUY and buy.qty == "1"
    too_many = refused(
        broker.close_position_for_account,
        account_id,
        short.symbol,
        ClosePositionRequest(qty=str(abs(Decimal(short.qty)) + 5)),
    )
    assert too_many.status_code == 403 and too_many.code == 40310000
    bad = refused(
        broker.close_position_for_account,
        account_id,
        short.symbol,
        ClosePositionRequest(percentage="150"),
    )
    assert bad.status_code == 422 and bad.code == 40010000


def test_close_all_positions_cancels_orders_first(broker, control):
    account_id = margin_account(broker)
    resting = broker.submit_order_for_account(account_id, limit_buy())
    positions = broker.get_all_positions_for_account(account_id)
    results = broker.close_all_positions_for_account(account_id, cancel_orders=True)
    assert sorted(r.symbol for r in results) == sorted(p.symbol for p in positions)
    assert all(r.status == 200 and r.order_id == r.body.id for r in results)
    for r, p in ((r, next(p for p in positions if p.symbol == r.symbol)) for r in results):
        assert r.body.side == (OrderSide.SELL if p.side.value == "long" else OrderSide.BUY)
        assert r.body.qty == str(abs(Decimal(p.qty)))
    canceled = broker.get_order_for_account_by_id(account_id, resting.id)
    assert canceled.status == OrderStatus.CANCELED

    def flat():
        control.step()
        return broker.get_all_positions_for_account(account_id) == []

    poll_until(flat, what="every position closed")


# --------------------------------------------------------------------------- orders


def test_order_lookups_and_every_list_filter(broker, sandbox, key_id):
    account_id = margin_account(broker)
    first = broker.submit_order_for_account(account_id, limit_buy("SCHD", client_order_id="mine-1"))
    second = broker.submit_order_for_account(account_id, limit_buy("AAPL", price=2.0))
    sell = broker.submit_order_for_account(
        account_id,
        LimitOrderRequest(
            symbol="SCHD",
            qty=1,
            side=OrderSide.SELL,
            time_in_force=TimeInForce.GTC,
            limit_price=9999,
        ),
    )
    assert first.client_order_id == "mine-1" and first.status == OrderStatus.NEW
    assert sell.time_in_force == TimeInForce.GTC and sell.limit_price == "9999"
    assert broker.get_order_for_account_by_id(account_id, first.id).id == first.id
    assert broker.get_order_for_account_by_client_id(account_id, "mine-1").id == first.id
    missing = refused(broker.get_order_for_account_by_client_id, account_id, "nobody")
    assert missing.status_code == 404 and missing.code == 40410000
    duplicate = refused(
        broker.submit_order_for_account, account_id, limit_buy(client_order_id="mine-1")
    )
    assert duplicate.status_code == 422 and duplicate.code == 40010000

    def ids(**filters) -> list:
        return [
            o.id for o in broker.get_orders_for_account(account_id, GetOrdersRequest(**filters))
        ]

    assert ids() == [sell.id, second.id, first.id]  # open, newest first
    assert ids(direction="asc") == [first.id, second.id, sell.id]
    assert ids(limit=1) == [sell.id]
    assert ids(symbols=["AAPL"]) == [second.id]
    assert ids(symbols=["AAPL", "SCHD"], side=OrderSide.SELL) == [sell.id]
    assert ids(after=second.submitted_at) == [sell.id]
    assert ids(until=second.submitted_at) == [first.id]
    assert ids(status=QueryOrderStatus.CLOSED) == []
    assert ids(nested=True) == [sell.id, second.id, first.id]
    broker.cancel_order_for_account_by_id(account_id, second.id)
    assert ids(status=QueryOrderStatus.CLOSED) == [second.id]
    assert ids(status=QueryOrderStatus.ALL, symbols=["AAPL"]) == [second.id]
    again = refused(broker.cancel_order_for_account_by_id, account_id, second.id)
    assert again.status_code == 422 and again.code == 42210000
    with httpx.Client(auth=(key_id, SECRET)) as raw:
        url = f"{sandbox.url}/alpaca/v1/trading/accounts/{account_id}/orders"
        for params in ({"status": "nope"}, {"limit": "x"}, {"direction": "up"}, {"side": "hold"}):
            bad = raw.get(url, params=params)
            assert bad.status_code == 422 and bad.json()["code"] == 40010000, params


def test_submit_refusals_in_alpaca_shape(broker, sandbox, key_id):
    account_id = margin_account(broker)
    url = f"{sandbox.url}/alpaca/v1/trading/accounts/{account_id}/orders"
    base = {"symbol": "SCHD", "side": "buy", "type": "market", "time_in_force": "day"}
    with httpx.Client(auth=(key_id, SECRET)) as raw:
        for body in (
            {**base},  # neither qty nor notional
            {**base, "qty": "0"},
            {**base, "qty": "1", "notional": "10"},
            {**base, "qty": "1", "side": "hold"},
            {**base, "qty": "1", "time_in_force": "fok"},
            {**base, "qty": "1", "type": "limit"},  # no limit_price
            {**base, "qty": "1", "type": "stop"},  # no stop_price
            {**base, "qty": "1", "symbol": "NOT A SYMBOL"},
        ):
            bad = raw.post(url, json=body)
            assert bad.status_code == 422, body
            assert set(bad.json()) == {"code", "message"} and bad.json()["code"] == 40010000, body
        broken = raw.post(url, content=b"{not json", headers={"content-type": "application/json"})
        assert broken.status_code == 400 and broken.json()["code"] == 40010000
    poor = refused(
        broker.submit_order_for_account,
        account_id,
        MarketOrderRequest(
            symbol="SPY", qty=100_000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
        ),
    )
    assert poor.status_code == 403 and poor.code == 40310000


def test_notional_market_order_buys_the_fractional_shares_the_dollars_buy(broker, control):
    account_id = margin_account(broker)
    order = broker.submit_order_for_account(
        account_id,
        MarketOrderRequest(
            symbol="SCHD", notional=1000, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
        ),
    )
    assert order.notional == "1000" and order.qty is None and order.type.value == "market"

    def done():
        control.step()
        return broker.get_order_for_account_by_id(account_id, order.id)

    filled = poll_until(lambda: (o := done()).status == OrderStatus.FILLED and o, what="filled")
    qty, price = Decimal(filled.filled_qty), Decimal(filled.filled_avg_price)
    # 1000 / fill price to 9 decimals, rounded down (fractional-trading.md): never over
    assert qty == (Decimal(1000) / price).quantize(Decimal("1E-9"), rounding="ROUND_DOWN")
    assert qty * price <= Decimal(1000) and filled.qty is None


def test_replace_gives_a_new_order_and_a_replaced_event(broker, sandbox, key_id):
    account_id = margin_account(broker)
    old = broker.submit_order_for_account(account_id, limit_buy(qty=10, client_order_id="orig"))
    new = broker.replace_order_for_account_by_id(
        account_id, old.id, ReplaceOrderRequest(qty=20, limit_price=1.5, client_order_id="repl")
    )
    assert new.id != old.id and new.replaces == old.id and new.client_order_id == "repl"
    assert new.qty == "20" and new.limit_price == "1.5" and new.status == OrderStatus.NEW
    assert new.time_in_force == old.time_in_force and new.symbol == old.symbol
    before = broker.get_order_for_account_by_id(account_id, old.id)
    assert before.status == OrderStatus.REPLACED and before.replaced_by == new.id
    assert before.replaced_at is not None
    open_ids = [o.id for o in broker.get_orders_for_account(account_id)]
    assert open_ids == [new.id]
    again = refused(
        broker.replace_order_for_account_by_id, account_id, old.id, ReplaceOrderRequest(qty=5)
    )
    assert again.status_code == 422 and again.code == 42210000
    events = [
        e for e in trade_events(sandbox, key_id) if e["order"]["id"] in (str(old.id), str(new.id))
    ]
    assert [(e["event"], e["order"]["id"]) for e in events] == [
        ("new", str(old.id)),
        ("replaced", str(old.id)),
        ("new", str(new.id)),
    ]
    replaced = events[1]["order"]
    assert replaced["status"] == "replaced" and replaced["replaced_by"] == str(new.id)


def test_cancel_all_answers_207_per_order(broker, sandbox, key_id):
    account_id = margin_account(broker)
    orders = [broker.submit_order_for_account(account_id, limit_buy(qty=q)) for q in (1, 2)]
    with httpx.Client(auth=(key_id, SECRET)) as raw:
        response = raw.delete(f"{sandbox.url}/alpaca/v1/trading/accounts/{account_id}/orders")
    assert response.status_code == 207
    body = response.json()
    assert sorted(item["id"] for item in body) == sorted(str(o.id) for o in orders)
    assert all(item["status"] == 200 and item["body"]["id"] == item["id"] for item in body)
    assert broker.get_orders_for_account(account_id) == []
    assert broker.cancel_orders_for_account(account_id) == []


def test_fill_and_cash_activities_from_the_ledger(broker, control):
    """A 300-share order fills in parts: each part is a FILL activity, newest first, paged;
    the account's opening deposit is a CSD activity."""
    account_id = margin_account(broker)
    order = broker.submit_order_for_account(account_id, limit_buy("SCHD", qty=300, price=40))

    def filled():
        control.step()
        return broker.get_order_for_account_by_id(account_id, order.id).status == OrderStatus.FILLED

    poll_until(filled, what="order filled")
    mine = GetAccountActivitiesRequest(account_id=account_id, activity_types=[ActivityType.FILL])
    activities = broker.get_account_activities(mine)
    assert len(activities) >= 2 and all(a.order_id == order.id for a in activities)
    assert activities[0].type.value == "fill"
    assert {a.type.value for a in activities[1:]} == {"partial_fill"}
    assert sum(Decimal(str(a.qty)) for a in activities) == 300
    assert activities[0].cum_qty == 300 and activities[0].leaves_qty == 0
    assert [a.transaction_time for a in activities] == sorted(
        (a.transaction_time for a in activities), reverse=True
    )
    one_by_one = GetAccountActivitiesRequest(account_id=account_id, page_size=1)
    every = broker.get_account_activities(one_by_one)  # alpaca-py follows page_token
    assert [a.id for a in every[: len(activities)]] == [a.id for a in activities]
    deposit = every[len(activities) :]  # the ledger's opening deposit, oldest of all
    assert [a.activity_type for a in deposit] == [ActivityType.CSD]
    assert deposit[0].net_amount > 0 and deposit[0].date <= activities[-1].transaction_time.date()
    dividends = GetAccountActivitiesRequest(activity_types=[ActivityType.DIV])
    assert broker.get_account_activities(dividends) == []


# --------------------------------------------------------------------------- market side


def test_assets_clock_and_calendar(broker):
    account_id = margin_account(broker)
    held = broker.get_all_positions_for_account(account_id)
    assets = broker.get_all_assets()
    symbols = {a.symbol for a in assets}
    equities = {p.symbol for p in held if p.asset_class == AssetClass.US_EQUITY}
    assert equities <= symbols and "SPX" not in symbols  # an index is not an Alpaca asset
    aapl = broker.get_asset("AAPL")
    assert aapl.symbol == "AAPL" and aapl.tradable and aapl.name.startswith("Apple")
    assert broker.get_asset(aapl.id).symbol == "AAPL"
    coins = broker.get_all_assets(GetAssetsRequest(asset_class=AssetClass.CRYPTO))
    assert [a.symbol for a in coins] == ["BTC/USD", "ETH/USD", "SOL/USD"]  # the market's
    missing = refused(broker.get_asset, "NOT-A-TICKER!")
    assert missing.status_code == 404 and missing.code == 40410000
    clock = broker.get_clock()
    assert clock.next_open > clock.timestamp and clock.next_close > clock.timestamp
    assert clock.is_open == (clock.next_close < clock.next_open)
    days = broker.get_calendar(GetCalendarRequest(start="2026-11-30", end="2026-12-06"))
    assert [d.date.isoformat() for d in days] == [
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
    ]
    assert all(d.open.hour == 9 and d.open.minute == 30 and d.close.hour == 16 for d in days)
