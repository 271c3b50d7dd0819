"""A held-out check of linked orders: a bracket confirmed through the app's HTTP API (a real
daphne, the sandbox's three brokers) is then asked for at each broker through the
broker's own client, none of the app's code: tastytrade's SDK (`Account.get_complex_order`),
alpaca-py's `BrokerClient` (the demo's Alpaca link is a Broker API key) and, Tradier having
no official Python client, its documented REST API over plain httpx. Each must hold exactly
what the trader previewed: one linked order of three members, their types and prices, the
exits closing the entry, tagged with the ticket's client order id."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from alpaca.broker import BrokerClient
from alpaca.trading.requests import GetOrderByIdRequest
from tastytrade import Account, Session

from accounts.services import DEMO_LINKS
from sandbox.server import SandboxServer
from tests.support.live import LiveApp
from tests.support.trading_http import ORDERS_REST_FAR, Trader, enable_demo_trading

#: The entry: far below any sandbox AAPL price (it works, its exits wait for it).
ENTRY, TAKE, STOP = "1.37", "9000.00", "1.00"
SECRETS = {broker: secrets for broker, _, secrets in DEMO_LINKS}


@pytest.fixture(scope="module")
def live_app(live_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    """An app of its own: the bracket's entry rests far below the market (it works, its
    exits wait for it), which the price guard would hold for a second confirm."""
    app = LiveApp(live_sandbox.url, tmp_path_factory.mktemp("held-out"), **ORDERS_REST_FAR)
    app.start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def trader(live_app: LiveApp) -> Iterator[Trader]:
    """The demo trader with trading on (tests/e2e/conftest.py's app)."""
    enable_demo_trading(live_app)
    trader = Trader(live_app)
    yield trader
    trader.client.close()


def bracket(account: dict[str, Any]) -> dict[str, Any]:
    leg = {"symbol": "AAPL", "quantity": 1}
    return {
        "link": account["link"],
        "account": account["number"],
        "complex": "OTOCO",
        "trigger": {
            "legs": [{**leg, "action": "Buy to Open"}],
            "order_type": "Limit",
            "price": ENTRY,
            "time_in_force": "Day",
        },
        "orders": [
            {
                "legs": [{**leg, "action": "Sell to Close"}],
                "order_type": "Limit",
                "price": TAKE,
                "time_in_force": "Day",
            },
            {
                "legs": [{**leg, "action": "Sell to Close"}],
                "order_type": "Stop",
                "stop_price": STOP,
                "time_in_force": "Day",
            },
        ],
    }


def confirmed(trader: Trader, broker: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A bracket previewed and confirmed at `broker`: (the account, the placed ticket)."""
    account = trader.accounts()[broker]
    preview = trader.preview(bracket(account))
    assert preview.status_code == 200, preview.text
    answer = trader.confirm(preview.json()["preview"]["id"], uuid.uuid4().hex)
    assert answer.status_code == 201, answer.text
    ticket = answer.json()["ticket"]
    assert ticket["state"] == "placed"
    return account, ticket


def tag(ticket: dict[str, Any]) -> str:
    return f"sd-{ticket['id'].replace('-', '')}"


def test_tastytrade_holds_the_bracket_as_one_complex_order(trader, live_sandbox):
    account, ticket = confirmed(trader, "tastytrade")
    secrets = SECRETS["tastytrade"]
    session = Session(secrets["provider_secret"], secrets["refresh_token"])
    session._client.base_url = live_sandbox.url
    held = asyncio.run(
        Account.model_construct(account_number=account["number"]).get_complex_order(
            session, int(ticket["order_id"])
        )
    )
    assert held.type == "OTOCO"
    members = [held.trigger_order, *held.orders]
    assert [(m.order_type, m.price, m.stop_trigger) for m in members] == [
        ("Limit", Decimal("-" + ENTRY), None),  # the SDK signs a debit negative
        ("Limit", Decimal(TAKE), None),
        ("Stop", None, Decimal(STOP)),
    ]
    assert [(m.legs[0].symbol, m.legs[0].action, m.legs[0].quantity) for m in members] == [
        ("AAPL", "Buy to Open", 1),
        ("AAPL", "Sell to Close", 1),
        ("AAPL", "Sell to Close", 1),
    ]
    assert {m.external_identifier for m in members} == {tag(ticket)}


def test_alpaca_holds_the_bracket_as_one_parent_with_its_exits(trader, live_sandbox):
    account, ticket = confirmed(trader, "alpaca")
    secrets = SECRETS["alpaca"]
    broker = BrokerClient(
        secrets["key_id"],
        secrets["secret_key"],
        sandbox=True,
        url_override=f"{live_sandbox.url}/alpaca",
    )
    (account_id,) = [a.id for a in broker.list_accounts() if a.account_number == account["number"]]
    held = broker.get_order_for_account_by_id(
        account_id, ticket["order_id"], GetOrderByIdRequest(nested=True)
    )
    assert (held.order_class, held.client_order_id, held.side, held.type) == (
        "bracket",
        tag(ticket),
        "buy",
        "limit",
    )
    assert (Decimal(str(held.limit_price)), Decimal(str(held.qty))) == (Decimal(ENTRY), 1)
    exits = {leg.type: leg for leg in held.legs or []}
    assert set(exits) == {"limit", "stop"}
    assert Decimal(str(exits["limit"].limit_price)) == Decimal(TAKE)
    assert Decimal(str(exits["stop"].stop_price)) == Decimal(STOP)
    assert {leg.side for leg in exits.values()} == {"sell"}


def test_tradier_holds_the_bracket_as_one_linked_order(trader, live_sandbox):
    account, ticket = confirmed(trader, "tradier")
    token = SECRETS["tradier"]["access_token"]
    with httpx.Client(
        base_url=f"{live_sandbox.url}/tradier",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    ) as tradier:
        held = tradier.get(
            f"/v1/accounts/{account['number']}/orders/{ticket['order_id']}",
            params={"includeTags": "true"},
        ).json()["order"]
    assert (held["class"], held["tag"], held["num_legs"]) == ("otoco", tag(ticket), 3)
    members = held["leg"]
    assert [(m["type"], m["side"], m["symbol"], m["quantity"]) for m in members] == [
        ("limit", "buy", "AAPL", 1),
        ("limit", "sell", "AAPL", 1),
        ("stop", "sell", "AAPL", 1),
    ]
    assert Decimal(str(members[0]["price"])) == Decimal(ENTRY)
    assert Decimal(str(members[1]["price"])) == Decimal(TAKE)
    assert Decimal(str(members[2]["stop_price"])) == Decimal(STOP)
