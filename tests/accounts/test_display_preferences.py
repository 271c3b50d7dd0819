"""Per-user display preferences: `GET/PUT /api/preferences` (session + CSRF, bad input →
400 JSON with a sentence, nothing stored) and the `/settings/display` page."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.display_preferences import DEFAULTS
from accounts.models import DisplayPreferences

pytestmark = pytest.mark.django_db

URL = "/api/preferences"


def put(client: Client, body: object | str, **extra) -> tuple[int, dict]:
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.put(URL, data=data, content_type="application/json", **extra)
    return response.status_code, response.json()


def test_defaults_then_partial_updates_per_user(client, django_user_model):
    # times are New York's (the market's clock) until the trader chooses another zone
    assert client.get(URL).json() == DEFAULTS
    assert DEFAULTS == {"flashes": True, "time_zone": "America/New_York", "sorts": {}}
    assert put(client, {"flashes": False}) == (200, {**DEFAULTS, "flashes": False})
    sort = {"col": "day_pnl", "dir": "desc"}
    status, body = put(client, {"time_zone": "America/Chicago", "sorts": {"positions": sort}})
    assert status == 200
    assert body == {"flashes": False, "time_zone": "America/Chicago", "sorts": {"positions": sort}}
    # sorts merge per table; null gives a table its own order back
    put(client, {"sorts": {"watchlist": {"col": "bid", "dir": "asc"}}})
    status, body = put(client, {"sorts": {"positions": None}})
    assert body["sorts"] == {"watchlist": {"col": "bid", "dir": "asc"}}
    assert DisplayPreferences.objects.count() == 1
    other = Client()
    other.force_login(django_user_model.objects.create_user(username="other", password="x"))
    assert other.get(URL).json() == DEFAULTS, "another user's are their own"


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        ("[1, 2]", "the body must be a JSON object"),
        ({"colour": "red"}, "unknown preference 'colour'"),
        ({"flashes": "no"}, '"flashes" must be true or false'),
        ({"time_zone": "Mars/Olympus"}, "'Mars/Olympus' is not a time zone"),
        ({"time_zone": 5}, "is not a time zone"),
        # one named zone everywhere: the browser's own is no choice (the server cannot name it)
        ({"time_zone": ""}, "'' is not a time zone: use an IANA name such as America/New_York"),
        ({"sorts": {"orders": {"col": "x", "dir": "asc"}}}, "unknown table 'orders'"),
        ({"sorts": {"positions": {"col": "bid", "dir": "asc"}}}, "cannot be sorted by 'bid'"),
        ({"sorts": {"positions": {"col": "mark", "dir": "up"}}}, 'must be "asc" or "desc"'),
        ({"sorts": {"positions": {"col": "mark"}}}, "must be {"),
        ({"sorts": []}, '"sorts" must be an object'),
        ("{" * 5000, "the body is limited to"),
    ],
)
def test_bad_input_is_a_sentence_and_stores_nothing(client, body, sentence):
    status, answer = put(client, body)
    assert status == 400
    assert sentence in answer["error"]
    assert client.get(URL).json() == DEFAULTS
    assert not DisplayPreferences.objects.exists()


def test_anonymous_is_refused_and_csrf_is_checked(trader):
    assert Client().get(URL).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(trader)
    response = strict.put(URL, data="{}", content_type="application/json")
    assert response.status_code == 403


def test_the_settings_page_saves_flashes_and_the_time_zone(client):
    page = client.get("/settings/display")
    assert page.status_code == 200
    assert b'<option value="Europe/Berlin">' in page.content
    # New York's is chosen until the trader picks another; no "browser's zone" to pick
    assert b'<option value="America/New_York" selected>' in page.content
    assert b"browser's time zone" not in page.content
    response = client.post("/settings/display", {"time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    assert client.get(URL).json() == {**DEFAULTS, "flashes": False, "time_zone": "Europe/Berlin"}
    refused = client.post("/settings/display", {"flashes": "on", "time_zone": "Nowhere/Else"})
    assert refused.status_code == 400
    assert b"is not a time zone" in refused.content
    assert client.get(URL).json()["time_zone"] == "Europe/Berlin"
