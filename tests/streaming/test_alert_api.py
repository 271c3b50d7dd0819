"""Price alerts in the database and over HTTP: the store's compare-and-set (a crossing
fires once however often it is evaluated), and `/api/alerts` with its bad input.

Through Django's test client and the full middleware stack (CSRF, sessions, auth); the one
edge replaced is the notification to the stream owner (`owner_rpc.to_owner`), recorded.
"""

from __future__ import annotations

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from streaming.alerts import store as alert_store
from streaming.alerts.input import MAX_ACTIVE_ALERTS
from streaming.api.errors import as_sentence
from streaming.models import Alert, AlertTrigger

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "a" * 32
AT = 1_800_000_000_000
#: What the bad_symbol sentence says is accepted (docs/streaming-contract.md "Price alerts").
ACCEPTED = (
    "a stock like AAPL, an option like SPY270115C00590000, a future like /ESZ6, "
    "a future option like ./ESZ6 ESZ6 261218C6000, or a coin like BTC/USD"
)


@pytest.fixture
def user():
    return get_user_model().objects.create_user("alert-trader", password="pw")


@pytest.fixture
def client(user, notified) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def send(client: Client, method: str, path: str, body: bytes | dict | None = None):
    data = orjson.dumps(body) if isinstance(body, dict) else body
    return client.generic(
        method,
        path,
        data=data or b"",
        content_type="application/json",
        headers={"X-CSRFToken": CSRF},
    )


def create(client: Client, **body):
    return send(
        client,
        "POST",
        "/api/alerts",
        {"symbol": "AAPL", "condition": "above", "level": 200, **body},
    )


# --------------------------------------------------------------------------- the store


def test_a_trigger_is_a_compare_and_set_that_fires_each_crossing_once(user):
    once = Alert.objects.create(user=user, symbol="AAPL", condition="above", level=200)
    first = alert_store.alert_fire(once.id, 201.3, AT, None)
    assert first == {
        "id": first["id"],
        "alert_id": once.id,
        "symbol": "AAPL",
        "display": "AAPL",
        "condition": "above",
        "level": 200.0,
        "price": 201.3,
        "at": AT,
        "message": "AAPL rose to 201.30, above 200.00",
        "rearm": False,
    }
    assert alert_store.alert_fire(once.id, 202.0, AT + 1, None) is None  # a stale or second owner
    once.refresh_from_db()
    assert (once.armed, once.active, once.crossings) == (False, False, 1)

    again = Alert.objects.create(user=user, symbol="SPY", condition="below", level=500, rearm=True)
    assert alert_store.alert_fire(again.id, 499, AT, None)["rearm"] is True
    assert alert_store.alert_fire(again.id, 498, AT, None) is None
    assert alert_store.alert_rearm(again.id) is True
    assert alert_store.alert_rearm(again.id) is False  # already armed
    second = alert_store.alert_fire(again.id, 497, AT + 2, None)
    again.refresh_from_db()
    assert (again.armed, again.active, again.crossings) == (False, True, 2)
    rows = AlertTrigger.objects.filter(alert=again).order_by("crossing")
    assert [(t.crossing, t.delivered) for t in rows] == [(1, False), (2, False)]
    assert [p["id"] for p in alert_store.alert_trigger_undelivered_list(user.id)] == [
        first["id"],
        *[t.id for t in rows],
    ]
    alert_store.alert_trigger_mark_delivered([first["id"], second["id"]])
    assert [p["id"] for p in alert_store.alert_trigger_undelivered_list(user.id)] == [rows[0].id]


def test_expired_or_deleted_alerts_never_fire_and_history_survives_a_delete(user):
    import datetime as dt

    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    expired = Alert.objects.create(
        user=user, symbol="AAPL", condition="above", level=1, expires_at=past
    )
    assert alert_store.alert_fire(expired.id, 5, AT, None) is None
    gone = Alert.objects.create(user=user, symbol="MSFT", condition="above", level=1)
    payload = alert_store.alert_fire(gone.id, 5, AT, None)
    assert alert_store.alert_delete(user.id, gone.id)
    assert alert_store.alert_fire(gone.id, 6, AT, None) is None
    assert alert_store.alert_trigger_list(user.id) == [{**payload, "alert_id": None}]
    assert alert_store.alert_active_list(user.id) == []


# --------------------------------------------------------------------------- the API


def test_create_list_edit_delete_and_each_write_reaches_the_owner(client, user, notified):
    made = create(client, rearm=True, expires_at="2099-01-01T00:00:00+01:00")
    assert made.status_code == 400 and made.json()["code"] == "bad_expiry"  # > a year ahead
    made = create(client, rearm=True)
    assert made.status_code == 201, made.content
    alert = made.json()
    assert {
        k: alert[k]
        for k in ("symbol", "condition", "level", "rearm", "active", "armed", "expires_at")
    } == {
        "symbol": "AAPL",
        "condition": "above",
        "level": 200.0,
        "rearm": True,
        "active": True,
        "armed": True,
        "expires_at": None,
    }
    edited = send(
        client, "PATCH", f"/api/alerts/{alert['id']}", {"level": "201.5", "symbol": "msft"}
    )
    assert edited.status_code == 200
    assert (edited.json()["level"], edited.json()["symbol"]) == (201.5, "MSFT")
    # a new condition checks the kept level: 201.5 % is no move
    bad = send(client, "PATCH", f"/api/alerts/{alert['id']}", {"condition": "move_up"})
    assert bad.status_code == 400 and bad.json()["error"] == "the % move must be at most 100%"
    listing = client.get("/api/alerts").json()
    assert [a["id"] for a in listing["alerts"]] == [alert["id"]]
    assert listing["limits"] == {"max_active": 200, "max_body_bytes": 4096}
    assert send(client, "DELETE", f"/api/alerts/{alert['id']}").status_code == 204
    assert send(client, "DELETE", f"/api/alerts/{alert['id']}").status_code == 404
    assert client.get("/api/alerts").json()["alerts"] == []
    assert notified == [(user.id, {"type": "alerts.changed"})] * 3


@pytest.mark.parametrize(
    ("body", "code", "error"),
    [
        ({"level": -5}, "bad_level", "the price must be greater than 0"),
        ({"level": 0}, "bad_level", "the price must be greater than 0"),
        ({"level": "NaN"}, "bad_level", "the price must be a finite number (not NaN or Infinity)"),
        (
            {"level": "Infinity"},
            "bad_level",
            "the price must be a finite number (not NaN or Infinity)",
        ),
        ({"level": 1e7}, "bad_level", "the price must be at most 1,000,000"),
        ({"level": "12.34567"}, "bad_level", "the price can have at most 4 decimals"),
        ({"level": True}, "bad_level", "the price must be a number"),
        ({"condition": "move_down", "level": 150}, "bad_level", "the % move must be at most 100%"),
        (
            {"condition": "sideways"},
            "bad_condition",
            "condition must be one of above, below, move_up, move_down",
        ),
        ({"symbol": "$$$"}, "bad_symbol", f"not a valid symbol: '$$$' ({ACCEPTED})"),
        ({"symbol": "ÄAPL"}, "bad_symbol", f"not a valid symbol: 'ÄAPL' ({ACCEPTED})"),
        ({"symbol": "ETH/BTC"}, "bad_symbol", f"not a valid symbol: 'ETH/BTC' ({ACCEPTED})"),
        (
            {"expires_at": "tomorrow"},
            "bad_expiry",
            "expires_at is not a time: 'tomorrow' (e.g. 2026-12-01T15:30:00Z)",
        ),
        (
            {"expires_at": "2030-01-01T10:00:00"},
            "bad_expiry",
            "expires_at must include a time zone (Z or +hh:mm)",
        ),
        ({"expires_at": "2020-01-01T10:00:00Z"}, "bad_expiry", "expires_at is in the past"),
        ({"rearm": "yes"}, "bad_body", "rearm must be true or false"),
        (
            {"colour": "red"},
            "bad_body",
            "unknown field 'colour' (allowed: active, condition, expires_at, level, rearm, symbol)",
        ),
    ],
)
def test_bad_input_is_a_400_with_a_sentence(client, body, code, error):
    response = create(client, **body)
    assert response.status_code == 400
    assert response.json() == {"error": error, "code": code, "message": as_sentence(error)}


def test_bad_bodies(client):
    assert send(client, "POST", "/api/alerts", b"x" * 5000).json() == {
        "error": "the body is limited to 4096 bytes",
        "code": "bad_body",
        "message": "the body is limited to 4096 bytes.",
    }
    assert send(client, "POST", "/api/alerts", b"{nope").json()["code"] == "bad_body"
    assert send(client, "POST", "/api/alerts", b"[1]").json() == {
        "error": "the body must be a JSON object",
        "code": "bad_body",
        "message": "the body must be a JSON object.",
    }
    assert send(client, "POST", "/api/alerts", {"symbol": "AAPL"}).json() == {
        "error": "condition is required",
        "code": "bad_body",
        "message": "condition is required.",
    }
    assert send(client, "PATCH", "/api/alerts/999999", {"level": 1}).status_code == 404
    anonymous = Client()
    assert anonymous.get("/api/alerts").status_code == 403


def test_past_the_per_user_limit_creates_are_refused_quickly(client, user):
    Alert.objects.bulk_create(
        Alert(user=user, symbol="AAPL", condition="above", level=100 + i)
        for i in range(MAX_ACTIVE_ALERTS - 1)
    )
    assert create(client).status_code == 201
    # "quickly": a refusal costs one COUNT of the user's alerts, not work per alert (the
    # queries are the same with 500 more of them stored, inactive)
    with CaptureQueriesContext(connection) as at_the_limit:
        refused = [create(client) for _ in range(100)]
    assert {r.status_code for r in refused} == {409}
    assert refused[0].json() == {
        "error": "you have 200 active alerts, the most allowed is 200: delete some "
        "(or let them trigger or expire) first",
        "code": "too_many_alerts",
        "message": "you have 200 active alerts, the most allowed is 200: delete some "
        "(or let them trigger or expire) first.",
    }
    assert Alert.objects.filter(user=user).count() == MAX_ACTIVE_ALERTS
    per_refusal = len(at_the_limit) // 100
    assert len(at_the_limit) == 100 * per_refusal
    reads = [q["sql"] for q in at_the_limit.captured_queries[:per_refusal]]
    alert_reads = [sql for sql in reads if "streaming_alert" in sql]
    assert len(alert_reads) == 1 and alert_reads[0].startswith("SELECT COUNT(*)"), alert_reads
    Alert.objects.bulk_create(
        Alert(user=user, symbol="MSFT", condition="above", level=100 + i, active=False)
        for i in range(500)
    )
    with CaptureQueriesContext(connection) as with_more_stored:
        assert create(client).status_code == 409
    assert len(with_more_stored) == per_refusal


def test_csrf_is_required_for_writes(user, notified):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/alerts", data=b"{}", content_type="application/json")
    assert response.status_code == 403


# ------------------------------------------------------------- every instrument that streams


@pytest.mark.parametrize(
    ("spelled", "symbol", "display"),
    [
        ("BTC/USD", "BTC/USD:CXTALP", "BTC/USD"),
        ("btc/usd:cxtalp", "BTC/USD:CXTALP", "BTC/USD"),
        ("/ESZ26:XCME", "/ESZ26:XCME", "/ES Dec 26"),
        ("./ESZ6 ESZ6 261218C6000", "./ESZ26C6000:XCME", "/ES Dec 26 6000 C"),
        ("./ESZ26C6000:XCME", "./ESZ26C6000:XCME", "/ES Dec 26 6000 C"),
        ("SPY   270115C00590000", ".SPY270115C590", "SPY 15 Jan 27 590 C"),
    ],
)
def test_alerts_take_every_instrument_that_streams_stored_as_its_contract_symbol(
    client, spelled, symbol, display
):
    """Any spelling of a coin, a future, a future option or an option: stored and
    evaluated as the contract symbol, shown by its display name (before: "not a valid
    symbol: 'BTC/USD'")."""
    made = create(client, symbol=spelled, level=1)
    assert made.status_code == 201, made.content
    assert (made.json()["symbol"], made.json()["display"]) == (symbol, display)
    listed = client.get("/api/alerts").json()["alerts"]
    assert [(a["symbol"], a["display"]) for a in listed] == [(symbol, display)]


def test_a_coins_trigger_says_its_display_name_in_the_sentence_the_push_and_the_e_mail(user):
    from accounts.notification_settings import notification_settings_update
    from streaming.models import PushDelivery

    notification_settings_update(user_id=user.id, changes={"email": True})
    coin = Alert.objects.create(user=user, symbol="BTC/USD:CXTALP", condition="above", level=97_500)
    fired = alert_store.alert_fire(coin.id, 98_000.0, AT, None)
    assert fired is not None
    said = "BTC/USD rose to 98,000.00, above 97,500.00"
    assert (fired["symbol"], fired["display"], fired["message"]) == (
        "BTC/USD:CXTALP",
        "BTC/USD",
        said,
    )
    mail = PushDelivery.objects.get(event=f"alert:{fired['id']}", channel="email")
    assert (mail.message["title"], mail.message["body"]) == ("BTC/USD alert", said)
    option = Alert.objects.create(
        user=user, symbol="./ESZ26C6000:XCME", condition="move_down", level=5
    )
    fired = alert_store.alert_fire(option.id, 40.0, AT, -6.25)
    assert fired is not None
    assert fired["message"] == (
        "/ES Dec 26 6000 C fell 6.25% from the previous close to 40.00, down 5.00% or more"
    )
    assert alert_store.alert_trigger_list(user.id)[0]["display"] == "/ES Dec 26 6000 C"
