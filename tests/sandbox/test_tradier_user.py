"""Tradier's user-level account endpoints (`GET /v1/user/balances`, `/positions`,
`/history`, `/gainloss`, `/orders`) over real sockets, called with httpx as Tradier's
documentation shows them: one answer for all of the token's accounts, each account's part
identical to what its account-based endpoint answers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.tradier import tradier_client


@pytest.fixture
def api(sandbox, control) -> Iterator[httpx.Client]:
    control.configure(tick_rate=0.0)  # one market state for both reads of each comparison
    with tradier_client(sandbox) as client:
        yield client


def accounts_of(api: httpx.Client) -> dict[str, str]:
    """account number -> type, from the profile."""
    accounts = api.get("/v1/user/profile").json()["profile"]["account"]
    return {a["account_number"]: a["type"] for a in accounts}


def fill(api: httpx.Client, control, account: str, side: str, quantity: int) -> int:
    data = {"class": "equity", "symbol": "AAPL", "side": side, "quantity": str(quantity),
            "type": "market", "duration": "day"}  # fmt: skip
    placed = api.post(f"/v1/accounts/{account}/orders", data=data)
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["order"]["id"]
    control.step()
    control.step()
    assert api.get(f"/v1/accounts/{account}/orders/{order_id}").json()["order"]["status"] == (
        "filled"
    )
    return order_id


def per_user(api: httpx.Client, kind: str, **params: str) -> dict[str, object]:
    """account number -> that account's `kind` part of `/v1/user/{kind}`."""
    answer = api.get(f"/v1/user/{kind}", params=params)
    assert answer.status_code == 200, answer.text
    accounts = answer.json()["accounts"]["account"]
    assert isinstance(accounts, list)  # two accounts: a list
    parts = {}
    for item in accounts:
        assert set(item) == {"account_number", kind}, item
        parts[item["account_number"]] = item[kind]
    return parts


def per_account(api: httpx.Client, account: str, kind: str, **params: str) -> object:
    answer = api.get(f"/v1/accounts/{account}/{kind}", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()[kind]


def test_user_balances_are_each_accounts_balances(api):
    accounts = accounts_of(api)
    parts = per_user(api, "balances")
    assert set(parts) == set(accounts)
    for number, kind in accounts.items():
        assert parts[number] == per_account(api, number, "balances")
        assert parts[number]["account_number"] == number
        assert ("margin" if kind == "margin" else "cash") in parts[number]
        assert parts[number]["total_equity"] > 0


def test_user_positions_history_gainloss_and_orders_follow_the_trades(api, control):
    """After a buy and a sell in the margin account every user-level view shows them
    there, and each account's part is what its own endpoint answers ("null" included)."""
    accounts = accounts_of(api)
    margin = next(n for n, kind in accounts.items() if kind == "margin")
    fill(api, control, margin, "buy", 10)
    fill(api, control, margin, "sell", 4)
    for kind in ("positions", "history", "gainloss", "orders"):
        parts = per_user(api, kind)
        assert set(parts) == set(accounts), kind
        for number in accounts:
            assert parts[number] == per_account(api, number, kind), (kind, number)
    positions = per_user(api, "positions")[margin]["position"]
    assert any(p["symbol"] == "AAPL" for p in positions)
    events = per_user(api, "history")[margin]["event"]
    assert [e["trade"]["quantity"] for e in events[:2]] == [-4.0, 10.0]
    closed = per_user(api, "gainloss")[margin]["closed_position"]
    closed = closed if isinstance(closed, list) else [closed]
    assert any(c["symbol"] == "AAPL" and c["quantity"] == 4.0 for c in closed)
    orders = per_user(api, "orders")[margin]["order"]
    assert [o["side"] for o in orders] == ["buy", "sell"]
    others = [n for n in accounts if n != margin]
    assert all(per_user(api, "orders")[n] == "null" for n in others)


def test_user_endpoints_take_the_account_endpoints_parameters(api, control):
    """The account-based parameters apply to every account; a bad one is refused 400 in
    Tradier's error shape (XML unless asked for JSON)."""
    accounts = accounts_of(api)
    journals = per_user(api, "history", type="journal")
    for number in accounts:
        assert journals[number] == per_account(api, number, "history", type="journal")
        assert journals[number]["event"]["type"] == "journal"
    for kind, params in (
        ("history", {"type": "bogus"}),
        ("gainloss", {"sortBy": "size"}),
        ("orders", {"filter": "someday"}),
        ("history", {"limit": "0"}),
    ):
        answer = api.get(f"/v1/user/{kind}", params=params)
        assert answer.status_code == 400, (kind, answer.text)
        assert answer.json()["errors"]["error"][0], kind
    xml = api.get("/v1/user/history", params={"type": "bogus"}, headers={"Accept": "*/*"})
    assert xml.status_code == 400 and "<errors><error>" in xml.text


def test_user_balances_in_xml_by_default(api):
    answer = api.get("/v1/user/balances", headers={"Accept": "*/*"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.text.count("<account><account_number>") == 2
    assert "<balances><option_short_value>" in answer.text
