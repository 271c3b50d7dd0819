"""Per-user notification settings: `GET/PUT /api/notifications/settings` (session + CSRF,
bad input → 400 JSON, nothing stored), and the dashboard embedding them at load."""

from __future__ import annotations

import json
import re

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from accounts.models import NotificationSettings
from accounts.notification_settings import DEFAULTS
from accounts.tokens import api_token_create
from streaming.api.errors import as_sentence

pytestmark = pytest.mark.django_db

URL = "/api/notifications/settings"


def put(client: Client, body: object | str, **extra) -> tuple[int, dict]:
    data = body if isinstance(body, str) else json.dumps(body)
    response = client.put(URL, data=data, content_type="application/json", **extra)
    return response.status_code, response.json()


def test_defaults_then_a_partial_update_is_stored_per_user(client, trader, django_user_model):
    assert DEFAULTS == {
        "fills": True,
        "rejections": True,
        "alerts": True,
        "desktop": True,
        "sound": False,
        "push": True,
        "email": False,
        "pnl_all_day": False,
    }
    response = client.get(URL)
    assert (response.status_code, response.json()) == (200, DEFAULTS)
    assert put(client, {"fills": False, "sound": True}) == (
        200,
        {**DEFAULTS, "fills": False, "sound": True},
    )
    assert put(client, {"alerts": False}) == (
        200,
        {**DEFAULTS, "fills": False, "sound": True, "alerts": False},
    )
    assert client.get(URL).json() == {**DEFAULTS, "fills": False, "sound": True, "alerts": False}
    assert NotificationSettings.objects.count() == 1
    other = django_user_model.objects.create_user(username="other", password="pw-other-1")
    other_client = Client()
    other_client.force_login(other)
    assert other_client.get(URL).json() == DEFAULTS


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("[]", 'the body must be a JSON object such as {"fills": false, "sound": true}'),
        ("not json", "the body is not valid JSON (or nested too deep)"),
        (
            {"fills": False, "sms": True},
            "unknown setting 'sms': the settings are fills, rejections, alerts, desktop, sound, "
            "push, email, pnl_all_day",
        ),
        ({"fills": "false"}, "'fills' must be true or false, not 'false'"),
        ({"sound": 1}, "'sound' must be true or false, not 1"),
        ({"sound": None}, "'sound' must be true or false, not None"),
        (
            {"desktop": "x" * 100},
            "'desktop' must be true or false, not 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...",
        ),
        (json.dumps({"fills": True, "pad": "x" * 5000}), "the body is limited to 4096 bytes"),
    ],
)
def test_bad_input_is_a_clear_400_and_stores_nothing(client, body, error):
    assert put(client, body) == (400, {"error": error, "message": as_sentence(error)})
    assert NotificationSettings.objects.count() == 0
    assert client.get(URL).json() == DEFAULTS


def test_anonymous_csrf_methods_and_tokens(trader):
    anonymous = Client()
    response = anonymous.get(URL)
    assert (response.status_code, response.json()["error"]) == (403, "not_authenticated")
    # a session without the CSRF token cannot change them
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(trader)
    response = strict.put(URL, data='{"fills": false}', content_type="application/json")
    assert response.status_code == 403
    assert NotificationSettings.objects.count() == 0
    # with it (the cookie's value in X-CSRFToken, as the page sends it), it can
    strict.get("/login/")  # sets the CSRF cookie
    token = strict.cookies["csrftoken"].value
    status, body = put(strict, {"fills": False}, HTTP_X_CSRFTOKEN=token)
    assert (status, body["fills"]) == (200, False)
    response = strict.post(URL, data="{}", content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 405
    # an API token only reads the stream: it cannot change settings
    raw = api_token_create(user=trader, name="bot", lifetime_days=30).raw
    response = Client().put(
        URL,
        data='{"sound": true}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert (response.status_code, response.json()["error"]) == (403, "token_read_only")
    assert NotificationSettings.objects.get().sound is False


@pytest.mark.django_db(transaction=True)
async def test_the_dashboard_embeds_the_settings_and_checks_the_boxes(agents, async_client, trader):
    """No request at load: the page carries the stored settings (JSON and the boxes).
    Async, on the test's own loop: the page starts the user's stream manager, which is
    stopped at the end (left running, other tests of this process would see it)."""
    await database_sync_to_async(async_client.force_login)(trader)
    body = json.dumps({"fills": False, "sound": True})
    saved = await async_client.put(URL, data=body, content_type="application/json")
    assert saved.status_code == 200
    try:
        html = (await async_client.get("/")).content.decode()
    finally:
        await agents.stop_all()
    (embedded,) = re.findall(
        r'<script id="notification-settings" type="application/json">([^<]*)</script>', html
    )
    assert json.loads(embedded) == {**DEFAULTS, "fills": False, "sound": True}
    boxes = dict(re.findall(r'<input type="checkbox" name="(\w+)"( checked)?>', html))
    assert boxes == {
        "fills": "",
        "rejections": " checked",
        "alerts": " checked",
        "desktop": " checked",
        "sound": " checked",
    }
