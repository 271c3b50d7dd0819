"""The market overview: the per-user list (`overview_set`, `POST /market/symbols`), the
tile values the server renders, and the `/market` page (the stream itself is tested in
tests/browser/test_market.py).

Through Django's test client and the full middleware stack (CSRF, sessions, auth).
"""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.services import broker_link_create
from streaming.api.errors import as_sentence
from streaming.models import MarketOverview
from streaming.overview.service import (
    DEFAULT_OVERVIEW,
    MAX_OVERVIEW_SYMBOLS,
    OverviewError,
    heat_level,
    overview_get,
    overview_set,
)
from streaming.portfolio.day_change import tile_text, tile_values

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "a" * 32


@pytest.fixture
def user():
    return get_user_model().objects.create_user("ov-trader", password="pw")


@pytest.fixture
def client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def post(client: Client, body: bytes | object):
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return client.post(
        "/market/symbols", data=data, content_type="application/json", headers={"X-CSRFToken": CSRF}
    )


# ----------------------------------------------------------------------- values


def test_change_and_percent_come_from_last_and_the_previous_close():
    """The same numbers as overview.js: change = last - prev_close, % of prev_close."""
    v = tile_values({"last": 590.12, "prev_close": 588.0, "change": 99})
    assert v["change"] == Decimal("2.12")
    assert v["change_pct"].quantize(Decimal("0.000001")) == Decimal("0.360544")
    assert tile_text(v) == {"last": "590.12", "change": "+2.12", "change_pct": "+0.36%"}
    down = tile_values({"last": 15.3, "prev_close": 16.1})
    assert tile_text(down) == {"last": "15.30", "change": "-0.80", "change_pct": "-4.97%"}
    assert heat_level(v["change_pct"]) == 1 and heat_level(down["change_pct"]) == -5


@pytest.mark.parametrize(
    "quote", [None, {}, {"last": 590}, {"last": 590, "prev_close": None}, {"prev_close": 588}]
)
def test_a_missing_previous_close_or_last_is_a_dash_never_0(quote):
    """No previous close: change and change % are "—" (None), never 0."""
    v = tile_values(quote)
    assert v["change"] is None and v["change_pct"] is None and heat_level(None) is None
    assert tile_text(v)["change"] == "—" and tile_text(v)["change_pct"] == "—"


def test_heat_steps_match_the_browser():
    """-5..5 at 0.05, 0.5, 1, 2, 3 % (tests/js/overview.test.mjs checks the same)."""
    cases = {"0": 0, "0.049": 0, "0.05": 1, "0.5": 2, "1.2": 3, "2": 4, "3": 5, "42": 5}
    for pct, level in cases.items():
        assert heat_level(Decimal(pct)) == level
        assert heat_level(-Decimal(pct)) == -level


# ----------------------------------------------------------------------- the list


def test_a_user_without_a_list_gets_the_ten_defaults(user):
    assert overview_get(user_id=user.id) == DEFAULT_OVERVIEW
    assert DEFAULT_OVERVIEW == [
        "SPY",
        "QQQ",
        "IWM",
        "DIA",
        "VIX",
        "GLD",
        "TLT",
        "EEM",
        "XLF",
        "XLE",
    ]


def test_the_list_is_normalized_and_stored_per_user(user, client):
    """Upper-cased, duplicates dropped, order kept; another user keeps the defaults."""
    answer = post(client, {"symbols": ["spy", "/ESZ26", "SPY", "gld"]})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"symbols": ["SPY", "/ESZ26:XCME", "GLD"]}
    assert overview_get(user_id=user.id) == ["SPY", "/ESZ26:XCME", "GLD"]
    other = get_user_model().objects.create_user("ov-other", password="pw")
    assert overview_get(user_id=other.id) == DEFAULT_OVERVIEW


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"symbols": ["SPY", "NOT A SYMBOL"]}, "not a valid symbol: 'NOT A SYMBOL'"),
        ({"symbols": ["SPY", "ßPY"]}, "not a valid symbol: 'ßPY'"),
        ({"symbols": ["SPY", 7]}, "'symbols' must be a list of strings"),
        ({"symbols": "SPY QQQ"}, "'symbols' must be a list of strings"),
        ({"symbols": []}, "the overview needs at least one symbol"),
        (
            {"symbols": [f"S{i}" for i in range(MAX_OVERVIEW_SYMBOLS + 1)]},
            f"the overview holds at most {MAX_OVERVIEW_SYMBOLS} symbols ('symbols' has 21)",
        ),
        (["SPY"], 'the body must be a JSON object {"symbols": [...]}'),
        ({"symbols": ["SPY"], "extra": 1}, 'the body must be a JSON object {"symbols": [...]}'),
        (b"{not json", "the body is not valid JSON (or nested too deep)"),
        (b"x" * (16 * 1024 + 1), "the body is limited to 16384 bytes"),
    ],
)
def test_bad_input_is_a_400_with_a_clear_message_and_nothing_is_stored(user, client, body, message):
    """Unknown/invalid symbols, too many, not a list, not JSON: 400, the list unchanged."""
    post(client, {"symbols": ["QQQ"]})
    answer = post(client, body)
    assert answer.status_code == 400
    assert answer.json() == {"error": message, "message": as_sentence(message)}
    assert overview_get(user_id=user.id) == ["QQQ"]


def test_the_service_refuses_as_the_view_does(user):
    with pytest.raises(OverviewError, match="not a valid symbol"):
        overview_set(user_id=user.id, symbols=["$$$"])
    assert not MarketOverview.objects.filter(user_id=user.id).exists()


def test_anonymous_and_csrf_less_posts_are_refused(user):
    anonymous = Client(enforce_csrf_checks=True)
    anonymous.cookies["csrftoken"] = CSRF
    assert post(anonymous, {"symbols": ["SPY"]}).status_code == 403
    logged_in = Client(enforce_csrf_checks=True)
    logged_in.force_login(user)
    no_token = logged_in.post(
        "/market/symbols", data=b'{"symbols":["SPY"]}', content_type="application/json"
    )
    assert no_token.status_code == 403
    assert overview_get(user_id=user.id) == DEFAULT_OVERVIEW


# ----------------------------------------------------------------------- the page


def tiles(html: str) -> list[str]:
    import re

    return re.findall(r'data-tile="([^"]+)"', html)


def test_the_page_shows_the_users_tiles_with_dashes_before_any_quote(user, client):
    """No quote yet: every value is "—" (never 0); no link: the page says why."""
    post(client, {"symbols": ["SPY", "VIX"]})
    page = client.get("/market")
    assert page.status_code == 200
    html = page.content.decode()
    assert tiles(html) == ["SPY", "VIX"]
    assert html.count('data-field="change" data-value="">—<') == 2
    assert "No broker account is linked yet" in html
    assert 'id="overview-symbols"' in html


def test_an_alpaca_only_user_is_told_there_are_no_quotes(user, client):
    broker_link_create(user=user, broker="alpaca", label="a", key_id="k", secret_key="s")
    html = client.get("/market").content.decode()
    assert "carry no market data" in html
    assert tiles(html) == DEFAULT_OVERVIEW


def test_the_dashboard_has_the_strip(user, client):
    html = client.get("/").content.decode()
    assert 'class="overview overview-compact card"' in html
    assert tiles(html) == DEFAULT_OVERVIEW


def test_anonymous_is_sent_to_log_in():
    answer = Client().get("/market")
    assert answer.status_code == 302 and answer.url.startswith("/login/")
