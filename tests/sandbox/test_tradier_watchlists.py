"""Tradier watchlists over real sockets, called with httpx as Tradier's documentation shows
them (form bodies, `Accept: application/json`): per token, with a `default` list."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.tradier import tradier_client


@pytest.fixture
def api(sandbox) -> Iterator[httpx.Client]:
    with tradier_client(sandbox) as c:
        yield c


def test_every_token_starts_with_the_default_list(api):
    answer = api.get("/v1/watchlists")
    assert answer.status_code == 200
    only = answer.json()["watchlists"]["watchlist"]
    assert isinstance(only, dict)  # one element collapses to an object
    assert only["id"] == "default" and only["name"] == "default"
    assert only["public_id"].startswith("public-")
    default = api.get("/v1/watchlists/default").json()["watchlist"]
    assert default == {**only, "items": "null"}
    assert int(answer.headers["x-ratelimit-allowed"]) == 120  # the standard group


def test_create_read_add_remove_update_delete(api):
    created = api.post("/v1/watchlists", data={"name": "My Watchlist", "symbols": "AAPL,IBM,nflx"})
    assert created.status_code == 200
    watchlist = created.json()["watchlist"]
    assert watchlist["id"] == "my-watchlist" and watchlist["name"] == "My Watchlist"
    assert watchlist["items"]["item"] == [
        {"symbol": "AAPL", "id": "aapl"}, {"symbol": "IBM", "id": "ibm"},
        {"symbol": "NFLX", "id": "nflx"},
    ]  # fmt: skip
    assert api.get("/v1/watchlists/my-watchlist").json()["watchlist"] == watchlist
    listed = api.get("/v1/watchlists").json()["watchlists"]["watchlist"]
    assert [w["id"] for w in listed] == ["default", "my-watchlist"]
    assert all(set(w) == {"name", "id", "public_id"} for w in listed)

    added = api.post("/v1/watchlists/my-watchlist/symbols", data={"symbols": "SPY,AAPL"})
    assert [i["symbol"] for i in added.json()["watchlist"]["items"]["item"]] == [
        "AAPL", "IBM", "NFLX", "SPY",
    ]  # fmt: skip
    removed = api.delete("/v1/watchlists/my-watchlist/symbols/IBM")
    assert [i["symbol"] for i in removed.json()["watchlist"]["items"]["item"]] == [
        "AAPL", "NFLX", "SPY",
    ]  # fmt: skip

    renamed = api.put("/v1/watchlists/my-watchlist", data={"name": "Tech", "symbols": "MSFT"})
    body = renamed.json()["watchlist"]
    assert body["id"] == "my-watchlist" and body["name"] == "Tech"
    assert body["items"]["item"] == {"symbol": "MSFT", "id": "msft"}  # one item: an object
    kept = api.put("/v1/watchlists/my-watchlist", data={"name": "Tech 2"}).json()["watchlist"]
    assert kept["items"]["item"] == {"symbol": "MSFT", "id": "msft"}  # symbols optional

    deleted = api.delete("/v1/watchlists/my-watchlist")
    assert deleted.json()["watchlists"]["watchlist"]["id"] == "default"
    assert api.get("/v1/watchlists/my-watchlist").status_code == 404


def test_watchlists_belong_to_their_token(sandbox, api):
    api.post("/v1/watchlists", data={"name": "Mine", "symbols": "SPY"})
    with tradier_client(sandbox) as other:
        assert other.get("/v1/watchlists").json()["watchlists"]["watchlist"]["id"] == "default"
        assert other.get("/v1/watchlists/mine").status_code == 404
    assert api.get("/v1/watchlists/mine").json()["watchlist"]["items"]["item"]["symbol"] == "SPY"


def test_refusals_are_tradier_errors(sandbox, api):
    missing = api.get("/v1/watchlists/nope")
    assert missing.status_code == 404
    assert missing.json() == {"errors": {"error": ["Watchlist nope not found"]}}
    assert api.post("/v1/watchlists", data={"symbols": "SPY"}).status_code == 400
    api.post("/v1/watchlists", data={"name": "Dup", "symbols": "SPY"})
    duplicate = api.post("/v1/watchlists", data={"name": "Dup", "symbols": "AAPL"})
    assert duplicate.status_code == 409 and duplicate.json()["errors"]["error"]
    bad = api.post("/v1/watchlists/dup/symbols", data={"symbols": "SPY,NOT A SYMBOL"})
    assert bad.status_code == 400
    assert bad.json() == {"errors": {"error": ["Invalid symbols: NOT A SYMBOL"]}}
    assert api.get("/v1/watchlists/dup").json()["watchlist"]["items"]["item"]["symbol"] == "SPY"
    absent = api.delete("/v1/watchlists/dup/symbols/QQQ")
    assert absent.status_code == 404 and absent.json()["errors"]["error"]
    keep_default = api.delete("/v1/watchlists/default")
    assert keep_default.status_code == 400 and keep_default.json()["errors"]["error"]
    assert api.put("/v1/watchlists/dup", data={"symbols": "SPY"}).status_code == 400  # no name
    xml = api.get("/v1/watchlists/dup", headers={"Accept": "application/xml"})
    assert xml.headers["content-type"].startswith("application/xml")
    assert "<watchlist><name>Dup</name><id>dup</id>" in xml.text
    bare = httpx.get(f"{sandbox.url}/tradier/v1/watchlists")
    assert bare.status_code == 401 and bare.text == "Invalid Access Token"
