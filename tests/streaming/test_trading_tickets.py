"""Preview, then confirm — never twice (tickets.py, claim.py, owner.py) against an
in-memory broker (tests/support/fake_orders.py): the app's own code runs as in
production (the owner's handler answers here, as when this process owns the stream);
only the broker is faked."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import BrokerLink
from accounts.services import broker_link_create
from streaming.brokers.orders.entry import OrderRefused
from streaming.cluster.agents import Agents
from streaming.models import TradeTicket, TradingAudit
from streaming.trading import claim as claims
from streaming.trading import owner as order_owner
from streaming.trading import tickets
from streaming.trading.grant import trading_disable
from tests.support.fake_orders import FakeBroker, FakeOwner, own_here
from tests.support.trading import enable_trading
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNT = "5WT00001"
OPTION = ".SPY270115C590"
db = database_sync_to_async


@pytest.fixture
def user():
    return get_user_model().objects.create_user("trader", password="pw-trader-123")


@pytest.fixture
def link(user) -> BrokerLink:
    link = broker_link_create(
        user=user, broker="tastytrade", label="Main", provider_secret="p", refresh_token="r"
    )
    link.account_numbers = [ACCOUNT]
    link.save(update_fields=["account_numbers"])
    enable_trading(user.id)
    return link


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def owner(agents, monkeypatch, user, link, broker) -> FakeOwner:
    """This process owns the user's stream: `ask_owner` answers with the real handler."""
    fake = FakeOwner(user.id, {link.id: broker})
    fake.state.quotes[OPTION] = {"bid": 2.30, "ask": 2.40, "t": 1}
    own_here(agents, monkeypatch, fake)
    return fake


def order(link: BrokerLink, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "link": link.id,
        "account": ACCOUNT,
        "legs": [{"symbol": OPTION, "action": "Buy to Open", "quantity": 2}],
        "order_type": "Limit",
        "price": "2.35",
        "time_in_force": "Day",
    }
    body.update(changes)
    return body


async def preview(agents: Agents, user, link, **changes: Any) -> str:
    status, body = await tickets.preview_order(agents, user.id, order(link, **changes), None)
    assert status == 200, body
    return body["preview"]["id"]


async def actions(user) -> list[str]:
    rows = await db(lambda: list(TradingAudit.objects.filter(user=user).order_by("id")))()
    return [row.action for row in rows]


async def test_a_preview_says_the_order_and_its_effect(agents, user, link, owner):
    status, body = await tickets.preview_order(agents, user.id, order(link), None)
    assert status == 200, body
    shown = body["preview"]
    assert shown["words"] == (
        "Buy 2 SPY 15 Jan 27 590 C at 2.35 limit, day: debit 470.00 + fees 2.00, "
        "buying power after 179,528.00"
    )
    assert shown["quote"] == {"bid": 2.30, "ask": 2.40, "t": 1}
    assert (shown["checks"], shown["broker"], shown["label"], shown["account"]) == (
        "broker",
        "tastytrade",
        "Main",
        ACCOUNT,
    )
    assert shown["expires_at"] > int(timezone.now().timestamp() * 1000)
    assert owner.tabs == {f"trading:{OPTION}": [OPTION]}  # the quote keeps streaming
    assert await actions(user) == ["preview"]


async def test_five_parallel_confirms_place_exactly_one_order(
    agents, monkeypatch, user, link, owner, broker
):
    preview_id = await preview(agents, user, link)
    claimed: list[bool] = []
    claim = claims.claim

    def counted(ticket: TradeTicket, key: str) -> bool:
        won = claim(ticket, key)
        claimed.append(won)
        return won

    monkeypatch.setattr(claims, "claim", counted)
    broker.gate = asyncio.Event()

    async def release() -> None:
        # the broker answers only once every confirm has tried the claim
        await wait_until(lambda: len(claimed) == 5 and broker.place_calls == 1, within=5)
        assert broker.gate is not None
        broker.gate.set()

    answers = await asyncio.gather(
        *(tickets.confirm_order(agents, user.id, preview_id, "key-1", None) for _ in range(5)),
        release(),
    )
    answers = answers[:5]
    assert claimed.count(True) == 1
    assert broker.place_calls == 1 and len(broker.orders) == 1
    assert sorted(status for status, _ in answers) == [200, 200, 200, 200, 201]
    assert {body["ticket"]["id"] for _, body in answers} == {preview_id}
    assert {body["ticket"]["state"] for _, body in answers} == {"placed"}
    order_id = next(iter(broker.orders.values()))["id"]
    assert {body["ticket"]["order_id"] for _, body in answers} == {order_id}
    # once more, later: the same ticket, nothing sent
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["ticket"]["order_id"], broker.place_calls) == (200, order_id, 1)
    assert await actions(user) == ["preview", "confirm", "placed"]
    row = await db(TradeTicket.objects.get)(pk=preview_id)
    assert (row.state, row.attempts, row.idempotency_key) == ("placed", 1, "key-1")
    assert broker.orders.keys() == {f"sd-{row.id.hex}"}


async def test_another_key_is_already_confirmed_and_sends_nothing(
    agents, user, link, owner, broker
):
    preview_id = await preview(agents, user, link)
    assert (await tickets.confirm_order(agents, user.id, preview_id, "key-1", None))[0] == 201
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-2", None)
    assert (status, body["code"], body["ticket"]["id"]) == (409, "already_confirmed", preview_id)
    assert broker.place_calls == 1


async def test_a_key_used_for_another_preview_is_refused(agents, user, link, owner, broker):
    first, second = await preview(agents, user, link), await preview(agents, user, link)
    assert (await tickets.confirm_order(agents, user.id, first, "key-1", None))[0] == 201
    status, body = await tickets.confirm_order(agents, user.id, second, "key-1", None)
    assert (status, body["code"]) == (400, "bad_idempotency_key")
    assert broker.place_calls == 1


@pytest.mark.parametrize("key", [None, "", "x" * 101, "naïve", "tab\there"])
async def test_a_missing_or_malformed_key_is_refused(agents, user, link, owner, broker, key):
    preview_id = await preview(agents, user, link)
    status, body = await tickets.confirm_order(agents, user.id, preview_id, key, None)
    assert (status, body["code"], broker.place_calls) == (400, "bad_idempotency_key", 0)


async def test_an_expired_preview_is_refused_and_stays_expired(agents, user, link, owner, broker):
    preview_id = await preview(agents, user, link)
    await db(TradeTicket.objects.filter(pk=preview_id).update)(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["code"], broker.place_calls) == (409, "preview_expired", 0)
    assert (await db(TradeTicket.objects.get)(pk=preview_id)).state == "expired"


async def test_every_confirm_of_an_expired_preview_is_an_audit_row(
    agents, user, link, owner, broker
):
    """The confirm that finds the preview expired, and any later one, are refusals: each
    is a `refused` row with the ticket and its words (docs/operations.md)."""
    preview_id = await preview(agents, user, link)
    await db(TradeTicket.objects.filter(pk=preview_id).update)(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    for key in ("key-1", "key-2"):
        status, body = await tickets.confirm_order(agents, user.id, preview_id, key, None)
        assert (status, body["code"]) == (409, "preview_expired")
    rows = await db(lambda: list(TradingAudit.objects.filter(user=user).order_by("id")))()
    refused = [(r.action, r.outcome, str(r.ticket), r.shown) for r in rows[1:]]
    words = rows[0].shown
    assert refused == [("refused", "confirm preview_expired", preview_id, words)] * 2
    assert broker.place_calls == 0


async def test_a_preview_refused_for_who_may_trade_is_an_audit_row(
    agents, user, link, owner, broker
):
    """Trading off (the kill switch, or never turned on) and a link not enabled refuse
    the preview before the broker is asked: each is a `refused` row with its reason."""
    await db(trading_disable)(user.id)
    status, body = await tickets.preview_order(agents, user.id, order(link), None)
    assert (status, body["code"]) == (403, "second_factor")
    enable = db(enable_trading)
    await enable(user.id)
    await db(BrokerLink.objects.filter(pk=link.pk).update)(trading_enabled=False)
    status, body = await tickets.preview_order(agents, user.id, order(link), None)
    assert (status, body["code"]) == (403, "trading_disabled")
    status, body = await tickets.preview_order(agents, user.id, order(link, account="OTHER1"), None)
    assert (status, body["code"]) == (403, "trading_disabled")
    rows = await db(lambda: list(TradingAudit.objects.filter(user=user).order_by("id")))()
    assert [(r.action, r.outcome, r.link_id, r.account) for r in rows] == [
        ("refused", "preview second_factor", link.id, ACCOUNT),
        ("refused", "preview trading_disabled", link.id, ACCOUNT),
        ("refused", "preview trading_disabled", link.id, "OTHER1"),
    ]
    assert rows[-1].said == {"code": "trading_disabled", "error": body["error"]}
    assert broker.preview_calls == 0


async def test_a_stop_that_would_trigger_at_once_needs_a_second_confirm(
    agents, user, link, owner, broker
):
    """A sell stop at or above the bid: the preview says so and asks for a second confirm;
    a confirm without it is refused (audited, nothing sent), one with it places."""
    stop = {"order_type": "Stop", "price": None, "stop_price": "2.35"}
    status, body = await tickets.preview_order(agents,
        user.id, order(link, legs=[{"symbol": OPTION, "action": "Sell to Close", "quantity": 2}],
                       **stop), None,
    )  # fmt: skip
    assert status == 200, body
    shown = body["preview"]
    warning = "This sell stop at 2.35 is at or above the bid 2.30: it would trigger at once."
    assert shown["second_confirm"] is True and warning in shown["warnings"]
    status, refused = await tickets.confirm_order(agents, user.id, shown["id"], "key-1", None)
    assert (status, refused["code"], broker.place_calls) == (409, "second_confirm", 0)
    assert refused["error"] == f"{warning} Confirm again to place it anyway."
    rows = await db(lambda: list(TradingAudit.objects.filter(user=user).order_by("id")))()
    assert [(r.action, r.outcome) for r in rows] == [
        ("preview", "previewed"),
        ("refused", "confirm second_confirm"),
    ]
    status, placed = await tickets.confirm_order(
        agents, user.id, shown["id"], "key-1", None, second_confirm=True
    )
    assert (status, placed["ticket"]["state"], broker.place_calls) == (201, "placed", 1)


async def test_a_stop_away_from_the_market_confirms_once(agents, user, link, owner, broker):
    stop = {"order_type": "Stop", "price": None, "stop_price": "2.20"}
    sell = [{"symbol": OPTION, "action": "Sell to Close", "quantity": 2}]
    status, body = await tickets.preview_order(
        agents, user.id, order(link, legs=sell, **stop), None
    )
    assert (status, body["preview"]["second_confirm"]) == (200, False)
    assert body["preview"]["words"].startswith("Sell 2 SPY 15 Jan 27 590 C at a 2.20 stop, day")
    status, _ = await tickets.confirm_order(agents, user.id, body["preview"]["id"], "key-1", None)
    assert (status, broker.place_calls) == (201, 1)


async def test_a_moved_quote_refuses_the_confirm_without_placing(agents, user, link, owner, broker):
    preview_id = await preview(agents, user, link)
    owner.state.quotes[OPTION] = {"bid": 2.36, "ask": 2.44, "t": 2}  # mid 2.35 → 2.40
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["code"], broker.place_calls) == (409, "quote_moved", 0)
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["code"], broker.place_calls) == (409, "quote_moved", 0)


async def test_a_quote_within_the_band_places(agents, user, link, owner, broker):
    preview_id = await preview(agents, user, link)
    owner.state.quotes[OPTION] = {"bid": 2.31, "ask": 2.41, "t": 2}  # mid moved 0.01
    assert (await tickets.confirm_order(agents, user.id, preview_id, "key-1", None))[0] == 201


async def test_a_lost_answer_is_reconciled_not_placed_again(agents, user, link, owner, broker):
    preview_id = await preview(agents, user, link)
    broker.lose_answer = True  # the broker takes the order; its answer never arrives
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["ticket"]["state"]) == (202, "unknown")
    broker.lose_answer = False
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["ticket"]["state"]) == (201, "placed")
    assert broker.place_calls == 1 and len(broker.orders) == 1
    assert body["ticket"]["order_id"] == next(iter(broker.orders.values()))["id"]
    assert await actions(user) == ["preview", "confirm", "unknown", "reconciled"]
    row = await db(TradeTicket.objects.get)(pk=preview_id)
    assert row.attempts == 2


async def test_a_place_lost_before_the_broker_got_it_is_placed_once_after_the_check(
    agents, user, link, owner, broker
):
    preview_id = await preview(agents, user, link)
    broker.fail_before = True
    assert (await tickets.confirm_order(agents, user.id, preview_id, "key-1", None))[0] == 202
    broker.fail_before = False
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["ticket"]["state"]) == (201, "placed")
    assert broker.place_calls == 2 and len(broker.orders) == 1
    assert await actions(user) == ["preview", "confirm", "unknown", "placed"]


async def test_a_ticket_its_owner_died_with_is_reconciled_after_the_timeout(
    agents, monkeypatch, user, link, owner, broker
):
    preview_id = await preview(agents, user, link)
    ticket = await db(TradeTicket.objects.get)(pk=preview_id)
    # the owner that claimed it placed the order and died before anyone heard back
    assert await db(claims.claim)(ticket, "key-1")
    broker.add_working(ACCOUNT, ticket.client_order_id)
    monkeypatch.setattr(tickets, "FOLLOW_WAIT", 0.3)
    # inside the timeout the ticket is still being placed: a resend is told so, no more
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["ticket"]["state"], broker.place_calls) == (202, "placing", 0)
    await db(TradeTicket.objects.filter(pk=preview_id).update)(
        claimed_at=timezone.now() - timedelta(seconds=claims.CLAIM_TIMEOUT + 1)
    )
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["ticket"]["state"], broker.place_calls) == (201, "placed", 0)
    assert body["ticket"]["order_id"] == broker.orders[ticket.client_order_id]["id"]


async def test_reading_a_lost_ticket_checks_the_broker_and_places_nothing(
    agents, user, link, owner, broker
):
    preview_id = await preview(agents, user, link)
    broker.fail_before = True
    assert (await tickets.confirm_order(agents, user.id, preview_id, "key-1", None))[0] == 202
    status, body = await tickets.ticket_status(agents, user.id, preview_id, None)
    assert (status, body["ticket"]["state"], broker.place_calls) == (200, "unknown", 1)
    broker.fail_before = False
    row = await db(TradeTicket.objects.get)(pk=preview_id)
    broker.add_working(ACCOUNT, row.client_order_id)  # e.g. it arrived after all
    status, body = await tickets.ticket_status(agents, user.id, preview_id, None)
    assert (status, body["ticket"]["state"], broker.place_calls) == (200, "placed", 1)


async def test_a_refusal_is_stored_and_answered_again_the_same(agents, user, link, owner, broker):
    preview_id = await preview(agents, user, link)
    broker.refuse = OrderRefused("rejected", "Insufficient buying power.", {"code": "bp"})
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["code"], body["error"]) == (400, "rejected", "Insufficient buying power.")
    assert body["ticket"]["state"] == "rejected"
    assert (await tickets.confirm_order(agents, user.id, preview_id, "key-1", None))[:1] == (400,)
    assert broker.place_calls == 1


async def test_a_dry_run_refusal_is_a_400_with_the_brokers_sentence(
    agents, user, link, owner, broker
):
    broker.refuse = OrderRefused("rejected", "Not enough buying power.")
    status, body = await tickets.preview_order(agents, user.id, order(link), None)
    assert (status, body) == (400, {"error": "Not enough buying power.", "code": "rejected"})
    assert await actions(user) == ["refused"]


async def test_the_notional_limit(agents, user, link, owner, broker):
    await db(BrokerLink.objects.filter(pk=link.pk).update)(max_order_notional=400)
    preview_id = await preview(agents, user, link)
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["code"], broker.place_calls) == (409, "limit_notional", 0)
    assert body["error"] == "This order is 470.00 US dollars, over your limit of 400.00."


async def test_the_orders_per_minute_limit(agents, user, link, owner, broker):
    await db(BrokerLink.objects.filter(pk=link.pk).update)(max_orders_per_minute=1)
    first, second = await preview(agents, user, link), await preview(agents, user, link)
    assert (await tickets.confirm_order(agents, user.id, first, "key-1", None))[0] == 201
    status, body = await tickets.confirm_order(agents, user.id, second, "key-2", None)
    assert (status, body["code"], broker.place_calls) == (409, "limit_rate", 1)


async def test_who_may_trade_is_checked_at_the_preview_and_again_at_the_confirm(
    agents, user, link, owner, broker
):
    preview_id = await preview(agents, user, link)
    await db(trading_disable)(user.id)
    status, body = await tickets.confirm_order(agents, user.id, preview_id, "key-1", None)
    assert (status, body["code"], broker.place_calls) == (403, "second_factor", 0)
    await db(BrokerLink.objects.filter(pk=link.pk).update)(trading_enabled=False)
    status, body = await tickets.preview_order(agents, user.id, order(link), None)
    assert (status, body["code"]) == (403, "trading_disabled")
    assert body["error"] == (
        "Trading is not enabled for tastytrade · Main; staff can enable it in the admin."
    )


async def test_a_foreign_account_or_unsupported_order_is_refused(agents, user, link, owner):
    status, body = await tickets.preview_order(agents, user.id, order(link, account="OTHER1"), None)
    assert (status, body) == (
        404,
        {"error": "No account OTHER1 is linked to you.", "code": "not_found"},
    )
    three = [
        {"symbol": f".SPY270115C{590 + i}", "action": "Buy to Open", "quantity": 1}
        for i in range(3)
    ]
    await db(BrokerLink.objects.filter(pk=link.pk).update)(broker="alpaca")
    owner.links[link.id].broker = "alpaca"  # the owner checks what its link's broker takes
    status, body = await tickets.preview_order(
        agents, user.id, order(link, legs=three, price="1.00"), None
    )
    assert (status, body) == (
        400,
        {"error": "Alpaca does not take multi-leg orders here.", "code": "unsupported"},
    )


async def test_an_adapter_without_orders_is_unsupported(agents, user, link, owner):
    owner.adapters[link.id] = object()
    status, body = await tickets.preview_order(agents, user.id, order(link), None)
    assert (status, body["code"]) == (400, "unsupported")


async def test_the_owner_places_once_per_client_order_id():
    calls = 0
    gate = asyncio.Event()
    placed = order_owner.Answer(200, {"order_id": "1"})

    async def place() -> order_owner.Answer:
        nonlocal calls
        calls += 1
        await gate.wait()
        return placed

    once = order_owner.PlaceOnce()
    first = asyncio.create_task(once("7:sd-x", place))
    second = asyncio.create_task(once("7:sd-x", place))
    await wait_until(lambda: "7:sd-x" in once._in_flight, within=2)
    gate.set()
    assert await first == await second == placed
    assert await once("7:sd-x", place) == placed
    assert calls == 1
    # another process (or test) has its own: it places
    assert await order_owner.PlaceOnce()("7:sd-x", place) == placed
    assert calls == 2


# -- linked orders -----------------------------------------------------------------------
def member(action: str, order_type: str, quantity: int = 100, **prices: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "legs": [{"symbol": "SPY", "action": action, "quantity": quantity}],
        "order_type": order_type,
        "time_in_force": "GTC",
    }
    return body | prices


def bracket(link: BrokerLink, quantity: int = 100, stop: str = "460.00") -> dict[str, Any]:
    entry = member("Buy to Open", "Limit", quantity, price="480.00") | {"time_in_force": "Day"}
    return {
        "link": link.id,
        "account": ACCOUNT,
        "complex": "OTOCO",
        "trigger": entry,
        "orders": [
            member("Sell to Close", "Limit", quantity, price="500.00"),
            member("Sell to Close", "Stop", quantity, stop_price=stop),
        ],
    }


@pytest.fixture
def spy(owner) -> FakeOwner:
    owner.state.quotes["SPY"] = {"bid": 479.50, "ask": 480.50, "t": 1}
    return owner


async def test_a_bracket_is_said_member_by_member_and_placed_once_of_five_confirms(
    agents, user, link, spy, broker
):
    status, body = await tickets.preview_order(agents, user.id, bracket(link), None)
    assert status == 200, body
    shown = body["preview"]
    assert shown["words"] == (
        "Bracket: Buy 100 SPY at 480.00 limit, day: debit 48,000.00 + fees 2.00, buying power "
        "after 131,998.00; then one cancels the other: Sell 100 SPY at 500.00 limit, GTC "
        "(credit 50,000.00) / Sell 100 SPY at a 460.00 stop, GTC (credit about 46,000.00)"
    )
    assert (shown["order"]["complex"], len(shown["order"]["orders"])) == ("OTOCO", 2)
    assert shown["second_confirm"] is False
    broker.gate = asyncio.Event()

    async def release() -> None:
        await wait_until(lambda: broker.place_calls == 1, within=5)
        assert broker.gate is not None
        broker.gate.set()

    answers = await asyncio.gather(
        *(tickets.confirm_order(agents, user.id, shown["id"], "key-b", None) for _ in range(5)),
        release(),
    )
    assert sorted(status for status, _ in answers[:5]) == [200, 200, 200, 200, 201]
    assert broker.place_calls == 1 and len(broker.linked_placed) == 1
    group = broker.linked_placed[0]
    tag = f"sd-{shown['id'].replace('-', '')}"
    assert group.client_order_id == tag
    assert [m.client_order_id for m in group.members] == [tag, tag, tag]
    assert [m.order_type for m in group.members] == ["Limit", "Limit", "Stop"]
    assert await actions(user) == ["preview", "confirm", "placed"]


async def test_a_stop_loss_that_would_trigger_at_once_needs_a_second_confirm(
    agents, user, link, spy, broker
):
    """An exit pair of shares held whose stop-loss sits above the bid: said, and placed
    only on the second confirm."""
    body = bracket(link, stop="481.00")
    body = {"link": link.id, "account": ACCOUNT, "complex": "OCO", "orders": body["orders"]}
    status, answer = await tickets.preview_order(agents, user.id, body, None)
    assert status == 200, answer
    shown = answer["preview"]
    assert shown["second_confirm"] is True
    assert any("would trigger at once" in w for w in shown["warnings"]), shown["warnings"]
    # neither order fills first: the dry run's one order is no cost of the group
    assert (shown["effect"]["cost"], shown["effect"]["buying_power_after"]) == (None, None)
    assert shown["words"].endswith("(credit 50,000.00) / Sell 100 SPY at a 481.00 stop, GTC "
                                   "(credit about 48,100.00): fees 2.00")  # fmt: skip
    status, refused = await tickets.confirm_order(agents, user.id, shown["id"], "key-s", None)
    assert (status, refused["code"], broker.place_calls) == (409, "second_confirm", 0)
    status, placed = await tickets.confirm_order(
        agents, user.id, shown["id"], "key-s", None, second_confirm=True
    )
    assert (status, placed["ticket"]["state"], broker.place_calls) == (201, "placed", 1)


async def test_a_linked_order_is_held_to_its_largest_members_notional(
    agents, user, link, spy, broker
):
    status, body = await tickets.preview_order(agents, user.id, bracket(link, quantity=300), None)
    assert status == 200, body
    status, refused = await tickets.confirm_order(
        agents, user.id, body["preview"]["id"], "key-n", None
    )
    assert (status, refused["code"], broker.place_calls) == (409, "limit_notional", 0)
    assert "150,000.00 US dollars" in refused["error"]  # the take-profit: 300 x 500.00


async def test_a_member_no_linked_order_takes_is_refused_in_words(agents, user, link, spy):
    body = bracket(link)
    body["orders"][1] = member("Sell to Close", "Trailing Stop", trail={"amount": "5.00"})
    status, refused = await tickets.preview_order(agents, user.id, body, None)
    assert (status, refused["code"]) == (400, "bad_order")
    assert refused["error"] == (
        "The second order is a trailing stop: a linked order takes a Stop instead."
    )
