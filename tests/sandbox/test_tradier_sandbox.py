"""The sandbox's Tradier façade over real sockets, with a raw httpx client: wire shapes,
session rules, rate limits and faults, as Tradier documents them (documentation.tradier.com;
docs/sandbox.md "Tradier")."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator

import httpx
import orjson
import pytest

from sandbox.core.credentials import credential_id
from sandbox.tradier.wire import NEW_YORK
from tests.support.tradier import tradier_client
from tests.support.wait import poll_until

OPTION = "SPY261218C00600000"


@pytest.fixture
def token() -> str:
    return f"tradier-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def api(sandbox, token) -> Iterator[httpx.Client]:
    with tradier_client(sandbox, token) as client:
        yield client


def new_session(api: httpx.Client) -> str:
    response = api.post("/v1/markets/events/session")
    assert response.status_code == 200, response.text
    stream = response.json()["stream"]
    assert stream["url"].endswith("/tradier/v1/markets/events")
    return stream["sessionid"]


def read_events(response: httpx.Response, count: int, within: float = 5.0) -> list[dict]:
    """The next `count` events; the line iterator is kept on the response, because an
    abandoned httpx iterator closes the connection (which the sandbox would see)."""
    lines = response.__dict__.setdefault("_test_lines", response.iter_lines())
    events: list[dict] = []
    deadline = time.monotonic() + within
    for line in lines:
        if line:
            events.append(orjson.loads(line))
        if len(events) >= count or time.monotonic() > deadline:
            break
    return events


def rest_of(response: httpx.Response) -> list[str]:
    """Read until the body ends (returns only when the sandbox ends the response)."""
    lines = response.__dict__.setdefault("_test_lines", response.iter_lines())
    return [line for line in lines if line]


def stream_entry(control, token: str) -> list[dict]:
    return control.state()["credentials"][credential_id(token)]["tradier-stream"]


def test_stream_is_ndjson_with_the_documented_types(api, control, token):
    """linebreak=true: one JSON object per line; quote numbers with string dates; trade,
    summary and timesale values as strings; options under their OCC symbol."""
    sid = new_session(api)
    data = {"symbols": f"SPY,{OPTION}", "sessionid": sid, "linebreak": "true"}
    with api.stream("POST", "/v1/markets/events", data=data) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        events = read_events(response, 40)
        assert stream_entry(control, token)[0]["symbols"] == ["SPY", OPTION]
    by_type = {}
    for event in events:
        by_type.setdefault(event["type"], event)
    assert {"quote", "trade", "summary", "timesale", "tradex"} <= by_type.keys()
    quote = by_type["quote"]
    assert isinstance(quote["bid"], float) and isinstance(quote["bidsz"], int)
    assert isinstance(quote["biddate"], str) and quote["biddate"].isdigit()
    assert set(quote) == {
        "type", "symbol", "bid", "bidsz", "bidexch", "biddate",
        "ask", "asksz", "askexch", "askdate",
    }  # fmt: skip
    trade = by_type["trade"]
    assert all(isinstance(trade[k], str) for k in ("price", "size", "cvol", "date", "last"))
    assert trade["price"] == trade["last"]
    summary = by_type["summary"]
    assert set(summary) == {"type", "symbol", "open", "high", "low", "prevClose"}
    timesale = by_type["timesale"]
    assert isinstance(timesale["seq"], int) and timesale["cancel"] is False
    assert timesale["session"] == "normal"
    assert {e["symbol"] for e in events} == {"SPY", OPTION}


def test_without_linebreak_objects_come_back_to_back(api):
    """linebreak omitted: JSON objects with nothing between them; filter limits the types."""
    sid = new_session(api)
    data = {"symbols": "SPY", "sessionid": sid, "filter": "quote,summary"}
    with api.stream("POST", "/v1/markets/events", data=data) as response:
        raw = b""
        for chunk in response.iter_bytes():
            raw += chunk
            if raw.count(b"}{") >= 3:
                break
    assert b"\n" not in raw and raw.startswith(b'{"type":')
    decoder_types = {orjson.loads(b"{" + part + b"}")["type"] for part in
                     raw.strip(b"{}").split(b"}{") if part.count(b'"type"') == 1}  # fmt: skip
    assert decoder_types <= {"quote", "summary"} and "quote" in decoder_types


def test_session_ids_are_single_use_and_expire(api, control, token):
    """Unknown, used and stale (> tradier_session_ttl) session ids are refused."""
    answer = api.post("/v1/markets/events", data={"symbols": "SPY", "sessionid": "nope"})
    assert answer.status_code == 400 and answer.json() == {"error": "session not found"}
    sid = new_session(api)
    with api.stream("POST", "/v1/markets/events", data={"symbols": "SPY", "sessionid": sid}):
        pass
    again = api.post("/v1/markets/events", data={"symbols": "SPY", "sessionid": sid})
    assert again.status_code == 400
    control.configure(tradier_session_ttl=0.3)
    stale = new_session(api)
    time.sleep(0.4)
    late = api.post("/v1/markets/events", data={"symbols": "SPY", "sessionid": stale})
    assert late.status_code == 400 and late.json() == {"error": "session not found"}
    state = control.state()["credentials"][credential_id(token)]
    assert state["sessions_created"] == 2 and state["sessions_rejected"] == 3


def test_second_stream_kicks_the_first_or_is_rejected(api, control, token):
    """One stream per token: "kick" ends the older response; "reject" refuses the newer."""
    first_sid, second_sid = new_session(api), new_session(api)
    first_params = {"symbols": "SPY", "sessionid": first_sid, "linebreak": "true"}
    second_data = {"symbols": "QQQ", "sessionid": second_sid, "linebreak": "true"}
    with api.stream("GET", "/v1/markets/events", params=first_params) as first:
        assert read_events(first, 1)
        with api.stream("POST", "/v1/markets/events", data=second_data) as second:
            assert read_events(second, 1)[0]["symbol"] == "QQQ"
            rest = rest_of(first)  # returns: the sandbox ended the older body
            assert all(orjson.loads(line)["symbol"] == "SPY" for line in rest)
            poll_until(lambda: [s["symbols"] for s in stream_entry(control, token)] == [["QQQ"]])
            control.configure(tradier_second_session="reject")
            third = api.post(
                "/v1/markets/events", data={"symbols": "SPY", "sessionid": new_session(api)}
            )
            assert third.status_code == 400 and "session" in third.json()["error"]
            assert read_events(second, 1)  # the existing stream is unaffected


def test_symbols_validation(api):
    """Invalid symbols next to valid ones are skipped; only invalid ones → an error object."""
    answer = api.post(
        "/v1/markets/events", data={"symbols": "$$BAD", "sessionid": new_session(api)}
    )
    assert answer.status_code == 400 and answer.json() == {"error": "$$BAD is not a valid symbol"}
    data = {"symbols": "/ES,SPY", "sessionid": new_session(api), "linebreak": "true"}
    with api.stream("POST", "/v1/markets/events", data=data) as response:
        assert {e["symbol"] for e in read_events(response, 5)} == {"SPY"}


def test_json_only_when_asked_and_401_is_plain_text(sandbox, api, token):
    """Without Accept: application/json the answer is XML; a missing or revoked token → 401
    `Invalid Access Token` in plain text."""
    xml = api.get("/v1/user/profile", headers={"Accept": "*/*"})
    assert xml.headers["content-type"].startswith("application/xml")
    assert xml.text.startswith("<?xml") and "<account_number>" in xml.text
    bare = httpx.get(f"{sandbox.url}/tradier/v1/user/profile")
    assert bare.status_code == 401 and bare.text == "Invalid Access Token"
    control = sandbox.control()
    control.fault("revoke", credential=credential_id(token))
    assert api.get("/v1/user/profile").status_code == 401
    control.close()


def test_rest_shapes_and_one_element_collapse(api, control):
    """Profile, balances, positions, quotes, expirations and chains in Tradier's shapes;
    one element collapses to an object (or a string), none to "null"."""
    accounts = api.get("/v1/user/profile").json()["profile"]["account"]
    assert isinstance(accounts, list) and len(accounts) == 2
    margin = next(a for a in accounts if a["type"] == "margin")
    cash = next(a for a in accounts if a["type"] == "cash")
    balances = api.get(f"/v1/accounts/{margin['account_number']}/balances").json()["balances"]
    assert balances["total_equity"] > 0 and balances["margin"]["stock_buying_power"] > 0
    assert balances["option_short_value"] <= 0
    cash_balances = api.get(f"/v1/accounts/{cash['account_number']}/balances").json()
    assert "cash" in cash_balances["balances"] and "margin" not in cash_balances["balances"]
    positions = api.get(f"/v1/accounts/{margin['account_number']}/positions").json()
    rows = positions["positions"]["position"]
    short = next(p for p in rows if p["quantity"] < 0)
    assert short["cost_basis"] < 0
    assert any(len(p["symbol"]) > 15 and " " not in p["symbol"] for p in rows)  # OCC
    assert api.get(f"/v1/accounts/{margin['account_number']}/orders").json() == {"orders": "null"}
    one = api.get("/v1/markets/quotes", params={"symbols": "SPY"}).json()["quotes"]
    assert isinstance(one["quote"], dict) and one["quote"]["symbol"] == "SPY"
    two = api.post("/v1/markets/quotes", data={"symbols": "SPY,AAPL,ZZZZ$"}).json()["quotes"]
    assert [q["symbol"] for q in two["quote"]] == ["SPY", "AAPL"]
    assert two["unmatched_symbols"] == {"symbol": "ZZZZ$"}
    dates = api.get("/v1/markets/options/expirations", params={"symbol": "SPY"}).json()
    dates = dates["expirations"]["date"]
    assert isinstance(dates, list) and len(dates) > 1
    chain = api.get(
        "/v1/markets/options/chains",
        params={"symbol": "SPY", "expiration": dates[-1], "greeks": "true"},
    ).json()["options"]["option"]
    greeks = chain[0]["greeks"]
    assert set(greeks) == {
        "delta", "gamma", "theta", "vega", "rho", "phi",
        "bid_iv", "mid_iv", "ask_iv", "smv_vol", "updated_at",
    }  # fmt: skip
    assert len(greeks["updated_at"]) == 19 and greeks["updated_at"][10] == " "
    assert {r["option_type"] for r in chain} == {"call", "put"}
    unknown = api.get(
        "/v1/markets/options/chains", params={"symbol": "SPY", "expiration": "2001-01-05"}
    )
    assert unknown.json() == {"options": None}
    assert control.state()["totals"]["tradier_chain_requests"] == 2


def test_rate_limit_headers_429_and_window_reset(api, control):
    """Every answer carries X-Ratelimit-*; over the limit → 429; the window resets."""
    control.configure(tradier_rate_limit_market=3, tradier_rate_window=0.8)
    answers = [api.get("/v1/markets/quotes", params={"symbols": "SPY"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-available"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["x-ratelimit-allowed"] == "3"
    expiry = int(answers[0].headers["x-ratelimit-expiry"])
    assert expiry == int(answers[3].headers["x-ratelimit-expiry"])
    assert 0 < expiry / 1000 - time.time() <= 0.8
    assert api.get("/v1/user/profile").status_code == 200  # another group, another count
    time.sleep(max(0.0, expiry / 1000 - time.time()) + 0.05)
    after = api.get("/v1/markets/quotes", params={"symbols": "SPY"})
    assert after.status_code == 200 and after.headers["x-ratelimit-used"] == "1"


def test_order_placement_goes_through_the_shared_brokerage(api, control):
    """POST /orders places through the simulation; steps fill it; /orders reports it."""
    account = next(
        a for a in api.get("/v1/user/profile").json()["profile"]["account"] if a["type"] == "margin"
    )["account_number"]
    placed = api.post(
        f"/v1/accounts/{account}/orders",
        data={"class": "equity", "symbol": "AAPL", "side": "buy", "quantity": "3",
              "type": "market", "duration": "day"},
    )  # fmt: skip
    assert placed.json()["order"]["status"] == "ok"
    order_id = placed.json()["order"]["id"]
    control.step()
    control.step()
    order = api.get(f"/v1/accounts/{account}/orders").json()["orders"]["order"]
    assert isinstance(order, dict) and order["id"] == order_id
    assert order["status"] == "filled" and order["exec_quantity"] == 3.0
    assert order["side"] == "buy" and order["class"] == "equity" and order["avg_fill_price"] > 0
    bad = api.post(f"/v1/accounts/{account}/orders", data={"class": "equity", "side": "fly"})
    assert bad.status_code == 400 and bad.json()["errors"]["error"]


def test_faults_drop_silence_http_error_and_refuse(api, control, token):
    """drop ends the body; silence keeps it open but quiet; http_error and refuse_sessions
    answer with their statuses; the stream is listed under its credential while open."""
    cred = credential_id(token)
    data = {"symbols": "SPY", "sessionid": new_session(api), "linebreak": "true"}
    with api.stream("POST", "/v1/markets/events", data=data) as response:
        assert read_events(response, 2)
        control.fault("silence", target="tradier-stream", credential=cred)
        poll_until(lambda: stream_entry(control, token)[0]["silent"])
        before = stream_entry(control, token)[0]["messages_suppressed"]
        poll_until(lambda: stream_entry(control, token)[0]["messages_suppressed"] > before)
        assert control.fault("drop", target="tradier-stream", credential=cred) == {"affected": 1}
        rest_of(response)  # returns: the body ended
    poll_until(lambda: stream_entry(control, token) == [])
    control.clear_faults()
    control.fault("refuse_sessions", target="tradier-stream", status=503)
    refused = api.post("/v1/markets/events", data={"symbols": "SPY", "sessionid": new_session(api)})
    assert refused.status_code == 503
    control.clear_faults()
    control.fault("http_error", status=502, path_prefix="/tradier/v1/markets/events/session")
    assert api.post("/v1/markets/events/session").status_code == 502
    control.configure(tradier_streaming=False)
    assert api.post("/v1/markets/events/session").status_code == 400


def test_idle_stream_is_closed_and_a_vanished_client_is_not_leaked(api, control, token):
    """With nothing to send for tradier_idle_close the body ends; a client that disconnects
    mid-stream leaves no session behind."""
    idle_close = 0.5
    control.configure(tradier_idle_close=idle_close, tick_rate=0.0)
    data = {"symbols": "SPY", "sessionid": new_session(api), "linebreak": "true"}
    started = time.monotonic()
    with api.stream("POST", "/v1/markets/events", data=data) as response:
        lines = [line for line in response.iter_lines() if line]
    # not before the idle time; and ended by it, not by the client's own read timeout
    # (idle_close + 10 s: a loaded box's margin, far below the 900 s of the next stream)
    assert idle_close <= time.monotonic() - started < idle_close + 10
    assert lines  # the initial snapshot, then idle
    control.configure(tradier_idle_close=900.0, tick_rate=20.0)
    data = {"symbols": "SPY", "sessionid": new_session(api), "linebreak": "true"}
    with api.stream("POST", "/v1/markets/events", data=data) as response:
        read_events(response, 1)
        assert len(stream_entry(control, token)) == 1
    poll_until(lambda: stream_entry(control, token) == [])


def test_quote_delay_puts_event_times_in_the_past(api, control):
    """`tradier_quote_delay` (seconds): quotes and the stream report their times that far
    back, like Tradier's 15-minute-delayed sandbox; 0 (the default) is real time."""
    assert control.state()["config"]["tradier_quote_delay"] == 0

    def quote_times() -> list[int]:
        quote = api.get("/v1/markets/quotes", params={"symbols": f"SPY,{OPTION}"})
        return [q[k] for q in quote.json()["quotes"]["quote"] for k in TIME_KEYS]

    def stream_times() -> list[int]:
        data = {"symbols": "SPY", "sessionid": new_session(api), "linebreak": "true"}
        with api.stream("POST", "/v1/markets/events", data=data) as response:
            events = read_events(response, 10)
        quotes = [e for e in events if e["type"] == "quote"]
        trades = [e for e in events if e["type"] in ("trade", "tradex", "timesale")]
        assert quotes and trades
        return [int(q[k]) for q in quotes for k in ("biddate", "askdate")] + [
            int(t["date"]) for t in trades
        ]

    now_ms = time.time() * 1000
    assert all(now_ms - 5_000 < t <= now_ms + 1_000 for t in quote_times() + stream_times())
    control.configure(tradier_quote_delay=900)
    now_ms = time.time() * 1000
    delayed = quote_times() + stream_times()
    assert all(now_ms - 905_000 < t <= now_ms - 899_000 for t in delayed), delayed
    chain = api.get("/v1/markets/quotes", params={"symbols": OPTION, "greeks": "true"}).json()[
        "quotes"
    ]["quote"]["greeks"]["updated_at"]
    stamp = dt.datetime.strptime(chain, "%Y-%m-%d %H:%M:%S").replace(tzinfo=NEW_YORK)
    assert 895 <= time.time() - stamp.timestamp() <= 905


TIME_KEYS = ("trade_date", "bid_date", "ask_date")
