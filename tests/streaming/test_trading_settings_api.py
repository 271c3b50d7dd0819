"""The user's trading switch over HTTP: `/api/trading`, `/enable`, `/disable`, `/audit`,
and setting an authenticator up (`/api/trading/totp`, `/totp/confirm`).

Through Django's test client with the full middleware stack (sessions, CSRF enforced,
the bearer middleware) and the real django-otp: each TOTP code is computed here from
the device's key, as an authenticator app would.
"""

from __future__ import annotations

import time

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import BrokerLink
from accounts.tokens import api_token_create
from streaming.models import TradingAudit, TradingProfile
from streaming.runtime import ratelimit

pytestmark = pytest.mark.django_db

CSRF = "c" * 32
ORIGIN = "http://testserver"
PASSWORD = "pw-for-tess-123"
#: The contract's audit `entry`.
ENTRY_FIELDS = "id at action user link link_label account ticket ip session shown said outcome"


@pytest.fixture(autouse=True)
def _memory_rate_limit(settings):
    settings.REDIS_URL = ""
    ratelimit._memory.clear()


@pytest.fixture
def user():
    user = get_user_model().objects.create_user("tess", password=PASSWORD)
    BrokerLink.objects.create(
        user=user, broker="tastytrade", label="Main", account_numbers=["5WT00001"]
    )
    return user


@pytest.fixture
def client(user) -> Client:
    """Tess's browser: her session and the CSRF cookie, with CSRF checks on."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.cookies["csrftoken"] = CSRF
    return browser


def post(client: Client, path: str, body: dict | bytes, **headers: str):
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    sent = {"X-CSRFToken": CSRF, "Origin": ORIGIN, **headers}
    return client.post(path, data=data, content_type="application/json", headers=sent)


def code_of(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the device's authenticator shows now (or `steps_ahead` steps later)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def actions(user) -> list[tuple[str, str]]:
    return list(
        TradingAudit.objects.filter(user=user).order_by("id").values_list("action", "outcome")
    )


def test_get_trading_says_off_with_the_password_as_second_factor(client):
    answer = client.get("/api/trading")
    assert answer.status_code == 200
    trading = answer.json()["trading"]
    assert (trading["on"], trading["until"], trading["second_factor"]) == (False, None, "password")
    assert [(link["label"], link["enabled"]) for link in trading["links"]] == [("Main", False)]


def test_a_wrong_password_is_refused_and_audited_then_the_right_one_turns_trading_on(
    client, user, settings
):
    wrong = post(client, "/api/trading/enable", {"password": "not-it"})
    assert wrong.status_code == 403
    assert wrong.json() == {
        "error": "That password is not right.",
        "code": "second_factor",
        "message": "That password is not right.",
    }
    assert actions(user) == [("refused", "wrong password")]
    before = time.time() * 1000
    right = post(client, "/api/trading/enable", {"password": PASSWORD})
    assert right.status_code == 200
    trading = right.json()["trading"]
    assert trading["on"] is True
    ttl_ms = settings.TRADING_GRANT_TTL * 1000
    assert before + ttl_ms <= trading["until"] <= time.time() * 1000 + ttl_ms
    assert actions(user) == [("refused", "wrong password"), ("trading_on", "on with password")]
    entry = TradingAudit.objects.filter(user=user).latest("id")
    assert (entry.actor, entry.ip, len(entry.session)) == ("tess", "127.0.0.1", 12)
    off = post(client, "/api/trading/disable", {})
    assert (off.status_code, off.json()["trading"]["on"]) == (200, False)
    assert actions(user)[-1] == ("trading_off", "off")
    assert TradingProfile.objects.get(user=user).granted_until is None


def test_the_totp_set_up_then_trading_on_with_a_code(client, user):
    # starting a set-up takes the current factor (here the password)
    refused = post(client, "/api/trading/totp", {"password": "nope"})
    assert (refused.status_code, refused.json()["code"]) == (403, "second_factor")
    started = post(client, "/api/trading/totp", {"password": PASSWORD})
    assert started.status_code == 200
    totp = started.json()["totp"]
    assert totp["uri"].startswith("otpauth://totp/streamdesk%3Atess?secret=")
    assert f"secret={totp['secret']}" in totp["uri"]
    assert totp["svg"].startswith("<svg") and "<script" not in totp["svg"]
    # a document of its own: an image of it draws only with the SVG namespace
    assert totp["svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg" ')
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is False
    # not confirmed yet: trading still asks for the password
    assert client.get("/api/trading").json()["trading"]["second_factor"] == "password"
    wrong = post(
        client, "/api/trading/totp/confirm", {"otp": f"{(int(code_of(device)) + 1) % 10**6:06d}"}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (403, "second_factor")
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    confirmed = post(client, "/api/trading/totp/confirm", {"otp": code_of(device)})
    assert confirmed.status_code == 200
    assert confirmed.json()["trading"]["second_factor"] == "totp"
    # with a device, the password no longer turns trading on; the next code does
    by_password = post(client, "/api/trading/enable", {"password": PASSWORD})
    assert by_password.status_code == 403
    assert "authenticator" in by_password.json()["error"]
    on = post(client, "/api/trading/enable", {"otp": code_of(device, steps_ahead=1)})
    assert on.status_code == 200
    assert on.json()["trading"]["on"] is True
    assert TradingProfile.objects.get(user=user).granted_with == "totp"
    assert actions(user) == [
        ("refused", "wrong password"),
        ("refused", "wrong code"),
        ("refused", "password given, code expected"),
        ("trading_on", "on with totp"),
    ]


def test_a_used_code_counts_once_and_wrong_codes_are_throttled(client, user):
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    code = code_of(device)
    assert post(client, "/api/trading/enable", {"otp": code}).status_code == 200
    replay = post(client, "/api/trading/enable", {"otp": code})
    assert (replay.status_code, replay.json()["code"]) == (403, "second_factor")
    assert "used already" in replay.json()["error"]
    # the replay was a failure: for the next second even the right code is refused
    throttled = post(client, "/api/trading/enable", {"otp": code_of(device, steps_ahead=1)})
    assert throttled.status_code == 403
    assert throttled.json()["error"].startswith("Too many wrong codes (1)")
    assert [a for a, _ in actions(user)] == ["trading_on", "refused", "refused"]
    assert actions(user)[-1] == ("refused", "throttled")


def test_starting_a_new_set_up_with_a_device_takes_its_code(client, user):
    old = TOTPDevice.objects.create(user=user, name="old phone", confirmed=True)
    refused = post(client, "/api/trading/totp", {"password": PASSWORD})
    assert refused.status_code == 403
    started = post(client, "/api/trading/totp", {"otp": code_of(old)})
    assert started.status_code == 200
    new = TOTPDevice.objects.get(user=user, confirmed=False)
    assert post(client, "/api/trading/totp/confirm", {"otp": code_of(new)}).status_code == 200
    assert list(TOTPDevice.objects.filter(user=user).values_list("pk", flat=True)) == [new.pk]


def test_confirming_without_a_set_up_is_refused(client, user):
    answer = post(client, "/api/trading/totp/confirm", {"otp": "123456"})
    assert answer.status_code == 403
    assert answer.json()["error"] == "No authenticator is being set up: start the set-up first."


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        (b"not json", "The body is not valid JSON (or nested too deep)."),
        (b"[1]", 'The body must be a JSON object: {"otp"} or {"password"}.'),
        ({}, "Send either your authenticator's code (otp) or password."),
        ({"otp": "1", "password": "x"}, "Send either your authenticator's code (otp) or password."),
        ({"pin": "1234"}, "Unknown field 'pin': send otp or password."),
        ({"otp": "12345"}, "The code is the 6 digits your authenticator shows."),
        ({"password": 5}, "password must be a non-empty string."),
        (b'{"password": "' + b"x" * 5000 + b'"}', "The body is limited to 4096 bytes."),
    ],
)
def test_bad_input_is_a_400_with_a_sentence(client, user, body, sentence):
    answer = post(client, "/api/trading/enable", body)
    assert answer.status_code == 400
    assert answer.json() == {"error": sentence, "code": "bad_body", "message": sentence}
    assert actions(user) == []


def test_disable_takes_an_empty_body_and_the_right_method(client):
    assert post(client, "/api/trading/disable", {"now": True}).status_code == 400
    assert client.get("/api/trading/disable").status_code == 405
    assert post(client, "/api/trading", {}).status_code == 405


def test_the_audit_pages_newest_first_and_only_the_users_own(client, user):
    other = get_user_model().objects.create_user("otto", password="pw-otto-1")
    TradingAudit.objects.create(user=other, action="trading_on", actor="otto")
    for n in range(5):
        TradingAudit.objects.create(user=user, action="refused", actor="tess", outcome=f"n{n}")
    first = client.get("/api/trading/audit?limit=2").json()
    assert [e["outcome"] for e in first["entries"]] == ["n4", "n3"]
    assert sorted(first["entries"][0]) == sorted(ENTRY_FIELDS.split())
    second = client.get(f"/api/trading/audit?limit=2&before={first['next']}").json()
    assert [e["outcome"] for e in second["entries"]] == ["n2", "n1"]
    last = client.get(f"/api/trading/audit?limit=2&before={second['next']}").json()
    assert ([e["outcome"] for e in last["entries"]], last["next"]) == (["n0"], None)
    everything = client.get("/api/trading/audit").json()
    assert [e["user"] for e in everything["entries"]] == ["tess"] * 5
    for query in ("limit=0", "limit=201", "limit=x", "before=-1", "before=a"):
        answer = client.get(f"/api/trading/audit?{query}")
        assert (answer.status_code, answer.json()["code"]) == (400, "bad_query"), query


ENDPOINTS = [
    ("get", "/api/trading"),
    ("post", "/api/trading/enable"),
    ("post", "/api/trading/disable"),
    ("get", "/api/trading/audit"),
    ("post", "/api/trading/totp"),
    ("post", "/api/trading/totp/confirm"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_read_only_api_token_is_refused_on_every_trading_endpoint(user, method, path):
    raw = api_token_create(user=user, name="bot", lifetime_days=7).raw
    client = Client(enforce_csrf_checks=True)
    headers = {"Authorization": f"Bearer {raw}", "Origin": ORIGIN}
    if method == "get":
        answer = client.get(path, headers=headers)
    else:
        answer = client.post(
            path,
            data=orjson.dumps({"password": PASSWORD}),
            content_type="application/json",
            headers=headers,
        )
    assert (answer.status_code, answer.json()["error"]) == (403, "token_read_only")
    assert TradingProfile.objects.filter(user=user, granted_until__isnull=False).count() == 0


@pytest.mark.parametrize("path", [p for m, p in ENDPOINTS if m == "post"])
def test_writes_need_a_same_site_origin_and_the_csrf_token(client, user, path):
    body = orjson.dumps({"password": PASSWORD})
    no_origin = client.post(
        path, data=body, content_type="application/json", headers={"X-CSRFToken": CSRF}
    )
    assert (no_origin.status_code, no_origin.json()["code"]) == (403, "bad_origin")
    cross_site = post(client, path, {"password": PASSWORD}, Origin="https://evil.example")
    assert cross_site.status_code == 403
    no_csrf = client.post(
        path, data=body, content_type="application/json", headers={"Origin": ORIGIN}
    )
    assert no_csrf.status_code == 403
    assert TradingProfile.objects.filter(user=user, granted_until__isnull=False).count() == 0
    assert TOTPDevice.objects.filter(user=user).count() == 0


def test_anonymous_is_refused(db):
    answer = Client().get("/api/trading")
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")
