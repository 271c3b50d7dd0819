"""The Alpaca façade over real sockets with raw httpx / httpx-sse: Basic auth, REST shapes,
trade events and their framing, replay rules, the one-connection rule and faults."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import orjson
import pytest
from httpx_sse import aconnect_sse

from sandbox.alpaca.wire import MonotonicUlid
from sandbox.core.credentials import credential_id
from tests.support import alpaca as shared
from tests.support.wait import wait_until

SECRET = "sk-sandbox-secret"
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")

sandbox_config = shared.sandbox_config  # orders advance only on control.step()
key_id = shared.key_id  # a fresh key (customer) per test


@pytest.fixture
async def api(sandbox, key_id):
    async with httpx.AsyncClient(
        base_url=f"{sandbox.url}/alpaca", auth=(key_id, SECRET), timeout=10
    ) as client:
        yield client


async def margin_account(api: httpx.AsyncClient) -> str:
    """The key's margin account (Alpaca lists newest first: the order says nothing)."""
    accounts = (await api.get("/v1/accounts")).json()
    return next(a["id"] for a in accounts if a["trading_type"] == "margin")


async def place(api: httpx.AsyncClient, account_id: str, **overrides) -> dict:
    body = {"symbol": "SCHD", "qty": "300", "side": "buy", "type": "limit"}
    body |= {"time_in_force": "day", "limit_price": "40", **overrides}
    response = await api.post(f"/v1/trading/accounts/{account_id}/orders", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def read_until(lines, predicate, within: float = 3.0) -> list[str]:
    """Raw lines from an event-stream response until predicate(line) holds."""
    seen: list[str] = []

    async def go() -> None:
        async for line in lines:
            seen.append(line)
            if predicate(line):
                return

    await asyncio.wait_for(go(), within)
    return seen


def events_of(lines: list[str]) -> list[dict]:
    return [orjson.loads(line[6:]) for line in lines if line.startswith("data: ")]


async def fill_order(sandbox, control, api: httpx.AsyncClient) -> tuple[str, list[dict]]:
    """Place an order and step it to filled; returns its id and the v2 history."""
    account_id = await margin_account(api)
    order = await place(api, account_id)
    for _ in range(6):
        control.step()
    history = await replay(sandbox, api, {"since_id": "0" * 26})
    return order["id"], history


async def replay(sandbox, api: httpx.AsyncClient, params: dict) -> list[dict]:
    """A replay that must end by itself (until_id given) or be cut after the history."""
    async with api.stream("GET", "/v2/events/trades", params=params) as response:
        assert response.status_code == 200
        lines = response.aiter_lines()
        seen = await read_until(lines, lambda line: line.startswith(":heartbeat"))
    # the server notices the hang-up asynchronously; wait until the key's slot is free
    await wait_until(lambda: not sandbox.sandbox.hub.find("alpaca-sse"))
    return events_of(seen)


async def test_basic_auth_and_alpaca_error_bodies(sandbox, control, api, key_id):
    """No or wrong credentials and revoked keys get 401 with Alpaca's error JSON."""
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/alpaca") as anonymous:
        response = await anonymous.get("/v1/accounts")
        assert response.status_code == 401
        assert response.json() == {"code": 40110000, "message": "request is not authorized"}
        assert (await api.get("/v1/accounts")).status_code == 200
        wrong = await anonymous.get("/v1/accounts", auth=(key_id, "not-the-secret"))
        assert wrong.status_code == 401
    control.fault("revoke", credential=credential_id(key_id))
    revoked = await api.get("/v1/accounts")
    assert revoked.status_code == 401 and revoked.json()["code"] == 40110000


async def test_rest_shapes_with_string_numbers(api):
    """Accounts, the trading account, positions and orders in Alpaca's shapes; numbers are
    strings; another customer's account is 404."""
    accounts = (await api.get("/v1/accounts")).json()
    assert len(accounts) == 2 and all(a["status"] == "ACTIVE" for a in accounts)
    margin = next(a for a in accounts if a["trading_type"] == "margin")
    account_id = margin["id"]
    assert str(uuid.UUID(account_id)) == account_id
    account = (await api.get(f"/v1/trading/accounts/{account_id}/account")).json()
    for key in ("cash", "equity", "buying_power", "long_market_value", "short_market_value"):
        assert isinstance(account[key], str) and NUMBER.match(account[key]), key
    assert account["account_number"] == margin["account_number"]
    positions = (await api.get(f"/v1/trading/accounts/{account_id}/positions")).json()
    assert {p["side"] for p in positions} == {"long", "short"}
    assert all(isinstance(p["qty"], str) for p in positions)
    short = next(p for p in positions if p["side"] == "short")
    assert short["qty"].startswith("-") and short["market_value"].startswith("-")
    option = next(p for p in positions if p["asset_class"] == "us_option")
    assert " " not in option["symbol"] and re.match(r"^[A-Z]+\d{6}[CP]\d{8}$", option["symbol"])
    order = await place(api, account_id)
    assert order["status"] == "new" and order["qty"] == "300" and order["filled_qty"] == "0"
    assert order["limit_price"] == "40" and order["side"] == "buy" and order["type"] == "limit"
    listed = (await api.get(f"/v1/trading/accounts/{account_id}/orders")).json()
    assert [o["id"] for o in listed] == [order["id"]]
    closed = await api.get(f"/v1/trading/accounts/{account_id}/orders", params={"status": "closed"})
    assert closed.json() == []
    bad = await api.post(f"/v1/trading/accounts/{account_id}/orders", json={"symbol": "SCHD"})
    assert (
        bad.status_code == 422 and bad.json()["code"] == 40010000
    )  # bad input: 422 with code 40010000, as Alpaca answers
    other = await api.get(f"/v1/trading/accounts/{uuid.uuid4()}/account")
    assert other.status_code == 404
    cancel = await api.delete(f"/v1/trading/accounts/{account_id}/orders/{order['id']}")
    assert cancel.status_code == 204
    closed = await api.get(f"/v1/trading/accounts/{account_id}/orders", params={"status": "closed"})
    assert [o["status"] for o in closed.json()] == ["canceled"]


async def test_trade_events_framing_and_fields(sandbox, control, api):
    """An order's new → partial_fill → fill arrive live as `data: <one-line JSON>` blocks
    with increasing ULIDs, heartbeat comments in between, and no event:/id: lines."""
    account_id = await margin_account(api)
    async with api.stream("GET", "/v2/events/trades", timeout=None) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-accel-buffering"] == "no"
        raw = b""
        chunks = response.aiter_bytes()
        order = await place(api, account_id)
        for _ in range(6):
            control.step()
        while b'"event":"fill"' not in raw or b":heartbeat" not in raw:
            raw += await asyncio.wait_for(chunks.__anext__(), 3)
    text = raw.decode()
    blocks = [b for b in text.split("\n\n") if b]
    assert all(b.startswith(("data: ", ":heartbeat")) and "\n" not in b for b in blocks)
    assert "event:" not in text.replace('"event":', "") and "\nid:" not in text
    evs = [orjson.loads(b[6:]) for b in blocks if b.startswith("data: ")]
    names = [e["event"] for e in evs]
    assert names[0] == "new" and names[-1] == "fill" and "partial_fill" in names
    ids = [e["event_id"] for e in evs]
    assert all(ULID.match(i) for i in ids) and ids == sorted(ids) and len(set(ids)) == len(ids)
    for event in evs:
        assert event["order"]["id"] == order["id"] and event["account_id"] == account_id
        assert event["at"].endswith("Z") and event["timestamp"]
    fills = [e for e in evs if e["event"] in ("partial_fill", "fill")]
    assert sum(int(e["qty"]) for e in fills) == 300
    assert all(isinstance(e["price"], str) and str(uuid.UUID(e["execution_id"])) for e in fills)
    assert fills[-1]["order"]["status"] == "filled" and fills[-1]["position_qty"] != "0"
    assert [int(e["order"]["filled_qty"]) for e in fills] == sorted(
        {int(e["order"]["filled_qty"]) for e in fills}
    )


async def test_replay_rules(sandbox, control, api):
    """since_id replays what came after it, then stays live; until_id ends the response
    with 200; until without since and two since* are 400; no since* is live only."""
    _, history = await fill_order(sandbox, control, api)
    assert len(history) >= 3
    ids = [e["event_id"] for e in history]
    after_first = await replay(sandbox, api, {"since_id": ids[0]})
    assert [e["event_id"] for e in after_first] == ids[1:]
    async with api.stream(
        "GET", "/v2/events/trades", params={"since_id": ids[0], "until_id": ids[1]}
    ) as response:
        body = await asyncio.wait_for(response.aread(), 3)  # ends by itself
    assert response.status_code == 200
    assert [e["event_id"] for e in events_of(body.decode().splitlines())] == [ids[1]]
    for params in ({"until_id": ids[1]}, {"since_id": ids[0], "since": "2024-01-01"}):
        bad = await api.get("/v2/events/trades", params=params)
        assert bad.status_code == 400 and bad.json()["code"] == 40010000
    assert (await api.get("/v2/events/trades", params={"since_id": "123"})).status_code == 400
    assert await replay(sandbox, api, {}) == []  # live only: the first thing is a heartbeat
    v1 = await api.get("/v1/events/trades", params={"since_id": "0", "until_id": "2"})
    v1_events = events_of(v1.text.splitlines())
    assert [e["event_id"] for e in v1_events] == [1, 2]
    assert v1_events[0]["event_ulid"] == ids[0]


async def test_second_connection_reject_then_kick(sandbox, control, api, key_id):
    """A second stream of a key gets 429 (reject mode); in kick mode the older one ends."""
    cid = credential_id(key_id)
    async with api.stream("GET", "/v2/events/trades", timeout=None) as first:
        assert first.status_code == 200
        second = await api.get("/v2/events/trades")
        assert second.status_code == 429 and second.json()["code"] == 42910000
        assert control.state()["credentials"][cid]["connections_refused"] == 1
        control.configure(alpaca_second_connection="kick")
        async with api.stream("GET", "/v2/events/trades", timeout=None) as third:
            assert third.status_code == 200
            tail = await asyncio.wait_for(first.aread(), 3)  # the older one was ended
            assert b": internal server error" in tail
            sessions = control.state()["credentials"][cid]["alpaca-sse"]
            assert len(sessions) == 1


async def test_disconnected_client_frees_its_slot(sandbox, control, api, key_id):
    """A client that goes away is noticed within moments (its session leaves the state
    report), so reconnecting is not a 'second connection' (the stale-connection 429s of
    alpaca-py #740 need the cleanup switch)."""
    cid = credential_id(key_id)

    async def slot_freed() -> bool:
        for _ in range(40):
            if not control.state()["credentials"][cid].get("alpaca-sse"):
                return True
            await asyncio.sleep(0.05)
        return False

    for _ in range(3):
        async with api.stream("GET", "/v2/events/trades", timeout=None) as response:
            assert response.status_code == 200
            await read_until(response.aiter_lines(), lambda line: line == ":heartbeat")
        assert await slot_freed()  # within 2 s of the client hanging up
    control.configure(alpaca_stale_cleanup=1.0)
    async with api.stream("GET", "/v2/events/trades", timeout=None) as response:
        await read_until(response.aiter_lines(), lambda line: line == ":heartbeat")
    await asyncio.sleep(0.2)
    assert (await api.get("/v2/events/trades")).status_code == 429  # still "connected"


async def test_faults_drop_silence_refuse_and_http_error(sandbox, control, api, key_id):
    """drop ends the response after `: internal server error`; silence stops heartbeats
    but keeps it listed; refuse_sessions and http_error answer with their status."""
    cid = credential_id(key_id)
    async with aconnect_sse(api, "GET", "/v2/events/trades", timeout=None) as source:
        seen: list[str] = []

        async def reader() -> None:
            async for line in source.response.aiter_lines():
                seen.append(line)

        task = asyncio.create_task(reader())
        await wait_until(lambda: ":heartbeat" in seen)
        assert control.state()["credentials"][cid]["alpaca-sse"][0]["kind"] == "alpaca-sse"
        assert control.fault("silence", target="alpaca-sse", credential=cid) == {"affected": 1}
        await asyncio.sleep(0.3)  # what was in flight
        count = len(seen)
        await asyncio.sleep(0.8)
        assert len(seen) == count  # four heartbeat intervals without a byte
        session = control.state()["credentials"][cid]["alpaca-sse"][0]
        assert session["silent"] and not task.done()
        assert control.fault("drop", target="alpaca-sse", credential=cid) == {"affected": 1}
        await asyncio.wait_for(task, 3)  # the response ended
        assert seen[-2:] == [": internal server error", ""]
    control.clear_faults()
    control.fault("refuse_sessions", target="alpaca-sse", status=503)
    refused = await api.get("/v2/events/trades")
    assert refused.status_code == 503 and "event-stream" not in refused.headers["content-type"]
    control.clear_faults()
    control.fault("http_error", status=502, path_prefix="/alpaca/v2/events")
    assert (await api.get("/v2/events/trades")).status_code == 502
    ok = await api.get(
        "/v2/events/trades", params={"since_id": "0" * 26, "until_id": "0" * 25 + "1"}
    )
    assert ok.status_code == 200
    assert control.state()["credentials"][cid]["connection_attempts"] >= 3


def test_ulids_are_monotonic_within_a_millisecond():
    """The generator stays strictly increasing when the clock stands still or steps back."""
    gen = MonotonicUlid()
    ids = [gen.new(1_700_000_000.0) for _ in range(100)] + [gen.new(1_600_000_000.0)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(ULID.match(i) for i in ids)
