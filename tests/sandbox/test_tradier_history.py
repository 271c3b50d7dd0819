"""Tradier account history and gain/loss over real sockets, with httpx calls as Tradier's
documentation shows them; both are read from the core brokerage's ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from sandbox.tradier.wire import NEW_YORK
from tests.support.tradier import tradier_client


@pytest.fixture
def api(sandbox) -> Iterator[httpx.Client]:
    with tradier_client(sandbox) as c:
        yield c


def account_of(api: httpx.Client, kind: str = "margin") -> str:
    accounts = api.get("/v1/user/profile").json()["profile"]["account"]
    return next(a for a in accounts if a["type"] == kind)["account_number"]


def as_list(value) -> list:
    """Tradier's collapsed lists: one element is a bare object."""
    return value if isinstance(value, list) else [value]


def fill(api: httpx.Client, control, account: str, side: str, quantity: int, **form) -> int:
    """A market order, stepped until filled (Received -> Live -> Filled)."""
    data = {"class": "equity", "symbol": "AAPL", "side": side, "quantity": str(quantity),
            "type": "market", "duration": "day", **form}  # fmt: skip
    placed = api.post(f"/v1/accounts/{account}/orders", data=data)
    assert placed.status_code == 200, placed.text
    order_id = placed.json()["order"]["id"]
    control.step()
    control.step()
    order = api.get(f"/v1/accounts/{account}/orders/{order_id}").json()["order"]
    assert order["status"] == "filled", order
    return order_id


def history(api: httpx.Client, account: str, **params) -> list[dict]:
    answer = api.get(f"/v1/accounts/{account}/history", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()["history"]
    return [] if body == "null" else as_list(body["event"])


def gainloss(api: httpx.Client, account: str, **params) -> list[dict]:
    answer = api.get(f"/v1/accounts/{account}/gainloss", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()["gainloss"]
    return [] if body == "null" else as_list(body["closed_position"])


def midnight(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def an_option(api: httpx.Client) -> str:
    expirations = api.get("/v1/markets/options/expirations", params={"symbol": "SPY"})
    chain = api.get(
        "/v1/markets/options/chains",
        params={"symbol": "SPY", "expiration": expirations.json()["expirations"]["date"][-1]},
    ).json()["options"]["option"]
    # the cheapest call with a real bid: the first listed (the deepest in the money) may
    # cost more than the account can buy
    calls = [row for row in chain if row["option_type"] == "call" and row["bid"] > 0.5]
    return min(calls, key=lambda row: row["ask"])["symbol"]


def test_history_starts_with_the_funding_and_lists_each_fill_newest_first(api, control):
    account = account_of(api)
    today = dt.datetime.now(NEW_YORK).date()
    (opening,) = history(api, account)
    assert opening["type"] == "journal" and opening["amount"] > 0
    assert set(opening["journal"]) == {"description", "quantity"}
    assert opening["date"] < midnight(today)  # the account was opened days ago

    fill(api, control, account, "buy", 10)
    option = an_option(api)
    fill(api, control, account, "buy_to_open", 2, **{"class": "option", "symbol": "SPY",
                                                     "option_symbol": option})  # fmt: skip
    events = history(api, account)
    assert [e["type"] for e in events] == ["trade", "trade", "journal"]
    bought_option, bought_stock = events[0]["trade"], events[1]["trade"]
    quote = api.get("/v1/markets/quotes", params={"symbols": "AAPL"}).json()["quotes"]["quote"]
    assert bought_stock == {
        "commission": 0.0,
        "description": quote["description"],
        "price": bought_stock["price"],
        "quantity": 10.0,
        "symbol": "AAPL",
        "trade_type": "Equity",
    }
    assert events[1]["amount"] == round(-10 * bought_stock["price"], 2)
    assert events[1]["date"] == midnight(today)
    assert bought_option["symbol"] == option and bought_option["trade_type"] == "Option"
    assert bought_option["commission"] == 2.0 and bought_option["quantity"] == 2.0
    assert bought_option["description"].startswith("CALL SPY")
    assert events[0]["amount"] == round(-200 * bought_option["price"] - 2.0, 2)

    sold = fill(api, control, account, "sell", 4)
    assert sold
    latest = history(api, account)[0]
    assert latest["trade"]["quantity"] == -4.0 and latest["amount"] > 0


def test_history_filters_and_pages_as_documented(api, control):
    account = account_of(api)
    fill(api, control, account, "buy", 1)
    fill(api, control, account, "buy", 2, symbol="SPY")
    option = an_option(api)
    fill(api, control, account, "buy_to_open", 1, **{"class": "option", "symbol": "SPY",
                                                     "option_symbol": option})  # fmt: skip
    everything = history(api, account)
    assert len(everything) == 4

    assert [e["type"] for e in history(api, account, type="trade")] == ["trade"] * 3
    assert [e["type"] for e in history(api, account, type="journal")] == ["journal"]
    assert history(api, account, type="dividend") == []
    bogus = api.get(f"/v1/accounts/{account}/history", params={"type": "bogus"})
    assert bogus.status_code == 400 and bogus.json()["errors"]["error"]

    page = api.get(f"/v1/accounts/{account}/history", params={"limit": 1, "page": 2}).json()
    assert page["history"]["event"] == everything[1]  # one element: a bare object
    assert history(api, account, limit=3, page=2) == everything[3:]
    assert history(api, account, limit=3, page=3) == []
    assert api.get(f"/v1/accounts/{account}/history", params={"limit": 0}).status_code == 400

    spy_like = history(api, account, symbol="SPY")
    assert {e["trade"]["symbol"] for e in spy_like} == {"SPY", option}
    exact = history(api, account, symbol="SPY", exactMatch="true")
    assert [e["trade"]["symbol"] for e in exact] == ["SPY"]

    today = dt.datetime.now(NEW_YORK).date()
    tomorrow = today + dt.timedelta(days=1)
    assert len(history(api, account, start=today.isoformat())) == 3
    assert history(api, account, start=tomorrow.isoformat()) == []
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert [e["type"] for e in history(api, account, end=yesterday)] == ["journal"]
    empty = api.get(f"/v1/accounts/{account}/history", params={"start": tomorrow.isoformat()})
    assert empty.json() == {"history": "null"}
    bad_date = api.get(f"/v1/accounts/{account}/history", params={"start": "yesterday"})
    assert bad_date.status_code == 400


def test_gainloss_matches_closing_trades_to_lots_first_in_first_out(api, control):
    account = account_of(api)
    assert api.get(f"/v1/accounts/{account}/gainloss").json() == {"gainloss": "null"}
    held = api.get(f"/v1/accounts/{account}/positions").json()["positions"]["position"]
    positions = as_list(held)
    seeded = next(p for p in positions if p["symbol"] == "AAPL")  # 50 shares, opened days ago
    assert seeded["quantity"] == 50.0
    seeded_price = seeded["cost_basis"] / seeded["quantity"]
    acquired = dt.datetime.fromisoformat(seeded["date_acquired"].replace("Z", "+00:00"))
    opened = acquired.astimezone(NEW_YORK).date()  # Tradier dates its books in New York
    today = dt.datetime.now(NEW_YORK).date()

    fill(api, control, account, "sell", 20)
    sell_price = history(api, account)[0]["trade"]["price"]
    (first,) = gainloss(api, account)
    assert set(first) == {"close_date", "cost", "gain_loss", "gain_loss_percent", "open_date",
                          "proceeds", "quantity", "symbol", "term"}  # fmt: skip
    assert (first["symbol"], first["quantity"]) == ("AAPL", 20.0)
    assert first["proceeds"] == round(20 * sell_price, 2)
    assert first["cost"] == pytest.approx(20 * seeded_price, abs=0.01)
    assert first["gain_loss"] == round(first["proceeds"] - first["cost"], 2)
    assert first["gain_loss_percent"] == round(first["gain_loss"] / first["cost"] * 100, 4)
    assert first["open_date"] == f"{opened.isoformat()}T00:00:00.000Z"
    assert first["close_date"] == f"{today.isoformat()}T00:00:00.000Z"
    assert first["term"] == (today - opened).days

    fill(api, control, account, "buy", 10)
    bought_at = history(api, account)[0]["trade"]["price"]
    fill(api, control, account, "sell", 40)  # the 30 seeded shares left, then 10 of today's
    rows = gainloss(api, account, sortBy="openDate", sort="desc")
    assert [r["quantity"] for r in rows] == [10.0, 30.0, 20.0]
    assert rows[0]["cost"] == round(10 * bought_at, 2)
    assert rows[0]["open_date"] == rows[0]["close_date"] and rows[0]["term"] == 0
    assert rows[1]["cost"] == pytest.approx(30 * seeded_price, abs=0.01)

    option = an_option(api)
    leg = {"class": "option", "symbol": "SPY", "option_symbol": option}
    fill(api, control, account, "buy_to_open", 2, **leg)
    paid = history(api, account)[0]["trade"]["price"]
    fill(api, control, account, "sell_to_close", 2, **leg)
    received = history(api, account)[0]["trade"]["price"]
    (closed_option,) = gainloss(api, account, symbol=option)
    assert closed_option["quantity"] == 2.0
    assert closed_option["cost"] == round(200 * paid + 2.0, 2)  # the commission is a cost
    assert closed_option["proceeds"] == round(200 * received - 2.0, 2)  # and comes off proceeds


def test_gainloss_of_a_short_counts_the_sale_as_proceeds(api, control):
    account = account_of(api)
    held = api.get(f"/v1/accounts/{account}/positions").json()["positions"]["position"]
    short = next(p for p in as_list(held) if p["quantity"] < 0 and len(p["symbol"]) <= 5)
    sold_at = short["cost_basis"] / short["quantity"]  # the seeded short's average price
    fill(api, control, account, "buy_to_cover", 5, symbol=short["symbol"])
    covered_at = history(api, account)[0]["trade"]["price"]
    (row,) = gainloss(api, account)
    assert (row["symbol"], row["quantity"]) == (short["symbol"], -5.0)
    assert row["proceeds"] == pytest.approx(5 * sold_at, abs=0.01)
    assert row["cost"] == round(5 * covered_at, 2)
    assert row["gain_loss"] == round(row["proceeds"] - row["cost"], 2)


def test_gainloss_sorts_filters_and_pages(api, control):
    account = account_of(api)
    fill(api, control, account, "sell", 5)
    fill(api, control, account, "sell", 3, symbol="SPY")
    by_close = gainloss(api, account)  # default: closeDate, newest first
    assert [r["symbol"] for r in by_close] == ["SPY", "AAPL"]
    assert [r["symbol"] for r in gainloss(api, account, sort="asc")] == ["AAPL", "SPY"]
    assert [r["symbol"] for r in gainloss(api, account, symbol="AAPL")] == ["AAPL"]
    paged = api.get(f"/v1/accounts/{account}/gainloss", params={"limit": 1, "page": 2})
    assert paged.json()["gainloss"]["closed_position"] == by_close[1]
    tomorrow = dt.datetime.now(NEW_YORK).date() + dt.timedelta(days=1)
    assert gainloss(api, account, start=tomorrow.isoformat()) == []
    for bad in ({"sortBy": "symbol"}, {"sort": "up"}, {"page": "0"}, {"end": "31-12-2020"}):
        refused = api.get(f"/v1/accounts/{account}/gainloss", params=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["errors"]["error"]


def test_history_and_gainloss_refuse_other_accounts_and_speak_xml_by_default(sandbox, api):
    account = account_of(api)
    with tradier_client(sandbox) as other:
        theirs = account_of(other)
    for path in ("history", "gainloss"):
        refused = api.get(f"/v1/accounts/{theirs}/{path}")
        assert refused.status_code == 400
        assert refused.json() == {"errors": {"error": [f"Invalid account number {theirs}"]}}
        assert int(refused.headers["x-ratelimit-allowed"]) == 120  # the standard group
    xml = api.get(f"/v1/accounts/{account}/history", headers={"Accept": "application/xml"})
    assert xml.headers["content-type"].startswith("application/xml")
    assert "<history><event><amount>" in xml.text and "<type>journal</type>" in xml.text
