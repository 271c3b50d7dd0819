"""Taking risk off (cancels.py) against in-memory brokers, and the order endpoints'
front door through Django's full middleware stack (views.py, csrf.py): a CSRF failure on
the API is JSON, an API token never trades, cancels need no second factor."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client

from accounts.models import BrokerLink
from accounts.services import broker_link_create
from accounts.tokens import api_token_create
from streaming.brokers.orders.entry import OrderRefused
from streaming.models import TradingAudit, TradingProfile
from streaming.trading.cancels import cancel_all, cancel_one, kill_switch
from tests.support.fake_orders import FakeBroker, FakeOwner, own_here
from tests.support.trading import enable_trading

pytestmark = pytest.mark.django_db(transaction=True)

db = database_sync_to_async
SITE = "http://testserver"


@pytest.fixture
def user():
    return get_user_model().objects.create_user("trader", password="pw-trader-123")


def _link(user, broker: str, label: str, accounts: list[str], **secrets: str) -> BrokerLink:
    link = broker_link_create(user=user, broker=broker, label=label, **secrets)
    link.account_numbers = accounts
    link.save(update_fields=["account_numbers"])
    return link


@pytest.fixture
def links(user) -> list[BrokerLink]:
    made = [
        _link(user, "tastytrade", "Main", ["5WT1", "5WT2"], provider_secret="p", refresh_token="r"),
        _link(user, "tradier", "IRA", ["VA1"], access_token="t"),
        _link(user, "alpaca", "Paper", ["PA1"], key_id="k", secret_key="s"),
    ]
    enable_trading(user.id)
    return made


@pytest.fixture
def brokers(agents, monkeypatch, user, links) -> dict[int, FakeBroker]:
    """Every link's broker, at this process's owner; the Alpaca one does not trade."""
    found = {links[0].id: FakeBroker(), links[1].id: FakeBroker()}
    owner = FakeOwner(
        user.id,
        {**found, links[2].id: object()},
        {link.id: link.broker for link in links},
    )
    own_here(agents, monkeypatch, owner)
    return found


async def test_the_kill_switch_cancels_everywhere_and_turns_trading_off(
    agents, user, links, brokers
):
    tasty, tradier = brokers[links[0].id], brokers[links[1].id]
    a = tasty.add_working("5WT1", "sd-a")
    b = tasty.add_working("5WT2", "sd-b")
    stuck = tasty.add_working("5WT2", "sd-c")
    tasty.failing_cancels.add(stuck)
    c = tradier.add_working("VA1", "sd-d")
    answer = await kill_switch(agents, user.id, request=None)
    results = {r["link"]: r for r in answer["results"]}
    assert list(results) == [link.id for link in links]
    assert results[links[0].id]["cancelled"] == [a, b]
    assert results[links[0].id]["failed"] == [
        {"order_id": stuck, "error": f"order {stuck} is not cancellable"}
    ]
    assert (results[links[1].id]["cancelled"], results[links[1].id]["error"]) == ([c], None)
    assert results[links[2].id]["error"] == (
        "Alpaca · Paper: This broker link does not take orders here yet."
    )
    assert (results[links[0].id]["account"], results[links[0].id]["broker"]) == (None, "tastytrade")
    assert answer["trading"]["on"] is False and answer["trading"]["killed_at"] is not None
    profile = await db(TradingProfile.objects.get)(user=user)
    assert profile.granted_until is None and profile.killed_at is not None
    # the trader's own kill switch leaves the links' staff setting alone
    assert await db(BrokerLink.objects.filter(user=user, trading_enabled=True).count)() == 3
    row = await db(TradingAudit.objects.get)(user=user, action="kill_switch")
    assert row.outcome == "3 cancelled, 2 failed"


async def test_staffs_kill_switch_also_disables_the_links(agents, user, links, brokers):
    await kill_switch(agents, user.id, request=None, staff="admin")
    assert await db(BrokerLink.objects.filter(user=user, trading_enabled=True).count)() == 0
    row = await db(TradingAudit.objects.get)(user=user, action="kill_switch")
    assert row.actor == "admin"


async def test_cancel_all_of_one_account(agents, user, links, brokers):
    tasty = brokers[links[0].id]
    a = tasty.add_working("5WT1", "sd-a")
    other = tasty.add_working("5WT2", "sd-b")
    status, body = await cancel_all(agents, user.id, links[0].id, "5WT1", None)
    assert status == 200
    assert body["results"] == [
        {
            "link": links[0].id,
            "broker": "tastytrade",
            "label": "Main",
            "account": "5WT1",
            "cancelled": [a],
            "failed": [],
            "error": None,
        }
    ]
    assert tasty.cancel_calls == [a] and other not in tasty.cancel_calls
    status, body = await cancel_all(agents, user.id, links[0].id, "VA1", None)
    assert (status, body["code"]) == (404, "not_found")


async def test_cancel_one_finds_the_account_in_the_stream_and_needs_no_second_factor(
    agents, user, links, brokers
):
    tasty = brokers[links[0].id]
    order_id = tasty.add_working("5WT2", "sd-a")
    owner = agents.get(user.id)
    owner.state.orders[(links[0].id, int(order_id))] = {"id": int(order_id), "account": "5WT2"}
    await db(BrokerLink.objects.filter(user=user).update)(trading_enabled=False)
    status, body = await cancel_one(agents, user.id, order_id, links[0].id, "", None)
    assert (status, body["cancel"]["account"], body["cancel"]["status"]) == (
        200,
        None,
        "Cancel Requested",
    )
    assert tasty.cancel_calls == [order_id]
    tasty.failing_cancels.add(order_id)
    status, body = await cancel_one(agents, user.id, order_id, links[0].id, "5WT2", None)
    assert (status, body["code"]) == (400, "rejected")
    status, body = await cancel_one(agents, user.id, "999", links[0].id, "5WT2", None)
    assert (status, body["code"]) == (404, "not_found")
    # unknown to the stream, at a link of two accounts: the account must be named
    status, body = await cancel_one(agents, user.id, "998", links[0].id, "", None)
    assert (status, body) == (
        404,
        {"error": "Order 998 is not in the stream yet; name its account.", "code": "not_found"},
    )
    # ... at a link of one account: that one
    tradier = brokers[links[1].id]
    lone = tradier.add_working("VA1", "sd-z")
    status, body = await cancel_one(agents, user.id, lone, links[1].id, "", None)
    assert (status, tradier.cancel_calls) == (200, [lone])


# -- the front door ------------------------------------------------------------------------
def test_a_csrf_failure_on_the_api_is_json_and_a_page_elsewhere(user, links):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    answer = client.post(
        "/api/orders/preview", "{}", content_type="application/json", HTTP_ORIGIN=SITE
    )
    assert answer.status_code == 403
    assert answer.json()["code"] == "csrf"
    page = client.post("/logout/")
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


def test_an_api_token_never_trades(user, links):
    raw = api_token_create(user=user, name="bot", lifetime_days=7).raw
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ORIGIN": SITE}
    client = Client(enforce_csrf_checks=True)
    for path, body in [
        ("/api/orders", '{"preview_id": "x"}'),
        ("/api/orders/preview", "{}"),
        ("/api/orders/cancel-all", "{}"),
        ("/api/trading/kill-switch", "{}"),
    ]:
        answer = client.post(path, body, content_type="application/json", **bearer)
        assert (answer.status_code, answer.json()["error"]) == (403, "token_read_only"), path
    answer = client.delete(f"/api/orders/1?link={links[0].id}", **bearer)
    assert (answer.status_code, answer.json()["error"]) == (403, "token_read_only")
    # the order list stays readable with the token
    assert client.get("/api/orders", **bearer).status_code != 403


async def test_the_endpoints_answer_bad_input_in_words(user, links, brokers):
    client = AsyncClient()
    await db(client.force_login)(user)
    headers = {"headers": {"Origin": SITE}}
    answer = await client.post(
        "/api/orders/preview", "[1]", content_type="application/json", **headers
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "bad_body")
    answer = await client.post(
        "/api/orders/preview", "x" * 5000, content_type="application/json", **headers
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "bad_body")
    answer = await client.post(
        "/api/orders", '{"preview_id": "nope"}', content_type="application/json", **headers
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "bad_idempotency_key")
    answer = await client.post(
        "/api/orders",
        '{"preview_id": "nope"}',
        content_type="application/json",
        headers={"Origin": SITE, "Idempotency-Key": "k-1"},
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    answer = await client.post("/api/orders/preview", "{}", content_type="application/json")
    assert (answer.status_code, answer.json()["code"]) == (403, "bad_origin")
    answer = await client.get("/api/orders/tickets/not-a-uuid")
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    answer = await client.post(
        "/api/trading/kill-switch", '{"all": true}', content_type="application/json", **headers
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "bad_body")


async def test_anonymous_is_refused(links):
    answer = await AsyncClient().post(
        "/api/orders/preview", "{}", content_type="application/json", headers={"Origin": SITE}
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")


def test_a_refusal_from_the_dry_run_reaches_the_browser(user, links, brokers):
    brokers[links[0].id].refuse = OrderRefused("unknown_symbol", "No such option at tastytrade.")
    client = Client()
    client.force_login(user)
    answer = client.post(
        "/api/orders/preview",
        {
            "link": links[0].id,
            "account": "5WT1",
            "legs": [{"symbol": ".SPY270115C590", "action": "Buy to Open", "quantity": 1}],
            "order_type": "Limit",
            "price": "2.35",
            "time_in_force": "Day",
        },
        content_type="application/json",
        HTTP_ORIGIN=SITE,
    )
    assert (answer.status_code, answer.json()) == (
        400,
        {
            "error": "No such option at tastytrade.",
            "code": "unknown_symbol",
            "message": "No such option at tastytrade.",
        },
    )
