"""The tastytrade adapter against the sandbox over real sockets, healthy and failing."""

from __future__ import annotations

import asyncio

from streaming.brokers.tastytrade import StreamConfig, TastytradeAdapter
from tests.support.recording import RecordingSink, running
from tests.support.sdk import SECRET, cred

FAST = dict(
    handshake_timeout=5,
    watchdog_timeout=2.0,
    reconcile_interval=60,
    backoff_base=0.1,
    backoff_cap=0.5,
    rejected_retry=60,
)


def make_adapter(refresh_token: str, **config) -> TastytradeAdapter:
    return TastytradeAdapter(
        link_id=1,
        provider_secret=SECRET,
        refresh_token=refresh_token,
        config=StreamConfig(**{**FAST, **config}),
    )


def live_count(sink: RecordingSink) -> int:
    return sink.states.count("live")


async def dxlink_sessions(control, refresh_token: str) -> list[dict]:
    return control.state()["credentials"][cred(refresh_token)]["dxlink"]


async def test_snapshot_then_live_quotes_greeks_and_status(broker_at_sandbox, refresh_token):
    """Connecting reports connecting → live, a REST snapshot of both accounts, then quotes
    for the wanted symbols and greeks for option positions."""
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY", "AAPL"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "live" in sink.states)
        assert sink.states[0] == "connecting"
        kinds = [(k, a) for k, _, a, _ in sink.events]
        accounts = {a for k, a in kinds if k == "positions"}
        assert len(accounts) == 2 and {a for k, a in kinds if k == "balance"} == accounts
        await sink.wait_for(
            lambda: all({"bid", "last"} <= sink.quotes.get(s, {}).keys() for s in ("SPY", "AAPL"))
        )  # Quote (bid/ask) and Trade (last) events arrive independently
        quote = sink.quotes["SPY"]
        assert quote["bid"] < quote["ask"] and quote["last"] is not None
        positions = [p for k, _, _, ps in sink.events if k == "positions" for p in ps]
        options = {
            p["streamer_symbol"] for p in positions if p["instrument_type"] == "Equity Option"
        }
        assert options, "the demo account holds an option"
        adapter.set_symbols({"SPY", *options})
        await sink.wait_for(lambda: options <= sink.greek_values.keys())
        for symbol in options:
            assert -1 <= sink.greek_values[symbol]["delta"] <= 1


async def test_short_token_lifetime_is_refreshed_before_expiry(
    broker_at_sandbox, control, refresh_token
):
    """With 8 s tokens the adapter refreshes ahead of expiry and the stream never drops."""
    control.configure(token_lifetime=8)
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "live" in sink.states)
        await sink.wait_for(
            lambda: control.state()["credentials"][cred(refresh_token)]["refreshes"] >= 3, 20
        )
        assert "reconnecting" not in sink.states
        assert adapter.token_expires_at is not None


async def test_broker_drop_reconnects_and_resubscribes(broker_at_sandbox, control, refresh_token):
    """A dropped DXLink socket: reconnecting with the reason, then live again with the same
    subscriptions, and exactly one DXLink session left at the sandbox."""
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY", "QQQ"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: {"SPY", "QQQ"} <= sink.quotes.keys())
        control.fault("drop", target="dxlink", credential=cred(refresh_token))
        await sink.wait_for(lambda: "reconnecting" in sink.states)
        reason = next(r for s, r, _ in sink.statuses if s == "reconnecting")
        assert "1011" in reason
        await sink.wait_for(lambda: live_count(sink) >= 2)
        before = dict(sink.quote_counts)
        await sink.wait_for(lambda: sink.quote_counts["QQQ"] > before["QQQ"] + 2)
        sessions = await dxlink_sessions(control, refresh_token)
        assert len(sessions) == 1
        assert sessions[0]["channels"]["7"]["subscriptions"]["Quote"] == ["QQQ", "SPY"]


async def test_silent_broker_is_caught_by_the_watchdog(broker_at_sandbox, control, refresh_token):
    """A DXLink that goes quiet without closing is abandoned after the watchdog timeout."""
    adapter = make_adapter(refresh_token, watchdog_timeout=1.5)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "SPY" in sink.quotes)
        control.fault("silence", target="dxlink", credential=cred(refresh_token))
        await sink.wait_for(lambda: "reconnecting" in sink.states)
        assert "watchdog" in next(r for s, r, _ in sink.statuses if s == "reconnecting")
        await sink.wait_for(lambda: live_count(sink) >= 2)
        count = sink.quote_counts["SPY"]
        await sink.wait_for(lambda: sink.quote_counts["SPY"] > count)
        # the silent socket was closed by the client, not leaked
        await sink.wait_for(
            lambda: len(control.state()["credentials"][cred(refresh_token)]["dxlink"]) == 1
        )


async def test_revoked_credential_is_an_error_not_a_retry_storm(
    broker_at_sandbox, control, refresh_token
):
    """401 on refresh (revoked) → status error with the broker's reason; no hammering."""
    control.fault("revoke", credential=cred(refresh_token))
    adapter = make_adapter(refresh_token)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "error" in sink.states)
        await asyncio.sleep(1.0)
    state, reason, _ = sink.statuses[-1]
    assert state == "error" and "invalid_grant" in reason
    assert sink.states.count("connecting") == 1


async def test_revocation_while_streaming_is_reported(broker_at_sandbox, control, refresh_token):
    """A credential revoked mid-stream fails at the next token refresh: status error."""
    control.configure(token_lifetime=5)
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "live" in sink.states)
        control.fault("revoke", credential=cred(refresh_token))
        await sink.wait_for(lambda: "error" in sink.states, 15)
    assert "invalid_grant" in next(r for s, r, _ in sink.statuses if s == "error")


async def test_symbol_changes_reach_the_broker(broker_at_sandbox, control, refresh_token):
    """Adding and removing symbols diffs the DXLink subscriptions."""
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY", "AAPL"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: {"SPY", "AAPL"} <= sink.quotes.keys())
        adapter.set_symbols({"SPY", "MSFT"})
        await sink.wait_for(lambda: "MSFT" in sink.quotes)

        def quote_subs():
            sessions = control.state()["credentials"][cred(refresh_token)]["dxlink"]
            return sessions[0]["channels"]["7"]["subscriptions"].get("Quote")

        await sink.wait_for(lambda: quote_subs() == ["MSFT", "SPY"])


async def test_orders_and_fills_arrive_from_the_account_streamer(
    broker_at_sandbox, control, refresh_token
):
    """An order placed at the broker streams in as order events, then position and balance."""
    adapter = make_adapter(refresh_token)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "live" in sink.states)
        await asyncio.sleep(0.3)  # the streamer subscription is acked before "live"
        account = next(a for k, _, a, _ in sink.events if k == "positions")
        order = {
            "time-in-force": "Day",
            "order-type": "Market",
            "legs": [
                {
                    "instrument-type": "Equity",
                    "symbol": "AMD",
                    "action": "Buy to Open",
                    "quantity": 3,
                }
            ],
        }
        order_id = control.place_order(account, order)["order"]["id"]
        for _ in range(3):
            control.step()
        await sink.wait_for(
            lambda: any(
                k == "order" and p["id"] == order_id and p["status"] == "Filled"
                for k, _, _, p in sink.events
            )
        )
        statuses = [
            p["status"] for k, _, _, p in sink.events if k == "order" and p["id"] == order_id
        ]
        assert statuses[0] == "Received" and statuses[-1] == "Filled"
        await sink.wait_for(
            lambda: any(k == "position" and p["symbol"] == "AMD" for k, _, _, p in sink.events)
        )


async def test_reconciliation_catches_what_the_stream_missed(
    broker_at_sandbox, control, refresh_token
):
    """With the account streamer silenced, REST reconciliation still delivers the fill."""
    adapter = make_adapter(refresh_token, reconcile_interval=1.0)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "live" in sink.states)
        await asyncio.sleep(0.3)
        account = next(a for k, _, a, _ in sink.events if k == "positions")
        control.fault("silence", target="streamer", credential=cred(refresh_token))
        order = {
            "time-in-force": "Day",
            "order-type": "Market",
            "legs": [
                {
                    "instrument-type": "Equity",
                    "symbol": "IWM",
                    "action": "Buy to Open",
                    "quantity": 4,
                }
            ],
        }
        control.place_order(account, order)
        for _ in range(3):
            control.step()

        def reconciled_positions():
            return [
                p
                for k, _, a, ps in sink.events
                if k == "positions" and a == account
                for p in ps
                if p["symbol"] == "IWM"
            ]

        positions = await sink.wait_for(reconciled_positions, 10)
        assert positions[-1]["quantity"] >= 4
