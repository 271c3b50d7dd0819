"""End to end: a real daphne process, the real login form, a real websocket client,
the sandbox broker behind it — and the broker dropping underneath."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from sandbox.core.credentials import credential_id
from tests.support.live import DEMO_USER
from tests.support.wait import poll_until, wait_until


async def frames_until(ws, predicate, within: float = 15.0) -> dict:
    async with asyncio.timeout(within):
        while True:
            frame = json.loads(await ws.recv())
            if predicate(frame):
                return frame


async def test_logged_in_socket_streams_and_heals_after_a_broker_drop(live_app, live_sandbox):
    """Login → socket → hello/snapshot (SIMULATED) → balances and quotes; the sandbox drops
    the broker connections → status reconnecting → live again → quotes flow again."""
    client = live_app.login(*DEMO_USER)
    headers = {"Cookie": live_app.cookie_header(client), "Origin": live_app.url}
    async with websockets.connect(live_app.ws_url, additional_headers=headers) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello" and hello["user"] == "demo" and hello["simulated"] is True
        snapshot = json.loads(await ws.recv())
        assert snapshot["type"] == "snapshot" and snapshot["simulated"] is True
        await ws.send(json.dumps({"type": "subscribe", "symbols": ["SPY", "NVDA"]}))
        # the tastytrade link: both its connections (DXLink, account streamer) are up
        (tasty,) = [link for link in snapshot["links"] if link["broker"] == "tastytrade"]
        if tasty["state"] != "live":
            await frames_until(
                ws,
                lambda f: (
                    f["type"] == "status"
                    and f["link"]["id"] == tasty["id"]
                    and f["link"]["state"] == "live"
                ),
            )
        await frames_until(ws, lambda f: f["type"] == "quotes" and "NVDA" in f["quotes"])

        control = live_sandbox.control()
        affected = control.fault(
            "drop", target="all", credential=credential_id("demo-refresh-token")
        )
        assert affected["affected"] == 2
        # each data kind notices its own drop (market data and the account streamer are
        # separate connections); the link is "reconnecting" while either is
        reconnecting = await frames_until(
            ws,
            lambda f: (
                f["type"] == "status"
                and f["link"]["id"] == tasty["id"]
                and f["link"]["kinds"]["quotes"]["state"] == "reconnecting"
            ),
        )
        assert reconnecting["link"]["state"] == "reconnecting"
        assert "closed" in reconnecting["link"]["kinds"]["quotes"]["reason"]
        # the same link heals (the demo trader's other links report their own states)
        link_id = reconnecting["link"]["id"]
        assert link_id == tasty["id"]
        await frames_until(
            ws,
            lambda f: (
                f["type"] == "status"
                and f["link"]["id"] == link_id
                and f["link"]["state"] == "live"
            ),
        )
        # quotes flow again: a quote newer than the drop arrives (one read before the drop
        # may still be in the conflation buffer when the status goes out)
        await frames_until(
            ws,
            lambda f: (
                f["type"] == "quotes"
                and "NVDA" in f["quotes"]
                and f["quotes"]["NVDA"]["t"] > reconnecting["t"]
            ),
        )
        # one broker session per credential, even after healing
        state = control.state()["credentials"][credential_id("demo-refresh-token")]
        assert len(state["dxlink"]) == 1 and len(state["streamer"]) == 1
        control.close()


def test_page_is_server_rendered_with_the_snapshot(live_app):
    """The dashboard HTML already carries balances and the SIMULATED banner before any JS."""
    client = live_app.login(*DEMO_USER)
    page = client.get("/")
    assert page.status_code == 200
    assert "SIMULATED" in page.text
    assert 'id="snapshot"' in page.text
    snapshot = json.loads(
        page.text.split('<script id="snapshot" type="application/json">')[1].split("</script>")[0]
    )
    assert snapshot["accounts"] and all(a["balance"] for a in snapshot["accounts"])


async def test_anonymous_and_cross_origin_sockets_are_refused(live_app):
    """No session → close 4401; a foreign Origin → the handshake is refused (403)."""
    async with websockets.connect(
        live_app.ws_url, additional_headers={"Origin": live_app.url}
    ) as ws:
        with pytest.raises(websockets.ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd.code == 4401
    client = live_app.login(*DEMO_USER)
    headers = {"Cookie": live_app.cookie_header(client), "Origin": "https://evil.example"}
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(live_app.ws_url, additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403


def test_snapshot_api_is_the_polling_fallback(live_app):
    """/api/snapshot returns the snapshot for a logged-in user, 403 for anyone else."""
    assert httpx.get(f"{live_app.url}/api/snapshot").status_code == 403
    client = live_app.login(*DEMO_USER)
    data = client.get("/api/snapshot").json()
    assert data["type"] == "snapshot" and data["simulated"] is True and data["accounts"]


async def test_links_at_three_brokers_make_one_dashboard(live_app, live_sandbox):
    """The demo trader has tastytrade, Tradier and Alpaca links: one socket carries all six
    accounts, each labelled by broker; an Alpaca fill arrives as an order frame of the
    Alpaca link; quotes come from one source only (tastytrade: no Tradier market stream),
    and each broker credential has exactly one upstream session."""
    client = live_app.login(*DEMO_USER)
    headers = {"Cookie": live_app.cookie_header(client), "Origin": live_app.url}
    async with websockets.connect(live_app.ws_url, additional_headers=headers) as ws:
        assert json.loads(await ws.recv())["type"] == "hello"
        snapshot = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "subscribe", "symbols": ["SPY"]}))
        links = {link["broker"]: link for link in snapshot["links"]}
        assert set(links) == {"tastytrade", "tradier", "alpaca"}
        while not all(link["state"] == "live" for link in links.values()):
            frame = await frames_until(ws, lambda f: f["type"] == "status")
            links[frame["link"]["broker"]] = frame["link"]
        page = client.get("/api/snapshot").json()
        by_broker: dict[str, list[dict]] = {}
        for account in page["accounts"]:
            by_broker.setdefault(account["broker"], []).append(account)
        assert {b: len(a) for b, a in by_broker.items()} == {
            "tastytrade": 2,
            "tradier": 2,
            "alpaca": 2,
        }
        for broker, accounts in by_broker.items():
            for account in accounts:
                assert account["label"] == links[broker]["label"]
                assert account["balance"]["net_liquidating_value"] is not None

        control = live_sandbox.control()
        alpaca_account = by_broker["alpaca"][0]["number"]
        order = {
            "time-in-force": "Day",
            "order-type": "Market",
            "legs": [
                {
                    "instrument-type": "Equity",
                    "symbol": "AAPL",
                    "action": "Buy to Open",
                    "quantity": 3,
                }
            ],
        }
        control.place_order(alpaca_account, order)
        for _ in range(4):
            control.step()
        filled = await frames_until(
            ws,
            lambda f: (
                f["type"] == "order"
                and f["account"] == alpaca_account
                and f["order"]["status"] == "Filled"
            ),
        )
        assert filled["link"] == links["alpaca"]["id"]
        state = control.state()
        credentials = state["credentials"]
        tastytrade = credentials[credential_id("demo-refresh-token")]
        assert len(tastytrade["dxlink"]) == 1 and len(tastytrade["streamer"]) == 1
        assert len(credentials[credential_id("DEMOALPACAKEY")].get("alpaca-sse", [])) == 1
        assert state["totals"]["tradier_streams"] == 0  # quotes come from tastytrade only
        control.close()


def test_a_polling_tab_subscribes_its_extra_symbols(live_app):
    """`/api/snapshot?tab=…&symbols=…` is a polling tab's subscription: a symbol outside
    the watchlist and positions (XLE) gets streamed and its quote arrives in a later poll;
    a malformed tab id is a 400 with a message, never a dead page."""
    client = live_app.login(*DEMO_USER)
    first = client.get("/api/snapshot").json()
    assert "XLE" not in first["subscriptions"]
    params = {"tab": "poll-test-0001", "symbols": "XLE,not a symbol"}

    def xle_quote():
        data = client.get("/api/snapshot", params=params).json()
        quote = data["quotes"].get("XLE") or {}
        return data if quote.get("bid") is not None else None

    data = poll_until(xle_quote, within=15, what="XLE's quote in a poll")
    assert "XLE" in data["subscriptions"]
    refused = client.get("/api/snapshot", params={"tab": "x", "symbols": "XLE"})
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "tab must be 8 to 64 letters, digits, '-' or '_' (one id per page)",
        # every API error carries its sentence (docs/streaming-contract.md, "The JSON API")
        "message": "tab must be 8 to 64 letters, digits, '-' or '_' (one id per page).",
    }


def upstream_quotes(control) -> set[str]:
    """The symbols the demo trader's DXLink sessions subscribe quotes for, as the sandbox
    (the broker) sees them."""
    entry = control.state()["credentials"].get(credential_id("demo-refresh-token"), {})
    return {
        symbol
        for session in entry.get("dxlink", [])
        for channel in session["channels"].values()
        for symbol in channel["subscriptions"].get("Quote", [])
    }


async def test_a_symbol_subscribed_again_streams_again(live_app, live_sandbox):
    """Leaving a screen unsubscribes its symbols upstream; coming back subscribes them
    again, and their quotes flow again (and the quote carries a trade's `last`). XLU: no
    other test of this module's app wants it (the polling test's tab still wants XLE, and
    the upstream subscription is the union of every tab's symbols)."""
    client = live_app.login(*DEMO_USER)
    headers = {"Cookie": live_app.cookie_header(client), "Origin": live_app.url}
    control = live_sandbox.control()
    upstream = 15.0  # as long as a frame may take here (frames_until): one broker message

    def xlu(frame: dict) -> bool:
        return frame["type"] == "quotes" and frame["quotes"].get("XLU", {}).get("bid") is not None

    async with websockets.connect(live_app.ws_url, additional_headers=headers) as ws:
        await frames_until(ws, lambda f: f["type"] == "snapshot")
        await ws.send(json.dumps({"type": "subscribe", "symbols": ["XLU"]}))
        await frames_until(ws, xlu)
        assert "XLU" in upstream_quotes(control)
        await ws.send(json.dumps({"type": "unsubscribe", "symbols": ["XLU"]}))
        await frames_until(ws, lambda f: f["type"] == "subscribed" and "XLU" not in f["symbols"])
        await wait_until(
            lambda: "XLU" not in upstream_quotes(control), upstream, "XLU unsubscribed upstream"
        )
        await ws.send(json.dumps({"type": "subscribe", "symbols": ["XLU"]}))
        await frames_until(ws, lambda f: f["type"] == "subscribed" and "XLU" in f["symbols"])
        await wait_until(
            lambda: "XLU" in upstream_quotes(control), upstream, "XLU subscribed upstream again"
        )
        await frames_until(ws, xlu)

        def last_trade() -> float | None:
            quote = client.get("/api/snapshot", params={"symbols": "XLU"}).json()["quotes"]["XLU"]
            return quote.get("last")

        # the trade is a broker message of its own: it may come after the quote's bid
        assert await wait_until(last_trade, upstream, "XLU's last trade in the snapshot")
    control.close()


def test_daphne_runs_on_uvloop_as_deployed(live_app):
    """The server is started as deployed (`python -m config.serve`): its loop is uvloop's
    (streaming/runtime/loop.py; the library is mapped into the running process)."""
    with open(f"/proc/{live_app.pid}/maps") as maps:
        mapped = maps.read()
    assert "/uvloop/loop." in mapped
