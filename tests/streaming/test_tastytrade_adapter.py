"""The tastytrade adapter against the sandbox over real sockets, healthy and failing."""

from __future__ import annotations

import asyncio
import contextlib
import time

import anyio
import pytest
from tastytrade import AlertStreamer, DXLinkStreamer
from tastytrade.dxfeed import Quote

from streaming.brokers.tastytrade import streamers
from streaming.brokers.tastytrade.adapter import REFRESH_DEDUPE, StreamConfig, TastytradeAdapter
from streaming.brokers.tastytrade.streamers import latest_events
from tests.streaming.test_tastytrade_compact import feed, row_of
from tests.support.brokers import TASTYTRADE_FAST
from tests.support.recording import RecordingSink, running
from tests.support.sdk import SECRET, cred, sdk_session

FAST = TASTYTRADE_FAST


def make_adapter(refresh_token: str, **config) -> TastytradeAdapter:
    return TastytradeAdapter(
        link_id=1,
        provider_secret=SECRET,
        refresh_token=refresh_token,
        config=StreamConfig(**{**FAST, **config}),
    )


def live_count(sink: RecordingSink, kind: str = "quotes") -> int:
    return sink.kind_states(kind).count("live")


def both_live(sink: RecordingSink) -> bool:
    return sink.state("quotes") == "live" and sink.state("account") == "live"


async def dxlink_sessions(control, refresh_token: str) -> list[dict]:
    return control.state()["credentials"][cred(refresh_token)]["dxlink"]


async def test_snapshot_then_live_quotes_greeks_and_status(broker_at_sandbox, refresh_token):
    """Connecting reports connecting → live, a REST snapshot of both accounts, then quotes
    for the wanted symbols and greeks for option positions."""
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY", "AAPL"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: both_live(sink))
        assert sink.statuses[0][:2] == ("all", "connecting")
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
    """With 8 s tokens the adapter refreshes ahead of expiry and the stream, once live,
    never drops (a first connect that a loaded box answered late may retry before that:
    not what this test is about)."""
    control.configure(token_lifetime=8)
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: both_live(sink))
        live_from = len(sink.states)
        await sink.wait_for(
            lambda: control.state()["credentials"][cred(refresh_token)]["refreshes"] >= 3, 20
        )
        assert "reconnecting" not in sink.states[live_from:]
        assert adapter.token_expires_at is not None


async def test_broker_drop_reconnects_and_resubscribes(broker_at_sandbox, control, refresh_token):
    """A dropped DXLink socket: quotes reconnecting with the reason, then live again with
    the same subscriptions, and exactly one DXLink session left at the sandbox; the account
    side never noticed (no second snapshot, no account status)."""
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY", "QQQ"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: {"SPY", "QQQ"} <= sink.quotes.keys() and both_live(sink))
        snapshots = sum(1 for k, *_ in sink.events if k == "positions")
        account_statuses = len(sink.of_kind("account"))
        control.fault("drop", target="dxlink", credential=cred(refresh_token))
        await sink.wait_for(lambda: "reconnecting" in sink.kind_states("quotes"))
        assert "1011" in sink.reason("quotes", "reconnecting")
        await sink.wait_for(lambda: live_count(sink) >= 2)
        assert sum(1 for k, *_ in sink.events if k == "positions") == snapshots
        assert len(sink.of_kind("account")) == account_statuses
        before = dict(sink.quote_counts)
        await sink.wait_for(lambda: sink.quote_counts["QQQ"] > before["QQQ"] + 2)
        sessions = await dxlink_sessions(control, refresh_token)
        assert len(sessions) == 1
        assert sessions[0]["channels"]["7"]["subscriptions"]["Quote"] == ["QQQ", "SPY"]


async def test_revocation_while_streaming_is_reported(broker_at_sandbox, control, refresh_token):
    """A credential revoked mid-stream fails at the next token refresh: status error."""
    control.configure(token_lifetime=5)
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: both_live(sink))
        control.fault("revoke", credential=cred(refresh_token))
        await sink.wait_for(lambda: "error" in sink.states, 15)
    assert sink.state("quotes") == sink.state("account") == "error"
    assert "invalid_grant" in sink.reason("account", "error")


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


async def test_symbol_changes_while_one_is_applied_all_reach_the_broker(
    broker_at_sandbox, control, refresh_token
):
    """Changes in quick succession (the first still being sent to DXLink when the next
    come): the broker ends with the last set, and
    no task waits for changes in between (one is started per change)."""
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "SPY" in sink.quotes)
        assert not adapter.quotes._applying
        for wanted in ({"SPY", "AAPL"}, {"AAPL", "MSFT"}, {"QQQ", "MSFT", "IWM"}):
            adapter.set_symbols(wanted)

        def quote_subs():
            sessions = control.state()["credentials"][cred(refresh_token)]["dxlink"]
            return sessions[0]["channels"]["7"]["subscriptions"].get("Quote")

        await sink.wait_for(lambda: quote_subs() == ["IWM", "MSFT", "QQQ"])
        await sink.wait_for(lambda: {"IWM", "MSFT", "QQQ"} <= sink.quotes.keys())
        await sink.wait_for(lambda: not adapter.quotes._applying)


async def test_orders_and_fills_arrive_from_the_account_streamer(
    broker_at_sandbox, control, refresh_token
):
    """An order placed at the broker streams in as order events, then position and balance."""
    adapter = make_adapter(refresh_token)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")  # after the ack
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
    adapter = make_adapter(refresh_token, reconcile_interval=1.0, account_heartbeat_interval=30)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
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


async def test_a_fill_during_the_reconnect_snapshot_is_not_lost(
    broker_at_sandbox, control, refresh_token
):
    """After a drop the account side takes a REST snapshot and subscribes the streamer
    again: a fill between the two must still stream in (no wait for reconciliation)."""
    adapter = make_adapter(refresh_token, account_heartbeat_interval=30)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        accounts = sorted({a for k, _, a, _ in sink.events if k == "positions"})
        assert len(accounts) == 2, "the snapshot spans two accounts: a gap between them"
        # a slow REST API: the reconnect's snapshot takes seconds, account by account
        control.fault("delay", broker="tastytrade", seconds=0.5)
        seen = len(sink.events)
        control.fault("drop", target="streamer", credential=cred(refresh_token))
        # the reconnect has read the first account and the second one's positions; it is
        # reading the second one's orders (0.5 s) when the first account's order fills

        def snapshotted() -> list[str]:
            return [a for k, _, a, _ in sink.events[seen:] if k == "positions"]

        await sink.wait_for(lambda: len(snapshotted()) == 2)
        first = snapshotted()[0]
        order = {
            "time-in-force": "Day",
            "order-type": "Market",
            "legs": [
                {
                    "instrument-type": "Equity",
                    "symbol": "DIA",
                    "action": "Buy to Open",
                    "quantity": 2,
                }
            ],
        }
        order_id = control.place_order(first, order)["order"]["id"]
        for _ in range(3):
            control.step()
        control.fault("delay", broker="tastytrade", seconds=0)
        filled = await sink.wait_for(
            lambda: [
                p
                for k, _, _, p in sink.events
                if k == "order" and p["id"] == order_id and p["status"] == "Filled"
            ],
            within=10,
        )
        (leg,) = filled[-1]["legs"]
        assert leg["remaining_quantity"] == 0 and sum(f["quantity"] for f in leg["fills"]) == 2


# -- per-kind independence, account liveness, the lease gate, backoff ----------------------


def dxlink_ids(control, refresh_token: str) -> list[str]:
    return [s["id"] for s in control.state()["credentials"][cred(refresh_token)]["dxlink"]]


async def test_refused_account_streamer_keeps_quotes_flowing(
    broker_at_sandbox, control, refresh_token
):
    """The account streamer drops and then refuses every handshake: the account kind
    reconnects (again and again) while quotes keep arriving on the same DXLink socket."""
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "SPY" in sink.quotes and both_live(sink))
        dxlink = dxlink_ids(control, refresh_token)
        control.fault("refuse_sessions", target="streamer", status=503)
        control.fault("drop", target="streamer", credential=cred(refresh_token))
        await sink.wait_for(lambda: sink.kind_states("account").count("reconnecting") >= 2)
        assert sink.state("account") == "reconnecting"
        count = sink.quote_counts["SPY"]
        await sink.wait_for(lambda: sink.quote_counts["SPY"] > count + 5)
        assert sink.state("account") in ("reconnecting", "connecting")
        assert "reconnecting" not in sink.kind_states("quotes")
        assert sink.state("quotes") == "live"
        assert dxlink_ids(control, refresh_token) == dxlink  # DXLink was never restarted
        control.fault("refuse_sessions", target="streamer", status=0)
        await sink.wait_for(lambda: sink.state("account") == "live", 5)
        assert dxlink_ids(control, refresh_token) == dxlink


async def test_a_refused_access_token_heals_without_an_error(
    broker_at_sandbox, control, refresh_token
):
    """The account side's snapshot meets 401 `invalid_token` twice (an access token the
    broker no longer takes): not a rejected credential (streaming/brokers/errors.py), so
    the account kind reconnects with a fresh token and goes live; never `error`, and
    quotes never notice."""
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: both_live(sink) and "SPY" in sink.quotes)
        await asyncio.sleep(REFRESH_DEDUPE)  # the login's token is no longer "just taken"
        refreshes = control.state()["credentials"][cred(refresh_token)]["refreshes"]
        control.fault("http_error", status=401, path_prefix="/customers", count=2)
        control.fault("drop", target="streamer", credential=cred(refresh_token))
        await sink.wait_for(
            lambda: any(
                s == "reconnecting" and "invalid_token" in r for s, r, _ in sink.of_kind("account")
            )
        )
        await sink.wait_for(lambda: live_count(sink, "account") >= 2, 5)
        assert "error" not in sink.states
        assert "reconnecting" not in sink.kind_states("quotes")
        # each reconnect took a fresh access token first
        assert control.state()["credentials"][cred(refresh_token)]["refreshes"] > refreshes


async def test_silent_account_streamer_is_stale_within_bound_quotes_stay_live(
    broker_at_sandbox, control, refresh_token
):
    """Heartbeats every 0.3 s; a silenced account streamer is `stale` within ~2.5
    intervals, then reconnected (account side only) and live again; quotes stay live."""
    interval = 0.3
    adapter = make_adapter(refresh_token, account_heartbeat_interval=interval)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: both_live(sink) and "SPY" in sink.quotes)
        await sink.wait_for(lambda: sink.fresh_counts["account"] >= 3)  # heartbeats acked
        live = next(e for s, _, e in sink.of_kind("account") if s == "live")
        assert live["expect_every"] == interval
        dxlink = dxlink_ids(control, refresh_token)
        control.fault("silence", target="streamer", credential=cred(refresh_token))
        silenced = time.monotonic()
        await sink.wait_for(lambda: sink.state("account") == "stale", 3)
        assert time.monotonic() - silenced < interval * 2.5 + 1.0
        assert "heartbeat" in sink.reason("account", "stale")
        assert sink.state("quotes") == "live"
        await sink.wait_for(lambda: live_count(sink, "account") >= 2, 5)
        count = sink.quote_counts["SPY"]
        await sink.wait_for(lambda: sink.quote_counts["SPY"] > count + 2)
        assert "reconnecting" not in sink.kind_states("quotes")
        assert dxlink_ids(control, refresh_token) == dxlink


async def test_not_authorized_means_no_upstream_io(broker_at_sandbox, control, refresh_token):
    """While the lease gate says no, the adapter neither logs in nor connects; once it
    says yes, the link comes up."""
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    sink.allowed = False
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.authorize_calls >= 2, 5)
        assert cred(refresh_token) not in control.state()["credentials"]  # never contacted
        assert "live" not in sink.states
        sink.allowed = True
        await sink.wait_for(lambda: both_live(sink) and "SPY" in sink.quotes, 10)


async def test_one_flap_after_a_stable_run_reconnects_at_once(
    broker_at_sandbox, control, refresh_token
):
    """Several refused DXLink handshakes run the backoff up; after the feed was live for
    `stable_after`, one drop costs at most `backoff_base` again (not the cap)."""
    backoff_cap = 30.0
    adapter = make_adapter(
        refresh_token, backoff_base=0.1, backoff_cap=backoff_cap, stable_after=0.5
    )
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    control.fault("refuse_sessions", target="dxlink", status=503)
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.kind_states("quotes").count("reconnecting") >= 4, 10)
        delays = [e["retry_in"] for s, _, e in sink.of_kind("quotes") if s == "reconnecting"]
        assert delays[3] > delays[0]  # it did back off
        control.fault("refuse_sessions", target="dxlink", status=0)
        await sink.wait_for(lambda: sink.state("quotes") == "live", 10)
        live_at = time.monotonic()
        await sink.wait_for(lambda: time.monotonic() - live_at > 0.6 and sink.quotes)
        before = len(sink.of_kind("quotes"))
        control.fault("drop", target="dxlink", credential=cred(refresh_token))
        dropped = time.monotonic()
        await sink.wait_for(lambda: len(sink.of_kind("quotes")) > before)
        state, _, extra = sink.of_kind("quotes")[before]
        assert state == "reconnecting" and extra["retry_in"] <= 0.1
        count = sink.quote_counts["SPY"]
        # back long before a wait at the cap could have ended (a quarter of it: the rest is
        # the margin for a loaded box's handshake)
        await sink.wait_for(lambda: sink.quote_counts["SPY"] > count, backoff_cap / 4)
        assert time.monotonic() - dropped < backoff_cap / 4


async def test_a_lagging_reader_takes_only_the_newest_quote_per_symbol(
    sandbox, control, refresh_token
):
    """The pumps fall behind DXLink (a busy process): what queued up in the SDK is taken
    at once and collapses into the newest quote per symbol; the queue does not grow with
    the lag, and the work per batch is per symbol, not per queued tick."""
    control.configure(tick_rate=200)
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as dx:
        await dx.subscribe(Quote, ["SPY", "QQQ"])
        queued = dx._recv[Quote]  # the SDK's queue: only looked at, to know it filled up
        with anyio.fail_after(10):
            while queued.statistics().current_buffer_used < 100:
                await asyncio.sleep(0.02)
        batch = await latest_events(dx, Quote)
        left = queued.statistics().current_buffer_used
        later = [await dx.get_event(Quote) for _ in range(20)]
    assert sorted(q.event_symbol for q in batch) == ["QQQ", "SPY"]
    assert left == 0  # all of the backlog taken, two events kept
    for quote in batch:  # the newest of each symbol: the next one is later
        following = next(q for q in later if q.event_symbol == quote.event_symbol)
        assert following.sequence > quote.sequence


class BatchSink(RecordingSink):
    """Records each quote/greeks call with the batch it came in: a batch is what the
    pump hands over without yielding to the event loop (a callback scheduled at the
    first call of a batch runs only when the pump yields)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[int, str, str, dict]] = []
        self.batch = 0
        self._open = False

    def _record(self, kind: str, symbol: str, fields: dict) -> None:
        if not self._open:
            self._open = True
            asyncio.get_running_loop().call_soon(self._close)
        self.calls.append((self.batch, kind, symbol, fields))

    def _close(self) -> None:
        self._open = False
        self.batch += 1

    def quote(self, symbol: str, fields: dict) -> None:
        self._record("quote", symbol, fields)
        super().quote(symbol, fields)

    def greeks(self, symbol: str, fields: dict) -> None:
        self._record("greeks", symbol, fields)
        super().greeks(symbol, fields)


async def pumped(dx, sink: BatchSink, count: int) -> None:
    """Run the adapter's one market pump until the sink had `count` calls."""
    adapter = make_adapter("unused")
    task = asyncio.create_task(adapter.quotes._pump_market(dx, sink))
    try:
        await sink.wait_for(lambda: len(sink.calls) >= count, 5)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_ticks_quote_trade_and_summary_reach_the_sink_in_dxlink_order_in_one_batch():
    """DXLink sends a tick's Quote, Trade and Summary as three messages: one pump hands
    them to the manager in that order and in one batch (a pump per type split them over
    batches and reordered them: the manager's `t` and the frames showed it)."""
    now = int(time.time() * 1000)
    dx = streamers.CompactDXLinkStreamer(None)
    feed(dx, "Quote", row_of("Quote", "SPY", bid_price=1.5, ask_price=1.75, bid_time=now))
    feed(dx, "Trade", row_of("Trade", "SPY", price=1.625, time=now - 5))
    feed(dx, "Summary", row_of("Summary", "SPY", day_high_price=2.5))
    feed(dx, "Greeks", row_of("Greeks", ".SPY270115C590", delta=0.5, time=now))
    feed(dx, "Quote", row_of("Quote", "QQQ", bid_price=3.0, ask_price=3.5, bid_time=now))
    sink = BatchSink()
    await pumped(dx, sink, 5)
    assert [(k, s, next(n for n in f if n != "t")) for _, k, s, f in sink.calls] == [
        ("quote", "SPY", "bid"),
        ("quote", "SPY", "last"),
        ("quote", "SPY", "day_high"),
        ("greeks", ".SPY270115C590", "price"),
        ("quote", "QQQ", "bid"),
    ]
    assert {batch for batch, *_ in sink.calls} == {0}


async def test_the_one_pump_keeps_only_the_newest_event_per_type_and_symbol():
    """Behind the feed, the queued backlog collapses into the newest event of each type
    per symbol, in the order of those newest events (latest-wins, as per type before)."""
    dx = streamers.CompactDXLinkStreamer(None)
    feed(dx, "Quote", row_of("Quote", "SPY", bid_price=1.0), row_of("Quote", "SPY", bid_price=2.0))
    feed(dx, "Trade", row_of("Trade", "SPY", price=2.5))
    feed(dx, "Quote", row_of("Quote", "SPY", bid_price=3.0), row_of("Quote", "QQQ", bid_price=9.0))
    sink = BatchSink()
    await pumped(dx, sink, 3)
    await asyncio.sleep(0.05)  # nothing else comes: the older SPY quotes were dropped
    assert [(s, f.get("bid", f.get("last"))) for _, _, s, f in sink.calls] == [
        ("SPY", 2.5),
        ("SPY", 3.0),
        ("QQQ", 9.0),
    ]


@pytest.mark.parametrize("streamer", ["compact", "plain"])
async def test_every_quote_type_and_greeks_stream_with_either_streamer(
    broker_at_sandbox, refresh_token, monkeypatch, streamer
):
    """The one pump (the compact streamer) and, for an SDK without the private hook, the
    plain streamer with a pump per type: Quote, Trade, Summary and Greeks all arrive."""
    if streamer == "plain":
        monkeypatch.setattr(streamers, "STREAMER", DXLinkStreamer)
    adapter = make_adapter(refresh_token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: both_live(sink))
        positions = [p for k, _, _, ps in sink.events if k == "positions" for p in ps]
        option = next(
            p["streamer_symbol"] for p in positions if p["instrument_type"] == "Equity Option"
        )
        adapter.set_symbols({"SPY", option})
        await sink.wait_for(
            lambda: (
                {"bid", "last", "prev_close"} <= sink.quotes.get("SPY", {}).keys()
                and "delta" in sink.greek_values.get(option, {})
            )
        )
        assert type(adapter.connection.dx) is streamers.STREAMER


@pytest.mark.parametrize("streamer", ["queued", "plain"])
async def test_a_fills_order_position_and_balance_reach_the_sink_in_the_streamers_order(
    broker_at_sandbox, control, refresh_token, monkeypatch, streamer
):
    """A fill is pushed as Order, CurrentPosition, AccountBalance (the sandbox, like the
    broker, in that order): the one account pump hands them on in that order. With an
    SDK whose private hook is not as known (`plain`: a pump per type) they still arrive."""
    if streamer == "plain":
        monkeypatch.setattr(streamers, "ALERT_STREAMER", AlertStreamer)
    adapter = make_adapter(refresh_token)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
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

        def filled_then_position_then_balance():
            kinds = [k for k, _, _, _ in sink.events]
            filled = next(
                (
                    i
                    for i, (k, _, _, p) in enumerate(sink.events)
                    if k == "order" and p["id"] == order_id and p["status"] == "Filled"
                ),
                None,
            )
            if filled is None or "balance" not in kinds[filled:]:
                return None
            return kinds[filled : filled + 3]

        seen = await sink.wait_for(filled_then_position_then_balance)
        assert type(adapter) is TastytradeAdapter
        if streamer == "queued":
            assert seen == ["order", "position", "balance"]
