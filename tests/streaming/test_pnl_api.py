"""`GET /api/pnl?day=` through Django's test client and the full middleware stack: a bad or
future day is a 400 with a sentence, an earlier day reads its samples back as curves with
their stats, a day with neither samples nor linked accounts says so."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.display_preferences import display_preferences_update
from streaming.risk.pnl.store import write_samples

pytestmark = pytest.mark.django_db(transaction=True)

DAY = dt.date(2026, 11, 2)
START = int(dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC).timestamp() * 1000)


@pytest.fixture
def user():
    return get_user_model().objects.create_user("pnl-trader", password="pw")


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("day", "sentence"),
    [
        ("yesterday", "day must be a date as YYYY-MM-DD, not 'yesterday'."),
        ("2026-13-01", "day must be a date as YYYY-MM-DD, not '2026-13-01'."),
        ("9999-01-01", "9999-01-01 is in the future: there is no P&L for it yet"),
    ],
)
def test_a_bad_day_is_a_400_with_a_sentence(client, day, sentence):
    answer = client.get("/api/pnl", {"day": day})
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(sentence)


def test_anonymous_is_403():
    assert Client().get("/api/pnl", {"day": str(DAY)}).status_code == 403


def test_an_earlier_days_samples_with_their_stats(client, user):
    minute = 60_000
    # total and one account; the account's net liq missing at one grid time (null, not 0)
    for i, (pnl, acct_liq) in enumerate([(0.0, 100.0), (10.0, None), (4.0, 104.0), (12.0, 112.0)]):
        write_samples(user.id, START + i * minute, [("A1", acct_liq, pnl), ("", 1000 + pnl, pnl)])
    write_samples(user.id, START + minute, [("", 5.0, 5.0)])  # a second write: kept out
    body = client.get("/api/pnl", {"day": str(DAY)}).json()
    assert (body["day"], body["source"], body["reason"]) == (str(DAY), "samples", "")
    total, account = body["series"]
    assert (total["account"], total["label"], account["account"]) == ("", "Total", "A1")
    assert [p["day_pnl"] for p in total["points"]] == [0.0, 10.0, 4.0, 12.0]
    assert [p["net_liq"] for p in account["points"]] == [100.0, None, 104.0, 112.0]
    assert total["high"] == {"value": 12.0, "t": START + 3 * minute}
    assert total["low"] == {"value": 0.0, "t": START}
    assert total["max_drawdown"] == {
        "value": 6.0,
        "peak_t": START + minute,
        "trough_t": START + 2 * minute,
    }


def test_a_day_without_samples_or_links_says_so(client):
    body = client.get("/api/pnl", {"day": str(DAY)}).json()
    assert (body["source"], body["series"]) == ("none", [])
    assert body["reason"] == f"No samples and no linked accounts for {DAY}."


def test_the_page_renders_the_stats_first(client, user):
    write_samples(user.id, START, [("", 1000.0, -2.5)])
    page = client.get("/pnl", {"day": str(DAY)})
    assert page.status_code == 200
    html = page.content.decode()
    # no zone chosen: New York's, named (it read "15:00:00 UTC")
    assert 'data-pnl-row=""' in html and "10:00:00 EST" in html and "-2.50" in html
    assert "UTC" not in html
    bad = client.get("/pnl", {"day": "nope"})
    assert bad.status_code == 400 and "day must be a date as YYYY-MM-DD" in bad.content.decode()


def test_the_page_shows_times_in_the_traders_zone(client, user):
    display_preferences_update(user_id=user.id, changes={"time_zone": "America/New_York"})
    write_samples(user.id, START, [("", 1000.0, -2.5)])
    html = client.get("/pnl", {"day": str(DAY)}).content.decode()
    assert "10:00:00 EST" in html and "15:00:00 UTC" not in html
