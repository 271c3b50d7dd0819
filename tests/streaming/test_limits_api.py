"""Portfolio limits in the database and over HTTP: the store's compare-and-set (one
winner of two owners firing the same crossing, once per trading day for the daily loss,
a save re-arms what it changed) and `/api/risk/limits` with its bad input, the page.

Through Django's test client and the full middleware stack (CSRF, sessions, auth); the one
edge replaced is the notification to the stream owner (`owner_rpc.to_owner`), recorded.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import orjson
import pytest
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client

from streaming.contract.layer import ToOwner
from streaming.models import LimitBreach, LimitState, PortfolioLimits
from streaming.push.sender import PushSender
from streaming.risk.limits import store as limits_store
from streaming.risk.limits.rules import BETA_DELTA_ABOVE, DAILY_LOSS, Change
from streaming.risk.limits.store import LimitStore

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "a" * 32
AT = 1_800_000_000_000
TODAY = dt.date(2027, 1, 14)


@pytest.fixture
def user():
    return get_user_model().objects.create_user("limit-trader", password="pw")


@pytest.fixture
def client(user, notified) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def put(client: Client, body: bytes | dict, csrf: bool = True):
    data = orjson.dumps(body) if isinstance(body, dict) else body
    headers = {"X-CSRFToken": CSRF} if csrf else {}
    return client.put(
        "/api/risk/limits", data=data, content_type="application/json", headers=headers
    )


# --------------------------------------------------------------------------- the store
async def test_two_owners_firing_one_crossing_make_one_breach(user):
    await database_sync_to_async(limits_store.limits_save)(user.id, {"daily_loss": 100.0})
    crossing = Change("breach", DAILY_LOSS, -150.0, 100.0, TODAY)
    first, second = (
        LimitStore(user.id, PushSender()),
        LimitStore(user.id, PushSender()),
    )  # a stale and a new owner
    results = await asyncio.gather(first.fire(crossing, AT), second.fire(crossing, AT + 1))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert results.count(None) == 1
    (breach,) = await database_sync_to_async(list)(LimitBreach.objects.all())
    assert (breach.kind, breach.crossing, breach.delivered) == (DAILY_LOSS, 1, False)
    assert winners[0] == {
        "id": breach.id,
        "kind": DAILY_LOSS,
        "value": -150.0,
        "limit": 100.0,
        "at": winners[0]["at"],
        "message": "Day P&L -150.00 USD is past your daily loss limit of 100.00 USD",
    }
    assert winners[0]["at"] in (AT, AT + 1)


def test_the_daily_loss_fires_once_a_day_and_the_band_after_a_rearm(user):
    limits_store.limits_save(user.id, {"daily_loss": 100.0, "beta_delta_max": 50.0})
    assert limits_store.limit_fire(user.id, DAILY_LOSS, -101, 100.0, AT, TODAY) is not None
    assert limits_store.limit_fire(user.id, DAILY_LOSS, -300, 100.0, AT, TODAY) is None
    assert limits_store.limit_rearm(user.id, DAILY_LOSS) is True  # a band's re-arm...
    # ...does not arm a daily loss: its day does
    assert limits_store.limit_fire(user.id, DAILY_LOSS, -300, 100.0, AT, TODAY) is None
    tomorrow = TODAY + dt.timedelta(days=1)
    assert limits_store.limit_fire(user.id, DAILY_LOSS, -300, 100.0, AT, tomorrow)["value"] == -300

    assert limits_store.limit_fire(user.id, BETA_DELTA_ABOVE, 60, 50.0, AT, TODAY) is not None
    assert limits_store.limit_fire(user.id, BETA_DELTA_ABOVE, 61, 50.0, AT, TODAY) is None
    assert limits_store.limit_rearm(user.id, BETA_DELTA_ABOVE) is True
    assert limits_store.limit_rearm(user.id, BETA_DELTA_ABOVE) is False
    assert limits_store.limit_fire(user.id, BETA_DELTA_ABOVE, 62, 50.0, AT, TODAY) is not None
    crossings = sorted(LimitBreach.objects.values_list("kind", "crossing"))
    assert crossings == [
        (BETA_DELTA_ABOVE, 1),
        (BETA_DELTA_ABOVE, 2),
        (DAILY_LOSS, 1),
        (DAILY_LOSS, 2),
    ]


def test_a_limit_edited_meanwhile_does_not_fire_and_a_save_rearms_what_changed(user):
    limits_store.limits_save(user.id, {"daily_loss": 100.0, "beta_delta_max": 50.0})
    assert limits_store.limit_fire(user.id, DAILY_LOSS, -150, 100.0, AT, TODAY) is not None
    assert limits_store.limit_fire(user.id, BETA_DELTA_ABOVE, 60, 50.0, AT, TODAY) is not None
    limits_store.limits_save(user.id, {"daily_loss": 200.0})  # the band is kept as it is
    states = dict(LimitState.objects.values_list("kind", "day"))
    assert states == {DAILY_LOSS: None, BETA_DELTA_ABOVE: TODAY}
    assert limits_store.limit_fire(user.id, DAILY_LOSS, -250, 100.0, AT, TODAY) is None  # stale
    assert limits_store.limit_fire(user.id, DAILY_LOSS, -250, 200.0, AT, TODAY) is not None
    assert limits_store.limit_fire(user.id, BETA_DELTA_ABOVE, 70, 50.0, AT, TODAY) is None


def test_undelivered_breaches_are_listed_oldest_first_until_marked(user):
    limits_store.limits_save(user.id, {"daily_loss": 1.0, "beta_delta_max": 1.0})
    a = limits_store.limit_fire(user.id, DAILY_LOSS, -2, 1.0, AT, TODAY)
    b = limits_store.limit_fire(user.id, BETA_DELTA_ABOVE, 2, 1.0, AT, TODAY)
    assert [p["id"] for p in limits_store.limit_breach_undelivered_list(user.id)] == [
        a["id"],
        b["id"],
    ]
    limits_store.limit_breach_mark_delivered([a["id"]])
    assert [p["id"] for p in limits_store.limit_breach_undelivered_list(user.id)] == [b["id"]]


# --------------------------------------------------------------------------- the API
def test_get_and_put_store_merge_and_tell_the_owner(client, user, notified):
    empty = client.get("/api/risk/limits").json()
    assert empty == {
        "beta_delta_min": None,
        "beta_delta_max": None,
        "daily_loss": None,
        "updated_at": None,
    }
    r = put(client, {"beta_delta_min": -200, "beta_delta_max": 150.5})
    assert r.status_code == 200, r.content
    assert r.json()["beta_delta_max"] == 150.5
    r = put(client, {"daily_loss": 1000})
    body = r.json()
    assert (body["beta_delta_min"], body["beta_delta_max"], body["daily_loss"]) == (
        -200,
        150.5,
        1000,
    )
    assert isinstance(body["updated_at"], int)
    r = put(client, {"beta_delta_min": None})
    assert r.json()["beta_delta_min"] is None
    assert [m["type"] for _, m in notified] == [ToOwner.LIMITS_CHANGED] * 3
    assert all(uid == user.id and m["deadline"] > 0 for uid, m in notified)


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ({"beta_delta_min": 10, "beta_delta_max": 5}, "must not be greater than beta_delta_max"),
        ({"beta_delta_max": "100"}, "must be a number or null"),
        ({"daily_loss": True}, "must be a number or null"),
        ({"daily_loss": -5}, "daily_loss must be a positive number"),
        ({"daily_loss": 0}, "daily_loss must be a positive number"),
        ({"daily_loss": 1e12}, "daily_loss must be at most"),
        ({"beta_delta_min": -1e8}, "within ±10,000,000 SPY shares"),
        ({"max_loss": 5}, "unknown field 'max_loss'"),
        (b"[1, 2]", "the body must be a JSON object"),
        (b"{nope", "not valid JSON"),
        (b'{"daily_loss": NaN}', "not valid JSON"),
        (b'{"daily_loss": 1}' + b" " * 5000, "limited to 4096 bytes"),
    ],
)
def test_bad_input_is_a_400_with_a_sentence_and_stores_nothing(
    client, user, notified, body, sentence
):
    r = put(client, body)
    assert r.status_code == 400
    assert sentence in r.json()["error"]
    assert not PortfolioLimits.objects.filter(user=user).exists()
    assert notified == []


def test_the_order_of_the_band_is_checked_after_the_merge(client, user):
    assert put(client, {"beta_delta_min": 100}).status_code == 200
    r = put(client, {"beta_delta_max": 50})
    assert r.status_code == 400
    assert (
        "beta_delta_min (100.00) must not be greater than beta_delta_max (50.00)"
        in r.json()["error"]
    )
    assert PortfolioLimits.objects.get(user=user).beta_delta_max is None


def test_anonymous_csrf_and_methods(client, user):
    assert Client().get("/api/risk/limits").status_code == 403
    assert put(client, {"daily_loss": 5}, csrf=False).status_code == 403  # CSRF
    assert client.post("/api/risk/limits", headers={"X-CSRFToken": CSRF}).status_code == 405


def test_the_page_shows_the_limits_and_saves_a_form_without_the_script(client, user, notified):
    limits_store.limits_save(user.id, {"daily_loss": 750.0})
    page = client.get("/settings/limits")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="daily_loss" type="number" step="any" min="0" value="750.0"' in html
    assert "js/risk/limits-form.js" in html
    assert 'href="/settings/limits"' in html  # the nav links it
    posted = client.post(
        "/settings/limits",
        {"beta_delta_min": "-20", "beta_delta_max": "", "daily_loss": "abc"},
        headers={"X-CSRFToken": CSRF},
    )
    assert posted.status_code == 400
    assert "daily_loss must be a number or null" in posted.content.decode()
    saved = client.post(
        "/settings/limits",
        {"beta_delta_min": "-20", "beta_delta_max": "", "daily_loss": "500"},
        headers={"X-CSRFToken": CSRF},
    )
    assert saved.status_code == 302
    assert limits_store.limits_get(user.id)["daily_loss"] == 500.0
    assert limits_store.limits_get(user.id)["beta_delta_min"] == -20.0
