"""The login throttle (django-axes under streaming/lockout/): per account and per client
address, on the login page, the admin's login and the password that turns trading on.

Through Django's test client with the full middleware stack and the real axes tables (a
test's database is its own, so no lock outlives its test). Failures answer at once here
(`LOGIN_FAILURE_DELAY` 0) except where the delay itself is tested.
"""

from __future__ import annotations

import logging
import time

import orjson
import pytest
from axes.models import AccessFailureLog
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from prometheus_client import REGISTRY

from accounts.models import BrokerLink
from streaming.models import TradingAudit, TradingProfile
from streaming.runtime import ratelimit

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tess-123"
STAFF_PASSWORD = "pw-for-ada-456"
#: What the form says when the account or the address is locked (and for how long).
LOCKED_WORDS = "Too many failed logins for this account or from your address"
WRONG_WORDS = "Your username and password didn't match."


@pytest.fixture(autouse=True)
def _throttle(settings):
    settings.LOGIN_FAILURE_DELAY = 0
    settings.REDIS_URL = ""
    ratelimit._memory.clear()


@pytest.fixture
def tess():
    return get_user_model().objects.create_user("tess", password=PASSWORD)


@pytest.fixture
def ada():
    return get_user_model().objects.create_superuser("ada", password=STAFF_PASSWORD)


def log_in(
    username: str, password: str, address: str = "127.0.0.1", path: str = "/login/", **headers: str
):
    """One login form post from a fresh browser at `address`."""
    browser = Client()
    answer = browser.post(
        path, {"username": username, "password": password}, REMOTE_ADDR=address, headers=headers
    )
    answer.browser = browser  # type: ignore[attr-defined]
    return answer


def lockouts() -> float:
    return REGISTRY.get_sample_value("streamdesk_login_lockouts_total") or 0.0


def assert_locked(answer, minutes: int = 15) -> None:
    """The form again, 429, saying in words that logging in is locked and for how long."""
    text = answer.content.decode()
    assert answer.status_code == 429, text[:400]
    assert LOCKED_WORDS in text
    assert f"locked for {minutes} minutes" in text
    assert 60 * (minutes - 1) < int(answer["Retry-After"]) <= 60 * minutes
    assert 'name="password"' in text  # the form is still there, for after the lock


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(tess):
    """Four failures are answered with the form (the later ones saying how many tries are
    left); the fifth locks for 15 minutes, in words, and then the right password is refused
    too (no session is made)."""
    for failure in range(1, 5):
        wrong = log_in("tess", f"guess-{failure}")
        assert wrong.status_code == 200
        assert WRONG_WORDS in wrong.content.decode()
    assert "1 more wrong try locks logging in for 15 minutes" in wrong.content.decode()
    assert_locked(log_in("tess", "guess-5"))
    right = log_in("tess", PASSWORD)
    assert_locked(right)
    assert "_auth_user_id" not in right.browser.session  # type: ignore[attr-defined]


def test_the_lock_holds_per_account_from_any_address(tess):
    """Five failures for one account from five addresses lock that account everywhere;
    another account at a fresh address is not touched."""
    for n in range(5):
        log_in("tess", "nope", address=f"198.51.100.{n + 1}")
    assert_locked(log_in("tess", PASSWORD, address="198.51.100.77"))
    get_user_model().objects.create_user("uma", password=PASSWORD)
    assert log_in("uma", PASSWORD, address="198.51.100.77").status_code == 302


def test_the_lock_holds_per_address_for_any_account(tess):
    """Five failures from one address, each for another name, lock that address for every
    account; the same account from another address logs in."""
    for n in range(5):
        log_in(f"nobody-{n}", "nope", address="203.0.113.9")
    assert_locked(log_in("tess", PASSWORD, address="203.0.113.9"))
    assert log_in("tess", PASSWORD, address="203.0.113.10").status_code == 302


def test_a_successful_login_resets_the_accounts_count(tess):
    for _ in range(4):
        log_in("tess", "nope")
    assert log_in("tess", PASSWORD).status_code == 302
    for _ in range(4):
        assert log_in("tess", "nope").status_code == 200
    assert_locked(log_in("tess", "nope"))


def test_the_admin_login_is_throttled_alike_and_shares_the_count(ada):
    """The admin's login form counts into the same lock as the login page."""
    for _ in range(3):
        answer = log_in("ada", "nope", path="/admin/login/?next=/admin/")
        assert answer.status_code == 200
    for _ in range(2):
        answer = log_in("ada", "nope")
    assert answer.status_code == 429
    refused = log_in("ada", STAFF_PASSWORD, path="/admin/login/?next=/admin/")
    assert_locked(refused)
    assert 'id="login-form"' in refused.content.decode()  # the admin's own page


def test_staff_unlock_with_the_axes_command_and_see_attempts_in_the_admin(tess, ada):
    for _ in range(5):
        log_in("tess", "nope")
    assert_locked(log_in("tess", PASSWORD))
    staff = Client()
    staff.force_login(ada)
    attempts = staff.get("/admin/axes/accessattempt/")
    assert attempts.status_code == 200
    assert "tess" in attempts.content.decode()
    call_command("axes_reset_username", "tess")
    assert log_in("tess", PASSWORD).status_code == 302


def test_each_failure_is_audited_and_each_lockout_counted_once(tess, caplog):
    """Every failure is a row of axes' failure log and a warning line naming the account
    and the address; the lockout counts once in /metrics' streamdesk_login_lockouts_total,
    however many refused tries follow."""
    before = lockouts()
    with caplog.at_level(logging.WARNING, logger="streaming.lockout"):
        for _ in range(5):
            log_in("tess", "nope", address="192.0.2.44")
        log_in("tess", PASSWORD, address="192.0.2.44")
        log_in("tess", "nope", address="192.0.2.45")
    assert lockouts() == before + 1
    rows = AccessFailureLog.objects.filter(username="tess").order_by("id")
    assert [(r.ip_address, r.locked_out, r.path_info) for r in rows] == [
        ("192.0.2.44", False, "/login/"),
    ] * 4 + [("192.0.2.44", True, "/login/")]
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("streaming.lockout")]
    assert lines[:6] == [
        f"login failed: 'tess' from 192.0.2.44 at /login/ ({n} of 5)" for n in range(1, 5)
    ] + [
        "login locked for 15 minutes: 'tess' from 192.0.2.44 at /login/",
        "login failed: 'tess' from 192.0.2.44 at /login/ (5 of 5)",
    ]
    assert lines[6:] == [
        "login refused while locked: 'tess' from 192.0.2.44 at /login/",
        "login refused while locked: 'tess' from 192.0.2.45 at /login/",
    ]


def test_the_client_address_comes_from_the_proxy_header_only_when_configured(tess, settings):
    """Behind nginx (DJANGO_CLIENT_ADDRESS_HEADER=HTTP_X_REAL_IP) the header it sets is the
    address; otherwise a client's X-Real-IP or X-Forwarded-For changes nothing."""
    for n in range(5):
        log_in(
            f"nobody-{n}",
            "nope",
            **{"X-Real-IP": f"192.0.2.{n}", "X-Forwarded-For": f"192.0.2.{n}"},
        )
    assert_locked(log_in("tess", PASSWORD, **{"X-Real-IP": "192.0.2.99"}))

    settings.CLIENT_ADDRESS_HEADER = "HTTP_X_REAL_IP"
    for n in range(5):
        log_in(f"someone-{n}", "nope", address="127.0.0.2", **{"X-Real-IP": "203.0.113.7"})
    assert_locked(log_in("tess", PASSWORD, address="127.0.0.2", **{"X-Real-IP": "203.0.113.7"}))
    assert (
        log_in("tess", PASSWORD, address="127.0.0.2", **{"X-Real-IP": "203.0.113.8"}).status_code
        == 302
    )


def test_failures_wait_longer_each_time(tess, settings):
    """The login waits before answering a failure: nothing after the first, then the
    delay, doubling (here 0.3 s, 0.6 s, 1.2 s)."""
    settings.LOGIN_FAILURE_DELAY = 0.3
    took = []
    for _ in range(4):
        started = time.monotonic()
        assert log_in("tess", "nope").status_code == 200
        took.append(time.monotonic() - started)
    assert took[1] >= 0.3
    assert took[2] >= 0.6
    assert took[3] >= 1.2


# -- the password that turns trading on -------------------------------------------------

CSRF = "c" * 32


def trading_post(client: Client, path: str, body: dict, address: str = "127.0.0.1"):
    return client.post(
        path,
        data=orjson.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": CSRF, "Origin": "http://testserver"},
        REMOTE_ADDR=address,
    )


def test_the_trading_password_counts_into_the_lock_and_is_refused_while_locked(tess):
    """Guessing the password that turns trading on is guessing the login's: the same
    count, the same lock (429 `locked`, in words, with Retry-After), audited as `refused`;
    then the login page is locked for that account too."""
    BrokerLink.objects.create(
        user=tess, broker="tastytrade", label="Main", account_numbers=["5WT00001"]
    )
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(tess)
    browser.cookies["csrftoken"] = CSRF
    for _ in range(4):
        wrong = trading_post(browser, "/api/trading/enable", {"password": "nope"})
        assert (wrong.status_code, wrong.json()["code"]) == (403, "second_factor")
    locked = trading_post(browser, "/api/trading/enable", {"password": "nope"})
    assert locked.status_code == 429
    body = locked.json()
    assert body["code"] == "locked"
    assert body["error"].startswith(LOCKED_WORDS)
    assert "locked for 15 minutes" in body["error"]
    assert 14 * 60 < body["retry_after"] <= 15 * 60
    assert locked["Retry-After"] == str(body["retry_after"])
    right = trading_post(browser, "/api/trading/enable", {"password": PASSWORD})
    assert (right.status_code, right.json()["code"]) == (429, "locked")
    assert TradingProfile.objects.filter(user=tess, granted_until__isnull=False).count() == 0
    outcomes = list(
        TradingAudit.objects.filter(user=tess).order_by("id").values_list("action", "outcome")
    )
    assert outcomes == [("refused", "wrong password")] * 4 + [
        ("refused", "wrong password, now locked"),
        ("refused", "locked"),
    ]
    assert_locked(log_in("tess", PASSWORD))
