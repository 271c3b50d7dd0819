"""The watchlist: `watchlist_apply` (add / remove / replace, versioned) and `POST /watchlist`.

The view is exercised through Django's test client and the full middleware stack (CSRF,
sessions, auth). The one edge replaced is the notification to the user's stream
(`owner_rpc.to_owner`), recorded instead of sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.test import AsyncClient, Client

from streaming.api.errors import not_authenticated
from streaming.models.watchlist import DEFAULT_WATCHLIST, Watchlist
from streaming.validation import MAX_SYMBOLS_PER_LIST
from streaming.watchlist.service import WatchlistError, watchlist_apply, watchlist_set

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]

CSRF = "a" * 32  # a well-formed CSRF secret, used as both cookie and header


@pytest.fixture
def user():
    return get_user_model().objects.create_user("wl-trader", password="pw")


@pytest.fixture
def client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF
    return client


def post(client: Client, body: bytes | dict):
    data = orjson.dumps(body) if isinstance(body, dict) else body
    return client.post(
        "/watchlist", data=data, content_type="application/json", headers={"X-CSRFToken": CSRF}
    )


# --------------------------------------------------------------------------- model + service


def test_state_of_a_user_without_a_list_is_the_default_at_version_0(user):
    assert Watchlist.state_for(user.id) == (DEFAULT_WATCHLIST, 0)
    assert Watchlist.symbols_for(user.id) == DEFAULT_WATCHLIST


def test_add_remove_and_replace_keep_order_drop_duplicates_and_bump_the_version(user):
    symbols, version = watchlist_apply(user_id=user.id, symbols=["aapl", "SPY", "AAPL"])
    assert (symbols, version) == (["AAPL", "SPY"], 1)
    symbols, version = watchlist_apply(user_id=user.id, add=["qqq", "SPY", "/ESZ6", "QQQ"])
    assert (symbols, version) == (["AAPL", "SPY", "QQQ", "/ESZ26:XCME"], 2)
    symbols, version = watchlist_apply(user_id=user.id, remove=["spy", "NVDA"])
    assert (symbols, version) == (["AAPL", "QQQ", "/ESZ26:XCME"], 3)
    symbols, version = watchlist_apply(user_id=user.id, add=["SPY   270115C00590000"])
    assert (symbols, version) == (["AAPL", "QQQ", "/ESZ26:XCME", ".SPY270115C590"], 4)
    assert Watchlist.state_for(user.id) == (symbols, 4)
    assert Watchlist.symbols_for(user.id) == symbols


def test_add_starts_from_the_default_list(user):
    symbols, version = watchlist_apply(user_id=user.id, add=["IWM"])
    assert (symbols, version) == ([*DEFAULT_WATCHLIST, "IWM"], 1)


def test_a_change_that_changes_nothing_keeps_the_version(user):
    watchlist_apply(user_id=user.id, symbols=["SPY"])
    assert watchlist_apply(user_id=user.id, add=["spy"]) == (["SPY"], 1)
    assert watchlist_apply(user_id=user.id, remove=["QQQ"]) == (["SPY"], 1)
    assert watchlist_apply(user_id=user.id, symbols=["SPY"]) == (["SPY"], 1)
    assert watchlist_apply(user_id=user.id, symbols=[]) == ([], 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of"),
        ({"add": ["SPY"], "remove": ["QQQ"]}, "exactly one of"),
        ({"add": "SPY"}, "'add' must be a list of strings"),
        ({"remove": [1]}, "'remove' must be a list of strings"),
        ({"symbols": ["SPY", "DROP TABLE"]}, "'DROP TABLE'"),
        ({"add": ["ß"]}, "'ß'"),
        ({"remove": [".SPY250230C590"]}, "'.SPY250230C590'"),
    ],
)
def test_bad_changes_are_refused_with_a_message_naming_the_problem(user, kwargs, message):
    with pytest.raises(WatchlistError, match=message.replace(".", r"\.")):
        watchlist_apply(user_id=user.id, **kwargs)
    assert Watchlist.state_for(user.id) == (DEFAULT_WATCHLIST, 0)


def test_the_list_holds_at_most_200_symbols(user):
    many = [f"A{i}" for i in range(MAX_SYMBOLS_PER_LIST)]
    assert watchlist_apply(user_id=user.id, symbols=many) == (many, 1)
    with pytest.raises(WatchlistError, match="at most 200"):
        watchlist_apply(user_id=user.id, add=["ZZZ"])
    with pytest.raises(WatchlistError, match="at most 200"):
        watchlist_apply(user_id=user.id, symbols=[*many, "ZZZ"])
    # Re-adding what is there is not growth; removing makes room.
    assert watchlist_apply(user_id=user.id, add=["A0"]) == (many, 1)
    assert watchlist_apply(user_id=user.id, remove=["A0"])[1] == 2
    assert watchlist_apply(user_id=user.id, add=["ZZZ"]) == ([*many[1:], "ZZZ"], 3)


def test_watchlist_set_still_replaces_the_list(user):
    assert watchlist_set(user_id=user.id, symbols=["msft", "MSFT", "nvda"]) == ["MSFT", "NVDA"]
    assert Watchlist.state_for(user.id) == (["MSFT", "NVDA"], 1)
    with pytest.raises(WatchlistError):
        watchlist_set(user_id=user.id, symbols=["not a symbol"])


CONCURRENT_ADDS = """
import json, threading, django
django.setup()
from django.contrib.auth import get_user_model
from django.db import OperationalError, connection
from streaming.models import Watchlist
from streaming.watchlist.service import watchlist_apply

user = get_user_model().objects.create_user("racer", password="x")
errors = []

def writer(n):
    for i in range(10):
        try:
            watchlist_apply(user_id=user.id, add=[f"W{n}X{i}"])
        except OperationalError as exc:
            errors.append(str(exc))
    connection.close()

threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
symbols, version = Watchlist.state_for(user.id)
print(json.dumps({"symbols": len(symbols), "version": version, "errors": sorted(set(errors))}))
"""


@pytest.mark.timeout(2 * 120 + 30)  # its two processes' own bounds and a margin
def test_concurrent_changes_all_land_on_a_sqlite_file(tmp_path):
    """Eight writers (tabs, devices) adding at once to one list in a real SQLite file, the
    default database: no change is lost, the version counts every one, and none fails
    with "database is locked" (SQLite ignores FOR UPDATE; a read-first transaction
    cannot wait for the write lock)."""
    env = {**os.environ, "SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    migrate = [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, timeout=120)
    result = subprocess.run(
        [sys.executable, "-c", CONCURRENT_ADDS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome == {"symbols": len(DEFAULT_WATCHLIST) + 80, "version": 80, "errors": []}


# --------------------------------------------------------------------------- POST /watchlist


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"symbols": ["aapl", "SPY"]}, ["AAPL", "SPY"]),
        ({"add": ["IWM"]}, [*DEFAULT_WATCHLIST, "IWM"]),
        ({"remove": ["SPY", "QQQ"]}, [s for s in DEFAULT_WATCHLIST if s not in {"SPY", "QQQ"}]),
    ],
)
def test_post_applies_the_change_and_notifies_the_users_stream(
    client, user, notified, body, expected
):
    response = post(client, body)
    assert response.status_code == 200, response.content
    assert response.json() == {"symbols": expected, "version": 1}
    assert notified == [(user.id, {"type": "watchlist.changed", "symbols": expected, "version": 1})]
    assert Watchlist.state_for(user.id) == (expected, 1)


def test_versions_grow_with_each_change(client, notified):
    assert post(client, {"symbols": ["SPY"]}).json() == {"symbols": ["SPY"], "version": 1}
    assert post(client, {"add": ["QQQ"]}).json() == {"symbols": ["SPY", "QQQ"], "version": 2}
    assert post(client, {"remove": ["SPY"]}).json() == {"symbols": ["QQQ"], "version": 3}
    assert [message["version"] for _, message in notified] == [1, 2, 3]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "JSON"),
        (b"{nope", "JSON"),
        (b"\xff\xfe", "JSON"),
        (b"[]", "object"),
        (b'"SPY"', "object"),
        (b"{}", "exactly one of"),
        (b'{"add":["SPY"],"symbols":["QQQ"]}', "exactly one of"),
        (b'{"replace":["SPY"]}', "exactly one of"),
        (b'{"add":"SPY"}', "list of strings"),
        (b'{"add":[["SPY"]]}', "list of strings"),
        (b'{"symbols":["SPY","DROP TABLE"]}', "DROP TABLE"),
        (b'{"add":["/ESZ\\u0664"]}', "/ESZ"),
        (b"[" * 100_000, "16384"),  # nested and too large: refused before parsing
        (b"[" * 10_000, "JSON"),  # nested beyond any parser's depth, under the size limit
        (b'{"add":' + b"[" * 5_000 + b"]" * 5_000 + b"}", "JSON"),
        (b'{"symbols":["' + b"A" * 17_000 + b'"]}', "16384"),
    ],
)
def test_bad_bodies_are_a_400_with_a_json_message_never_a_500(
    client, user, notified, body, fragment
):
    response = post(client, body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert fragment in response.json()["error"]
    assert notified == []
    assert Watchlist.state_for(user.id) == (DEFAULT_WATCHLIST, 0)


def test_a_body_declared_over_16_kib_is_refused_before_it_is_read(client, notified):
    """The declared length alone decides (the test client would fail a read past its
    2-byte body)."""
    response = client.generic(
        "POST",
        "/watchlist",
        data=b"{}",
        content_type="application/json",
        headers={"X-CSRFToken": CSRF, "Content-Length": "16385"},
    )
    assert response.status_code == 400
    assert "16384" in response.json()["error"]


def test_post_without_a_csrf_token_is_refused(user, notified):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/watchlist", data=b'{"add":["IWM"]}', content_type="application/json")
    assert response.status_code == 403
    assert notified == []
    assert Watchlist.state_for(user.id) == (DEFAULT_WATCHLIST, 0)


def test_anonymous_post_is_a_403_json_error(notified):
    client = Client()
    response = client.post("/watchlist", data=b'{"add":["IWM"]}', content_type="application/json")
    assert response.status_code == 403
    assert response.json() == orjson.loads(not_authenticated().content)
    assert notified == []


async def test_the_view_runs_on_the_async_request_path(user, notified):
    """Through Django's ASGI handler (what daphne runs), not only the WSGI test handler."""
    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(user)
    client.cookies["csrftoken"] = CSRF
    response = await client.post(
        "/watchlist",
        data=b'{"add":["IWM"]}',
        content_type="application/json",
        headers={"X-CSRFToken": CSRF},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"symbols": [*DEFAULT_WATCHLIST, "IWM"], "version": 1}
    assert notified == [
        (
            user.id,
            {"type": "watchlist.changed", "symbols": [*DEFAULT_WATCHLIST, "IWM"], "version": 1},
        )
    ]
    big = await client.post(
        "/watchlist",
        data=b"[" * 100_000,
        content_type="application/json",
        headers={"X-CSRFToken": CSRF},
    )
    assert big.status_code == 400 and "16384" in big.json()["error"]


def test_get_is_not_allowed(client, notified):
    assert client.get("/watchlist").status_code == 405
