"""Alpaca's order entry (SupportsOrders) over httpx against the sandbox, in both of the
adapter's modes: the Broker API (per-account paths) and the Trading API (`/v2`)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest

from sandbox.core.config import SandboxConfig
from streaming.brokers.alpaca.adapter import AlpacaAdapter
from streaming.brokers.alpaca.trading import AlpacaTradingAdapter
from streaming.brokers.base import MemoryCheckpoint, StreamConfig
from streaming.brokers.orders.entry import OrderRefused
from tests.support.brokers import ALPACA_FAST
from tests.support.order_entry import CALL_LOW, dollars_of, limit_buy, market_buy, stop_order
from tests.support.order_entry import linked as linked_order

SECRET = "sk-orders-secret-789"


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Orders advance only on control.step(): every order here stays working."""
    return SandboxConfig(tick_rate=20.0, order_step_interval=0)


@pytest.fixture(params=["broker", "trading"])
def linked(request, broker_at_sandbox) -> tuple[AlpacaAdapter, str, httpx.Client]:
    """An adapter (not running: orders need no stream), its margin account, and a REST
    client of the same key for looking at the broker's side."""
    url = f"{broker_at_sandbox.url}/alpaca"
    config = StreamConfig(**ALPACA_FAST)
    if request.param == "broker":
        key = f"AK{uuid.uuid4().hex[:14].upper()}"
        adapter: AlpacaAdapter = AlpacaAdapter(
            link_id=7,
            key_id=key,
            secret_key=SECRET,
            api_url=url,
            checkpoint=MemoryCheckpoint(),
            config=config,
        )
        rest = httpx.Client(base_url=url, auth=(key, SECRET), timeout=10)
        account = next(a for a in rest.get("/v1/accounts").json() if a["trading_type"] == "margin")
        prefix = f"/v1/trading/accounts/{account['id']}"
    else:
        key = f"PK{uuid.uuid4().hex[:16].upper()}"
        adapter = AlpacaTradingAdapter(
            link_id=8, key_id=key, secret_key=SECRET, api_url=url, config=config
        )
        headers = {"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": SECRET}
        rest = httpx.Client(base_url=url, headers=headers, timeout=10)
        account = rest.get("/v2/account").json()
        prefix = "/v2"
    rest.base_url = f"{url}{prefix}"
    yield adapter, str(account["account_number"]), rest
    rest.close()


async def test_preview_is_the_apps_checks(linked):
    adapter, account, _ = linked
    preview = await adapter.preview_order(limit_buy(account, quantity=3))
    assert preview.checks == "app"
    assert preview.cost == 3.0  # 1.00 x 3 shares
    # the account's buying power as Alpaca answered it (it moves with the marks)
    assert preview.buying_power_before == float(preview.said["account"]["buying_power"]) > 0
    assert preview.buying_power_after == pytest.approx(preview.buying_power_before - 3.0)
    assert preview.buying_power_kind == "equity"  # stock's: the card's "Buying power"
    assert preview.fees is None and preview.warnings == []
    assert await adapter.working_orders(account) == []  # nothing placed


async def test_closing_more_than_held_is_refused(linked):
    adapter, account, rest = linked
    held = rest.get("/positions").json()
    stock = next(p for p in held if p["asset_class"] == "us_equity" and float(p["qty"]) > 0)
    too_many = int(float(stock["qty"])) + 1
    order = limit_buy(account, symbol=stock["symbol"], action="Sell to Close", quantity=too_many)
    with pytest.raises(OrderRefused) as refused:
        await adapter.preview_order(order)
    assert refused.value.code == "rejected"
    assert f"only {int(float(stock['qty']))} are held" in str(refused.value)


async def test_place_find_replace_cancel(linked):
    adapter, account, rest = linked
    placed = await adapter.place_order(limit_buy(account, client_order_id="sd-ticket-9"))
    assert placed.status == "Live" and placed.said["status"] == "new"  # Alpaca's words
    found = await adapter.find_order(account, "sd-ticket-9")
    assert found is not None and found.order_id == placed.order_id
    assert await adapter.find_order(account, "sd-ticket-10") is None
    assert placed.order_id in await adapter.working_orders(account)

    new = limit_buy(account, price="1.05", client_order_id="sd-ticket-11")
    replaced = await adapter.replace_order(placed.order_id, new)
    assert replaced.order_id != placed.order_id
    assert replaced.said["limit_price"] == "1.05"
    assert replaced.said["replaces"] == placed.order_id
    working = await adapter.working_orders(account)
    assert replaced.order_id in working and placed.order_id not in working

    await adapter.cancel_order(account, replaced.order_id)
    assert replaced.order_id not in await adapter.working_orders(account)
    assert rest.get(f"/orders/{replaced.order_id}").json()["status"] == "canceled"


async def test_unknown_symbol_is_refused(linked):
    adapter, account, _ = linked
    with pytest.raises(OrderRefused) as preview:
        await adapter.preview_order(limit_buy(account, symbol="NOSUCHTICKER"))
    assert preview.value.code == "unknown_symbol"
    with pytest.raises(OrderRefused) as place:
        await adapter.place_order(limit_buy(account, symbol="NOSUCHTICKER"))
    assert place.value.code == "unknown_symbol"
    assert place.value.said["code"] == 40010000


async def test_market_order(linked):
    adapter, account, _ = linked
    order = market_buy(account, 2, "500.10", "sd-mkt-1")
    preview = await adapter.preview_order(order)
    assert preview.cost == 1000.2  # the reference price x 2
    placed = await adapter.place_order(order)
    assert placed.said["type"] == "market" and placed.said["client_order_id"] == "sd-mkt-1"
    found = await adapter.find_order(account, "sd-mkt-1")
    assert found is not None and found.order_id == placed.order_id


async def test_a_part_of_a_share_and_a_dollar_amount(linked):
    """Alpaca's fractional trading: a `qty` of 0.5 as sent, and a `notional` without a
    `qty`, which Alpaca sizes at the fill; both previewed at what they cost."""
    adapter, account, rest = linked
    half = limit_buy(account, quantity=Decimal("0.5"), client_order_id="sd-half-1")
    assert (await adapter.preview_order(half)).cost == 0.5  # 1.00 x 0.5
    placed = await adapter.place_order(half)
    held = rest.get(f"/orders/{placed.order_id}").json()
    assert (held["qty"], held["notional"]) == ("0.5", None)
    amount = dollars_of(account, "25.00", client_order_id="sd-dollars-1")
    preview = await adapter.preview_order(amount)
    assert preview.cost == 25.0
    assert preview.buying_power_after == pytest.approx(preview.buying_power_before - 25.0)
    placed = await adapter.place_order(amount)
    held = rest.get(f"/orders/{placed.order_id}").json()
    assert (held["type"], held["notional"], held["qty"]) == ("market", "25", None)
    found = await adapter.find_order(account, "sd-dollars-1")
    assert found is not None and found.order_id == placed.order_id


async def test_single_option_order(linked):
    adapter, account, _ = linked
    order = limit_buy(account, symbol=CALL_LOW, price="0.05", client_order_id="sd-opt-1")
    preview = await adapter.preview_order(order)
    assert preview.cost == 5.0  # 0.05 x 1 contract x 100
    # an option uses the options buying power (the card's "Option BP"), not the stock one
    options = float(preview.said["account"]["options_buying_power"])
    assert (preview.buying_power_kind, preview.buying_power_before) == ("derivative", options)
    assert preview.buying_power_after == pytest.approx(options - 5.0)
    placed = await adapter.place_order(order)
    assert placed.said["symbol"] == "SPY261218C00600000"
    assert placed.said["asset_class"] == "us_option"


async def test_too_little_buying_power_refuses_the_order_not_the_key(linked):
    """Alpaca answers 403 (`40310000`) for an order it will not fund: a refusal, with a
    warning in the preview first."""
    adapter, account, _ = linked
    order = limit_buy(account, price="1000.00", quantity=100_000)
    preview = await adapter.preview_order(order)
    assert preview.warnings == ["This order costs more than the account's buying power."]
    with pytest.raises(OrderRefused) as refused:
        await adapter.place_order(order)
    assert refused.value.code == "rejected"
    assert refused.value.said == {"code": 40310000, "message": "insufficient buying power"}


async def test_stops_and_trailing_stops_are_held_as_placed(linked):
    """A Stop, a Stop Limit and a Trailing Stop (in dollars, then in percent) as Alpaca
    takes them: `stop_price`, `limit_price`, `trail_price` / `trail_percent`; a replace
    of a trailing stop sends its new `trail`."""
    adapter, account, rest = linked
    stop = stop_order(account, "Stop", stop="9000.00")
    assert (await adapter.preview_order(stop)).cost == 9000.0  # priced at the trigger
    placed = (await adapter.place_order(stop)).said
    assert (placed["type"], placed["stop_price"], placed["limit_price"]) == (
        "stop",
        "9000",
        None,
    )
    held = rest.get(f"/orders/{placed['id']}").json()
    assert (held["type"], held["stop_price"]) == ("stop", "9000")
    limit = stop_order(account, "Stop Limit", stop="9000.00", price="9001.00")
    said = (await adapter.place_order(limit)).said
    assert (said["type"], said["stop_price"], said["limit_price"]) == ("stop_limit", "9000", "9001")
    dollars = stop_order(account, "Trailing Stop", trail_amount="2.50")
    trailing = await adapter.place_order(dollars)
    assert (trailing.said["type"], trailing.said["trail_price"]) == ("trailing_stop", "2.5")
    wider = stop_order(account, "Trailing Stop", trail_amount="3.00")
    replaced = await adapter.replace_order(trailing.order_id, wider)
    assert replaced.said["trail_price"] == "3"
    percent = stop_order(account, "Trailing Stop", trail_percent="1.5")
    said = (await adapter.place_order(percent)).said
    assert (said["type"], said["trail_percent"]) == ("trailing_stop", "1.5")


async def test_a_bracket_is_one_order_with_its_exits_nested(linked):
    """An OTOCO as Alpaca's `bracket`: the entry the parent (tagged), the take-profit and
    the stop-loss its legs; found by the tag; cancelling the parent takes the legs."""
    adapter, account, rest = linked
    group = linked_order(account, "OTOCO", entry_tif="GTC", client_order_id="sd-bracket-3")
    preview = await adapter.preview_linked(group)
    assert preview.checks == "app" and preview.cost == 1.0  # the entry: 1.00 x 1
    placed = await adapter.place_linked(group)
    said = placed.said
    assert (said["order_class"], said["client_order_id"], Decimal(said["limit_price"])) == (
        "bracket",
        "sd-bracket-3",
        Decimal("1.00"),
    )
    held = rest.get(f"/orders/{placed.order_id}", params={"nested": "true"}).json()
    exits = {leg["type"]: leg for leg in held["legs"]}
    assert Decimal(exits["limit"]["limit_price"]) == Decimal("2.00")
    assert Decimal(exits["stop"]["stop_price"]) == Decimal("0.50")
    found = await adapter.find_order(account, "sd-bracket-3")
    assert found is not None and found.order_id == placed.order_id
    cancelled = await adapter.cancel_order(account, placed.order_id)
    assert sorted(cancelled.with_it) == sorted(leg["id"] for leg in held["legs"])


async def test_an_oco_exits_shares_held(linked):
    """Alpaca's `oco`: a take-profit limit (the parent) and a stop-loss for shares held."""
    adapter, account, rest = linked
    held = rest.get("/positions").json()
    stock = next(p for p in held if p["asset_class"] == "us_equity" and float(p["qty"]) >= 1)
    group = linked_order(account, "OCO", symbol=stock["symbol"], take="9000.00", stop="1.00")
    preview = await adapter.preview_linked(group)
    assert preview.checks == "app" and preview.cost == -9000.0  # the take-profit: received
    placed = await adapter.place_linked(group)
    assert (placed.said["order_class"], placed.said["type"]) == ("oco", "limit")
    nested = rest.get(f"/orders/{placed.order_id}", params={"nested": "true"}).json()
    assert [Decimal(leg["stop_price"]) for leg in nested["legs"]] == [Decimal("1.00")]
