"""Web Push and e-mail (streaming/push/): the subscription API and its endpoint rules, the
outbox written with an alert's crossing (exactly once per event per device), and the
sender against a loopback push service that decrypts every push with the device's own keys
and verifies the VAPID signature, answering 201, 410, 429 or 400 as a push service does.

The one edge replaced is the push service (a local HTTP server: a real one is on the
internet); the encryption, the signature and the HTTP are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts.notification_settings import notification_settings_update
from streaming.alerts import store as alert_store
from streaming.models import Alert, PushDelivery, PushSubscription
from streaming.push import outbox
from streaming.push.input import PushInputError, check_endpoint, parse_subscription, send_allowed
from streaming.push.sender import PushSender
from tests.support.push import Device, PushService, b64, unb64, verify_vapid
from tests.support.wait import await_until, wait_until

#: The tests that reach the database (the sender's threads see committed rows only).
DB = pytest.mark.django_db(transaction=True)

CSRF = "b" * 32
AT = 1_800_000_000_000


@pytest.fixture
def service() -> Iterator[PushService]:
    running = PushService()
    yield running
    running.close()


@pytest.fixture
def debug(settings) -> None:
    """A loopback endpoint is taken with DJANGO_DEBUG on (the contract's test switch)."""
    settings.DEBUG = True


@pytest.fixture
def user():
    return get_user_model().objects.create_user(
        "push-trader", password="pw", email="trader@example.com"
    )


@pytest.fixture
def client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def send(client: Client, method: str, path: str, body: Any = None):
    return client.generic(
        method,
        path,
        data=orjson.dumps(body) if body is not None else b"",
        content_type="application/json",
        headers={"X-CSRFToken": CSRF},
    )


def subscribe(client: Client, endpoint: str, device: Device):
    return send(
        client,
        "POST",
        "/api/push/subscriptions",
        {"endpoint": endpoint, "expirationTime": None, "keys": device.keys},
    )


def crossing(user, symbol: str = "AAPL") -> dict:
    """An armed alert fired once (the store's compare-and-set), as the runner does."""
    alert = Alert.objects.create(user=user, symbol=symbol, condition="above", level=200)
    fired = alert_store.alert_fire(alert.id, 201.5, AT)
    assert fired is not None
    return fired


async def send_due(sender: PushSender | None = None) -> int:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        return await (sender or PushSender()).send_due(http)


# --------------------------------------------------------------------------- the endpoint rules


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGl0",
        "https://wns2-bl2p.notify.windows.com/w/?token=abc",
        "https://fcm.googleapis.com:443/fcm/send/abc",
    ],
)
def test_the_push_services_endpoints_are_taken(endpoint):
    assert check_endpoint(endpoint, debug=False) == endpoint


@pytest.mark.parametrize(
    ("endpoint", "says"),
    [
        ("http://fcm.googleapis.com/x", "A push endpoint is an https URL of a push service"),
        ("https://fcm.googleapis.com:8443/x", "A push endpoint is an https URL of a push service"),
        ("https://u:p@fcm.googleapis.com/x", "A push endpoint is an https URL of a push service"),
        ("https://169.254.169.254/latest", "169.254.169.254 is not a push service"),
        ("https://127.0.0.1/x", "127.0.0.1 is not a push service"),
        ("https://evil.example/fcm.googleapis.com", "evil.example is not a push service"),
        ("https://fcm.googleapis.com.evil.example/x", "is not a push service"),
        ("https://notapple.com/x", "notapple.com is not a push service"),
        ("http://127.0.0.1:8080/x", "A push endpoint is an https URL of a push service"),
        ("", "The subscription needs its endpoint"),
        (None, "The subscription needs its endpoint"),
    ],
)
def test_anything_else_is_refused_in_words(endpoint, says):
    with pytest.raises(PushInputError) as refused:
        check_endpoint(endpoint, debug=False)
    assert refused.value.code == "bad_endpoint" and says in refused.value.message


def test_a_loopback_endpoint_only_with_debug_and_bad_keys_are_refused():
    assert check_endpoint("http://127.0.0.1:8080/x", debug=True) == "http://127.0.0.1:8080/x"
    good = Device().keys
    for keys in (None, {}, {**good, "auth": b64(b"short")}, {**good, "p256dh": b64(b"\x04" * 65)}):
        with pytest.raises(PushInputError) as refused:
            parse_subscription(
                {"endpoint": "https://fcm.googleapis.com/x", "keys": keys}, debug=False
            )
        assert refused.value.code == "bad_keys"


def test_at_send_time_a_name_must_not_resolve_to_a_private_address():
    assert (
        send_allowed("https://127.0.0.1/x", debug=False)
        == "127.0.0.1 is not a push service this server sends to."
    )
    assert send_allowed("http://127.0.0.1:9/x", debug=False) is not None  # no DEBUG: refused
    assert send_allowed("http://127.0.0.1:9/x", debug=True) is None


# --------------------------------------------------------------------------- the API


@DB
def test_subscribe_list_and_remove(client, user, service, debug):
    device = Device()
    endpoint = service.endpoint("one")
    created = subscribe(client, endpoint, device)
    assert created.status_code == 201, created.content
    shown = created.json()["subscription"]
    assert shown["host"] == "127.0.0.1" and "push/one" not in json.dumps(shown)
    again = subscribe(client, endpoint, Device())  # the same browser, new keys
    assert (again.status_code, again.json()["subscription"]["id"]) == (200, shown["id"])
    listed = send(client, "GET", "/api/push/subscriptions").json()["subscriptions"]
    assert [d["id"] for d in listed] == [shown["id"]]
    key = send(client, "GET", "/api/push/key").json()["public_key"]
    assert len(unb64(key)) == 65 and unb64(key)[0] == 4
    gone = send(client, "DELETE", "/api/push/subscriptions", {"endpoint": endpoint})
    assert gone.status_code == 204
    assert (
        send(client, "DELETE", "/api/push/subscriptions", {"endpoint": endpoint}).status_code == 404
    )
    assert not PushSubscription.objects.exists()


@DB
def test_a_bad_endpoint_is_refused_never_stored_and_never_sent_to(client, user, service):
    """Without DEBUG the loopback service is not a push service: 400 in words, no row; a row
    forced past the API is refused again at send time, and nothing reaches it."""
    answer = subscribe(client, service.endpoint("x"), Device())
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "bad_endpoint",
        "error": "A push endpoint is an https URL of a push service, on port 443.",
        "message": "A push endpoint is an https URL of a push service, on port 443.",
    }
    metadata = subscribe(client, "https://169.254.169.254/latest/meta-data", Device())
    assert (metadata.status_code, metadata.json()["code"]) == (400, "bad_endpoint")
    assert not PushSubscription.objects.exists()
    forced = PushSubscription.objects.create(
        user=user, endpoint=service.endpoint("forced"), **Device().keys
    )
    crossing(user)
    assert PushDelivery.objects.filter(subscription=forced).count() == 1
    asyncio.run(send_due())
    row = PushDelivery.objects.get(subscription=forced)
    assert (row.state, row.last_error) == (
        "failed",
        "A push endpoint is an https URL of a push service, on port 443.",
    )
    assert service.received == []


@DB
def test_too_many_devices(client, user, service, debug):
    for n in range(20):
        assert subscribe(client, service.endpoint(f"d{n}"), Device()).status_code == 201
    refused = subscribe(client, service.endpoint("d20"), Device())
    assert (refused.status_code, refused.json()["code"]) == (409, "too_many_devices")


# --------------------------------------------------------------------------- delivery


@DB
def test_an_alerts_crossing_is_pushed_once_to_each_device_and_decrypted_there(
    client, user, service, debug
):
    phone, laptop = Device(), Device()
    for name, device in (("phone", phone), ("laptop", laptop)):
        assert subscribe(client, service.endpoint(name), device).status_code == 201
    public_key = send(client, "GET", "/api/push/key").json()["public_key"]
    fired = crossing(user)
    event = f"alert:{fired['id']}"
    # the same event written again (a second owner, a retry): nothing more
    assert outbox.enqueue(user.id, outbox.message(event, "alert", "t", "b", "/alerts")) == 0
    assert asyncio.run(send_due()) == 2
    assert asyncio.run(send_due()) == 0
    got = {path.rsplit("/", 1)[1]: (headers, body) for path, headers, body in service.received}
    assert sorted(got) == ["laptop", "phone"]
    for name, device in (("phone", phone), ("laptop", laptop)):
        headers, body = got[name]
        said = device.decrypt(body)
        assert said == {
            "id": event,
            "kind": "alert",
            "title": "AAPL alert",
            "body": fired["message"],
            "url": "/alerts",
        }
        verify_vapid(headers, public_key, service.origin)
        assert (headers["TTL"], headers["Urgency"], headers["Content-Encoding"]) == (
            "21600",
            "high",
            "aes128gcm",
        )
        assert len(headers["Topic"]) <= 32
    assert set(PushDelivery.objects.values_list("state", flat=True)) == {"sent"}


@DB
def test_a_dropped_device_is_deleted_and_a_busy_service_is_retried_after_retry_after(
    client, user, service, debug
):
    gone, busy, broken = Device(), Device(), Device()
    for name, device in (("gone", gone), ("busy", busy), ("broken", broken)):
        subscribe(client, service.endpoint(name), device)
    by_name = {s.endpoint.rsplit("/", 1)[1]: s.id for s in PushSubscription.objects.all()}
    answers = {"gone": (410, {}), "busy": (429, {"Retry-After": "3"}), "broken": (400, {})}
    for name in ("gone", "busy", "broken"):  # one device at a time, each its answer
        PushDelivery.objects.all().delete()
        service.answers = [answers[name]]
        outbox.enqueue(
            user.id,
            outbox.message(f"t:{name}", "test", "t", "b", "/"),
            subscription=by_name[name],
        )
        asyncio.run(send_due())
        if name == "gone":  # the device is deleted, its deliveries with it
            assert not PushSubscription.objects.filter(id=by_name[name]).exists()
            assert not PushDelivery.objects.filter(event="t:gone").exists()
            continue
        row = PushDelivery.objects.get(event=f"t:{name}")
        if name == "busy":
            assert (row.state, row.attempts) == ("pending", 1)
            wait = (row.due_at - row.created_at).total_seconds()
            assert wait >= 3  # the service's Retry-After, over the 1 s backoff
            assert asyncio.run(send_due()) == 0  # not before then
        else:
            assert (row.state, row.last_error) == ("failed", "the push service refused it (400)")
            assert PushSubscription.objects.get(id=by_name[name]).last_error == row.last_error


@DB
def test_e_mail_when_turned_on(user):
    notification_settings_update(user_id=user.id, changes={"email": True})
    fired = crossing(user)
    asyncio.run(send_due())
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert (sent.subject, sent.to) == ("AAPL alert", ["trader@example.com"])
    assert fired["message"] in sent.body
    crossing(user, "MSFT")  # each event once
    asyncio.run(send_due())
    assert [m.subject for m in mail.outbox] == ["AAPL alert", "MSFT alert"]


@DB
def test_a_kind_turned_off_and_push_turned_off_write_nothing(client, user, service, debug):
    subscribe(client, service.endpoint("one"), Device())
    notification_settings_update(user_id=user.id, changes={"alerts": False})
    crossing(user)
    notification_settings_update(user_id=user.id, changes={"alerts": True, "push": False})
    crossing(user, "MSFT")
    assert not PushDelivery.objects.exists()


@DB
def test_a_limits_crossing_writes_its_pushes_once(client, user, service, debug):
    """A limit crossed (the store's compare-and-set) writes one push per device with it;
    the same crossing evaluated again writes nothing."""
    import datetime as dt

    from streaming.models import PortfolioLimits
    from streaming.risk.limits import rules
    from streaming.risk.limits.store import limit_fire

    subscribe(client, service.endpoint("one"), Device())
    PortfolioLimits.objects.create(user=user, daily_loss=1000)
    day = dt.date(2026, 11, 27)
    fired = limit_fire(user.id, rules.DAILY_LOSS, -1500.0, 1000.0, AT, day)
    assert fired is not None
    assert limit_fire(user.id, rules.DAILY_LOSS, -1600.0, 1000.0, AT, day) is None
    rows = list(PushDelivery.objects.values_list("event", "kind", "channel"))
    assert rows == [(f"limit:{fired['id']}", "limit", "push")]
    assert asyncio.run(send_due()) == 1
    said = json.loads(json.dumps(PushDelivery.objects.get().message))
    assert (said["title"], said["url"]) == ("Portfolio limit", "/limits")


def order(status: str, fills: list[dict], updated_at: float | None = None) -> dict:
    return {
        "id": "77",
        "status": status,
        "updated_at": updated_at,
        "legs": [{"symbol": "SPY", "action": "Buy to Open", "quantity": 10, "fills": fills}],
    }


@DB
def test_fills_and_a_rejection_are_written_once_and_history_is_not(user):
    """The owner's order events: each new fill once (the same order read again, or by a
    new owner, writes nothing more), a fill older than RECENT not at all (the day's orders
    read at the start are history), a rejection once."""
    from streaming.push.orders import RECENT, OrderPushes

    now = time.time() * 1000
    old = {"id": "77:2", "quantity": 2, "price": 590.0, "at": now - (RECENT + 60) * 1000}
    new = {"id": "77:10", "quantity": 8, "price": 590.5, "at": now - 1000}

    async def scenario() -> OrderPushes:
        pushes = OrderPushes(user.id, PushSender())
        worker = asyncio.create_task(pushes.run())
        pushes.on_order(3, "5WT0001", order("Partially Filled", [old]))
        pushes.on_order(3, "5WT0001", order("Filled", [old, new]))
        pushes.on_order(3, "5WT0001", order("Filled", [old, new]))  # read again
        again = OrderPushes(user.id, PushSender())  # a new owner reads the orders again
        again_worker = asyncio.create_task(again.run())
        again.on_order(3, "5WT0001", order("Filled", [old, new]))
        pushes.on_order(4, "PA0001", order("Rejected", [], updated_at=now))
        # each event queued is handled: the first owner's fill and rejection, the second's fill
        await wait_until(lambda: (pushes.handled, again.handled) == (2, 1), within=10)
        worker.cancel()
        again_worker.cancel()
        return pushes

    notification_settings_update(user_id=user.id, changes={"email": True})
    asyncio.run(scenario())
    rows = list(PushDelivery.objects.order_by("id").values_list("event", "kind", "channel"))
    assert rows == [
        ("fill:3:77:77:10", "fill", "email"),
        ("rejected:4:77", "rejected", "email"),
    ]
    said = PushDelivery.objects.get(kind="fill").message
    assert (said["title"], said["body"]) == ("Filled", "Buy to Open 8 SPY at 590.5 (5WT0001)")


@DB
def test_a_fill_is_said_by_its_instruments_name_and_exact_quantity(user):
    """A coin's fill reads `sell 0.123456789 BTC/USD`, not the broker's `BTCUSD` nor a
    rounded quantity (the order as the stream names it on arrival)."""
    from streaming.instruments.naming import name_order
    from streaming.push.orders import OrderPushes

    fill = {"id": "c1:0.123456789", "quantity": "0.123456789", "price": 95012.5}
    fill["at"] = time.time() * 1000 - 1000
    coin = name_order(
        {
            "id": "c1",
            "status": "Filled",
            "legs": [
                {
                    "symbol": "BTCUSD",
                    "instrument_type": "Cryptocurrency",
                    "action": "sell",
                    "quantity": "0.123456789",
                    "fills": [fill],
                }
            ],
        },
        "alpaca",
    )

    async def scenario() -> None:
        pushes = OrderPushes(user.id, PushSender())
        worker = asyncio.create_task(pushes.run())
        pushes.on_order(3, "PA0001", coin)
        await wait_until(lambda: pushes.handled == 1, within=10)
        worker.cancel()
        # the write woke the sender, which e-mails the fill: the scenario ends once it did
        # (its database work, in a thread, held the table this test's teardown empties)
        done = database_sync_to_async(PushDelivery.objects.exclude(state="pending").exists)
        await await_until(done, what="the fill's e-mail sent")

    notification_settings_update(user_id=user.id, changes={"email": True})
    asyncio.run(scenario())
    said = PushDelivery.objects.get(kind="fill").message
    assert (said["title"], said["body"]) == (
        "Filled",
        "sell 0.123456789 BTC/USD at 95012.5 (PA0001)",
    )
