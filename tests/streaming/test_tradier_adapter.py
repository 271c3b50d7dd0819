"""The Tradier adapter against the sandbox's Tradier façade over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid

import pytest
from django.conf import settings

from sandbox.core.credentials import credential_id
from streaming.brokers.base import StreamConfig
from streaming.brokers.errors import BrokerHTTPError, CredentialRejected
from streaming.brokers.tradier.adapter import TradierAdapter
from streaming.brokers.tradier.client import TradierClient, fetch_account_numbers, rate_group
from streaming.brokers.tradier.fills import FillBook
from streaming.brokers.tradier.wire import order_payloads
from streaming.instruments.symbols import occ_parts, streamer_to_occ_symbol
from tests.support.brokers import TRADIER_FAST
from tests.support.recording import RecordingSink, running

FAST = TRADIER_FAST


@pytest.fixture
def token() -> str:
    return f"tradier-token-{uuid.uuid4().hex[:12]}"


def make_adapter(token: str, **config) -> TradierAdapter:
    return TradierAdapter(
        link_id=3,
        access_token=token,
        api_url=settings.TRADIER_API_URL,
        stream_url=settings.TRADIER_STREAM_URL,
        config=StreamConfig(**{**FAST, **config}),
    )


def entry(control, token: str) -> dict:
    return control.state()["credentials"][credential_id(token)]


def totals(control) -> dict:
    return control.state()["totals"]


def live_count(sink: RecordingSink, kind: str = "quotes") -> int:
    return sink.kind_states(kind).count("live")


def option_position(sink: RecordingSink) -> dict:
    positions = [p for k, _, _, ps in sink.events if k == "positions" for p in ps]
    return next(p for p in positions if p["instrument_type"] == "Equity Option")


async def test_snapshot_quotes_and_option_under_streamer_symbols(broker_at_sandbox, control, token):
    """connecting → snapshot (balance/positions in contract shape) → live; quotes for an
    equity and an option arrive under streamer symbols with all contract fields."""
    adapter = make_adapter(token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        assert sink.kind_states("account")[0] == "connecting"
        balances = [(a, p) for k, _, a, p in sink.events if k == "balance"]
        assert len(balances) == 2
        margin = next(p for _, p in balances if p["derivative_buying_power"] is not None)
        assert margin["net_liquidating_value"] > 0 and margin["buying_power"] > 0
        assert margin["short_equity_value"] > 0 and margin["day_trading_buying_power"] is None
        option = option_position(sink)
        assert option["streamer_symbol"].startswith(".") and option["multiplier"] == 100
        assert option["quantity"] > 0 and option["direction"] in ("Long", "Short")
        assert option["average_open_price"] > 0 and option["close_price"] is not None
        short = next(
            p
            for k, _, _, ps in sink.events
            if k == "positions"
            for p in ps
            if p["direction"] == "Short" and p["instrument_type"] == "Equity"
        )
        assert short["quantity"] > 0 and short["cost_effect"] == "Credit"

        adapter.set_symbols({"SPY", option["streamer_symbol"]})
        wanted = {"SPY", option["streamer_symbol"]}
        await sink.wait_for(
            lambda: all(
                {"bid", "ask", "t", "prev_close"} <= sink.quotes.get(s, {}).keys() for s in wanted
            )
        )
        await sink.wait_for(lambda: {"last", "volume"} <= sink.quotes["SPY"].keys())
        spy = sink.quotes["SPY"]
        assert spy["bid"] < spy["ask"] and isinstance(spy["t"], int)
        assert spy["t"] > (time.time() - 60) * 1000
        assert isinstance(spy["last"], float) and isinstance(spy["volume"], int)
        assert spy["day_low"] <= spy["day_high"]
        assert not any(s.startswith(("SPY2", "QQQ2")) for s in sink.quotes)  # no OCC keys
        assert adapter.quotes.bad_lines == 0


async def test_each_stream_uses_a_fresh_session_and_stale_ids_are_never_sent(
    broker_at_sandbox, control, token
):
    """The two-step session: one new session per stream start; after the TTL passed a
    symbol change creates another, and the sandbox never had to refuse a session id."""
    control.configure(tradier_session_ttl=1.0)
    adapter = make_adapter(token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "SPY" in sink.quotes)
        state = entry(control, token)
        assert state["sessions_created"] == 1 and state["streams_started"] == 1
        await asyncio.sleep(1.3)  # the first session id is stale now
        adapter.set_symbols({"SPY", "QQQ"})
        await sink.wait_for(lambda: "QQQ" in sink.quotes)
        state = entry(control, token)
        assert state["sessions_created"] == 2 and state["streams_started"] == 2
        assert state["sessions_rejected"] == 0
        streams = state["tradier-stream"]
        assert len(streams) == 1 and streams[0]["symbols"] == ["QQQ", "SPY"]
        count = sink.quote_counts["QQQ"]
        await sink.wait_for(lambda: sink.quote_counts["QQQ"] > count + 2)
        assert "reconnecting" not in sink.states


async def test_no_symbols_means_no_stream(broker_at_sandbox, control, token):
    """With nothing wanted the account side is live and quotes are idle: no stream is
    opened (never an empty list); symbols make quotes live, none make them idle again."""
    adapter = make_adapter(token)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        await asyncio.sleep(0.4)
        assert sink.state("quotes") == "idle"
        state = entry(control, token)
        assert state["sessions_created"] == 0 and state["tradier-stream"] == []
        adapter.set_symbols({"AAPL"})
        await sink.wait_for(lambda: "AAPL" in sink.quotes)
        assert sink.state("quotes") == "live"
        adapter.set_symbols(set())
        await sink.wait_for(lambda: entry(control, token)["tradier-stream"] == [])
        await sink.wait_for(lambda: sink.state("quotes") == "idle")
        assert entry(control, token)["sessions_created"] == 1


async def test_drop_reconnects_the_market_stream_only(broker_at_sandbox, control, token):
    """A dropped stream: quotes reconnecting, then live again with one stream left; the
    account side carries on untouched (no new snapshot, no account status)."""
    adapter = make_adapter(token, account_poll_interval=60)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "SPY" in sink.quotes and sink.state("account") == "live")
        snapshots = sum(1 for k, *_ in sink.events if k == "positions")
        account_statuses = len(sink.of_kind("account"))
        assert control.fault("drop", target="tradier-stream", credential=credential_id(token)) == {
            "affected": 1
        }
        await sink.wait_for(lambda: "reconnecting" in sink.kind_states("quotes"))
        assert "closed the market stream" in sink.reason("quotes", "reconnecting")
        await sink.wait_for(lambda: live_count(sink) >= 2)
        assert sum(1 for k, *_ in sink.events if k == "positions") == snapshots
        assert len(sink.of_kind("account")) == account_statuses
        count = sink.quote_counts["SPY"]
        await sink.wait_for(lambda: sink.quote_counts["SPY"] > count + 2)
        assert len(entry(control, token)["tradier-stream"]) == 1


async def test_429_with_retry_after_is_waited_out(broker_at_sandbox, control, token):
    """Two 429s with Retry-After on market data: the adapter waits, retries, and streams
    without ever reconnecting."""
    control.fault(
        "http_error", status=429, path_prefix="/tradier/v1/markets", count=2, retry_after=1
    )
    adapter = make_adapter(token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    started = time.monotonic()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "SPY" in sink.quotes)
        # the stream's session request got (at least) one of them: it waited 1 s (the
        # account snapshot's position quotes, running alongside, may have got the other)
        assert time.monotonic() - started >= 1.0
        assert "reconnecting" not in sink.states and "error" not in sink.states
        assert totals(control)["http_faults"] == 2


async def test_rate_window_is_respected_without_hitting_429(broker_at_sandbox, control, token):
    """A tiny standard limit: the pollers wait for X-Ratelimit-Expiry instead of running
    into the sandbox's 429, and balances keep flowing."""
    control.configure(tradier_rate_limit_standard=4, tradier_rate_window=1.0)
    adapter = make_adapter(token, account_poll_interval=0.1, order_poll_interval=0.1)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        await asyncio.sleep(2.5)
        assert totals(control).get("tradier_rate_limited", 0) == 0
        assert "reconnecting" not in sink.states
    rate = entry(control, token)["rate"]["standard"]
    assert rate["used"] <= 4


async def test_a_burst_before_the_first_answer_stays_within_the_window(
    broker_at_sandbox, control, token
):
    """Twelve concurrent calls on a new client with a window of 4: until the first answer
    says what the window is, one call is in flight; after it, no more are in flight
    than the window has left. None meets a 429."""
    control.configure(tradier_rate_limit_standard=4, tradier_rate_window=0.5)
    async with TradierClient(access_token=token, api_url=settings.TRADIER_API_URL) as client:
        answers = await asyncio.gather(*(client.get("/v1/user/profile") for _ in range(12)))
        assert all(a["profile"]["account"] for a in answers)
        assert client.retries_429 == 0
    assert totals(control).get("tradier_rate_limited", 0) == 0


async def test_a_burst_after_the_window_expired_counts_the_calls_in_flight(
    broker_at_sandbox, control, token
):
    """The window the client knows has expired: a new one begins, and calls in flight
    count against it (a stale `Available` or a first answer of the new window that
    forgets them would let the burst through to a 429)."""
    control.configure(tradier_rate_limit_standard=4, tradier_rate_window=0.5)
    async with TradierClient(access_token=token, api_url=settings.TRADIER_API_URL) as client:
        await client.get("/v1/user/profile")
        known = client.rate["standard"]
        assert known.expiry_ms is not None
        # the condition awaited is the wall clock passing the window's end
        while time.time() * 1000 <= known.expiry_ms:
            await asyncio.sleep(0.05)
        answers = await asyncio.gather(*(client.get("/v1/user/profile") for _ in range(12)))
        assert len(answers) == 12 and client.retries_429 == 0
    assert totals(control).get("tradier_rate_limited", 0) == 0


@pytest.mark.parametrize(
    ("method", "path", "group"),
    [
        ("POST", "/v1/accounts/VA1/orders", "trading"),  # place and preview
        ("PUT", "/v1/accounts/VA1/orders/42", "trading"),  # modify
        ("DELETE", "/v1/accounts/VA1/orders/42", "trading"),  # cancel
        ("GET", "/v1/accounts/VA1/orders", "standard"),
        ("GET", "/v1/accounts/VA1/orders/42", "standard"),
        ("GET", "/v1/user/profile", "standard"),
        ("POST", "/v1/markets/quotes", "market"),
    ],
)
def test_rate_groups_are_tradiers(method, path, group):
    """Modify and cancel are in the trade scope, as placing is: Tradier counts them in the
    trading window, so their answers' headers tell of that window."""
    assert rate_group(method, path) == group


async def test_cancels_between_reads_do_not_lead_the_reads_into_a_429(
    broker_at_sandbox, control, token
):
    """A cancel's answer carries the trading window's headers; booked as the standard
    window's, its room (50 here) let reads through that the standard window (3) refused."""
    control.configure(
        tradier_rate_limit_standard=3, tradier_rate_limit_trading=50, tradier_rate_window=5.0
    )
    async with TradierClient(access_token=token, api_url=settings.TRADIER_API_URL) as client:
        number_ = (await client.account_numbers())[0]
        with pytest.raises(BrokerHTTPError):  # no such order: refused, but counted
            await client.request("DELETE", f"/v1/accounts/{number_}/orders/1", max_retries=0)
        reads = [client.get(f"/v1/accounts/{number_}/balances") for _ in range(3)]
        with contextlib.suppress(TimeoutError):  # the window's last calls wait for its end
            await asyncio.wait_for(asyncio.gather(*reads), 1.0)
        assert client.retries_429 == 0
    assert totals(control).get("tradier_rate_limited", 0) == 0


async def test_balances_reads_leave_the_order_polls_their_room(broker_at_sandbox, control, token):
    """A standard window too small for every poll: the balances reads wait for the next
    window, and the order polls (how a fill or a triggered stop reaches the page: Tradier
    has no order push) never do."""
    window = 3.0
    control.configure(tradier_rate_limit_standard=24, tradier_rate_window=window)
    adapter = make_adapter(token, account_poll_interval=0.05, order_poll_interval=0.75)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        client = adapter.connection.client
        assert client is not None
        # two windows in which balances reads waited (the first is the snapshot's)
        await sink.wait_for(lambda: client.windows["standard"].waits >= 2, 3 * window + 5)
        assert client.windows["standard"].urgent_waits == 0
    assert totals(control).get("tradier_rate_limited", 0) == 0


async def test_chain_cache_serves_greeks_within_ttl(broker_at_sandbox, control, token):
    """Greeks come from the chain; two refreshes within the TTL cost one chain request,
    after the TTL a second one; iv falls back to smv_vol where mid_iv is 0."""
    adapter = make_adapter(token, chain_cache_ttl=1.5)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        option = option_position(sink)["streamer_symbol"]
        adapter.set_symbols({option})
        await sink.wait_for(lambda: option in sink.greek_values)
        greeks = sink.greek_values[option]
        assert -1 <= greeks["delta"] <= 1 and greeks["iv"] > 0 and greeks["price"] > 0
        assert isinstance(greeks["t"], int)
        assert totals(control)["tradier_chain_requests"] == 1
        assert await adapter.quotes.refresh_greeks(sink) == 1
        assert totals(control)["tradier_chain_requests"] == 1
        await asyncio.sleep(1.6)
        await sink.wait_for(lambda: totals(control)["tradier_chain_requests"] == 2, 3)
    root, expiration = occ_parts(streamer_to_occ_symbol(option))
    rows = await adapter.quotes.option_chain(root, expiration)
    assert rows and all("greeks" in r for r in rows)
    dates = await adapter.quotes.expirations("SPY")
    assert expiration in dates


async def test_order_fills_are_synthesized_once_with_deterministic_ids(
    broker_at_sandbox, control, token
):
    """An order placed over Tradier's REST fills over time; the adapter reports its fills
    with ids `order:cumulative`, never twice, and the same ids after a restart."""
    # only the test's steps fill the order: the sandbox's own stepping could fill two
    # chunks between two polls (e.g. while the adapter waits out Tradier's rate window)
    control.configure(order_step_interval=0)
    adapter = make_adapter(token)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        account = next(  # the margin account: it holds the option position
            a
            for k, _, a, ps in sink.events
            if k == "positions" and any(p["instrument_type"] == "Equity Option" for p in ps)
        )
        async with TradierClient(access_token=token, api_url=settings.TRADIER_API_URL) as c:
            placed = await c.post(
                f"/v1/accounts/{account}/orders",
                {"class": "equity", "symbol": "SPY", "side": "buy", "quantity": "120",
                 "type": "limit", "duration": "day", "price": "610"},
            )  # fmt: skip
        order_id = placed["order"]["id"]

        def order_frames() -> list[dict]:
            return [p for k, _, _, p in sink.events if k == "order" and p["id"] == order_id]

        def reported() -> float:
            frames = order_frames()
            return sum(f["quantity"] for f in frames[-1]["legs"][0]["fills"]) if frames else 0

        async with TradierClient(access_token=token, api_url=settings.TRADIER_API_URL) as c:
            for _ in range(6):
                control.step()  # one planned chunk fills per step
                at_broker = await c.get(f"/v1/accounts/{account}/orders/{order_id}")
                filled = float(at_broker["order"]["exec_quantity"])
                # the adapter reports each partial fill before the next one happens (a
                # poll that failed or waited must not let two chunks merge into one)
                await sink.wait_for(lambda: reported() == filled)  # noqa: B023

        await sink.wait_for(lambda: order_frames() and order_frames()[-1]["status"] == "Filled")
        final = order_frames()[-1]
        fills = final["legs"][0]["fills"]
        assert sum(f["quantity"] for f in fills) == 120
        assert len({f["id"] for f in fills}) == len(fills) >= 2  # a partial fill happened
        assert fills[-1]["id"] == f"{order_id}:120"
        assert all(f["price"] > 0 for f in fills)
        assert final["order_type"] == "Limit" and final["legs"][0]["action"] == "buy"
        await asyncio.sleep(0.5)
        assert order_frames()[-1] == final  # no further frames: nothing duplicated
        frames_before = len(order_frames())
        await asyncio.sleep(0.5)
        assert len(order_frames()) == frames_before
    restarted = make_adapter(token)
    sink2 = RecordingSink()
    async with running(restarted, sink2):
        await sink2.wait_for(
            lambda: any(k == "order" and p["id"] == order_id for k, _, _, p in sink2.events)
        )
    again = next(p for k, _, _, p in sink2.events if k == "order" and p["id"] == order_id)
    assert again["legs"][0]["fills"][-1]["id"] == f"{order_id}:120"
    assert sum(f["quantity"] for f in again["legs"][0]["fills"]) == 120


async def test_fetch_account_numbers_lists_the_profile(broker_at_sandbox, token):
    """The admin's verify call returns both sandbox accounts; a missing token is rejected."""
    numbers = await fetch_account_numbers({"access_token": token}, api_url=settings.TRADIER_API_URL)
    assert len(numbers) == 2 and all(n.startswith("5WT") for n in numbers)
    with pytest.raises(CredentialRejected):
        await fetch_account_numbers({}, api_url=settings.TRADIER_API_URL)


# -- per-kind independence, immediate refresh on fills, reused order ids, delayed data ------


async def test_failing_account_polls_go_stale_then_reconnect_while_quotes_stay_live(
    broker_at_sandbox, control, token
):
    """Every /v1/accounts request answers 500: the account kind is `stale` after the first
    failed round and `reconnecting` after three; quotes keep flowing from the stream the
    whole time; once the 500s stop the account side is live again."""
    adapter = make_adapter(token, account_poll_interval=0.3, order_poll_interval=0.2)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "SPY" in sink.quotes and sink.state("account") == "live")
        live = next(e for s, _, e in sink.of_kind("account") if s == "live")
        assert live["expect_every"] == 0.3
        control.fault("http_error", status=500, path_prefix="/tradier/v1/accounts", count=None)
        failed_at = time.monotonic()
        await sink.wait_for(lambda: "stale" in sink.kind_states("account"), 2)
        assert time.monotonic() - failed_at < 0.3 * 2.5
        assert "500" in sink.reason("account", "stale")
        await sink.wait_for(lambda: "reconnecting" in sink.kind_states("account"), 3)
        states = sink.kind_states("account")
        assert states.index("stale") < states.index("reconnecting")
        count = sink.quote_counts["SPY"]
        await sink.wait_for(lambda: sink.quote_counts["SPY"] > count + 5)
        assert sink.state("account") in ("reconnecting", "connecting")
        assert sink.state("quotes") == "live"
        assert "reconnecting" not in sink.kind_states("quotes")
        assert len(entry(control, token)["tradier-stream"]) == 1
        control.clear_faults()
        await sink.wait_for(lambda: sink.state("account") == "live", 5)
        fresh = sink.fresh_counts["account"]
        await sink.wait_for(lambda: sink.fresh_counts["account"] > fresh, 2)


async def test_a_fill_refreshes_positions_at_once(broker_at_sandbox, control, token):
    """With balances/positions polled only every 60 s, a filled order (seen by the 0.2 s
    order poll) re-reads them at once, for its own account: the new position appears long
    before the next regular poll (a quarter of its interval: the rest is a loaded box's
    margin)."""
    account_poll = 60.0
    at_once = account_poll / 4
    adapter = make_adapter(token, account_poll_interval=account_poll, order_poll_interval=0.2)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        account, held = next(
            (a, {p["symbol"]: p["quantity"] for p in ps})
            for k, _, a, ps in sink.events
            if k == "positions" and any(p["instrument_type"] == "Equity Option" for p in ps)
        )
        async with TradierClient(access_token=token, api_url=settings.TRADIER_API_URL) as c:
            placed = await c.post(
                f"/v1/accounts/{account}/orders",
                {"class": "equity", "symbol": "SPY", "side": "buy", "quantity": "120",
                 "type": "limit", "duration": "day", "price": "610"},
            )  # fmt: skip
        order_id = placed["order"]["id"]
        await sink.wait_for(
            lambda: any(k == "order" and p["id"] == order_id for k, _, _, p in sink.events)
        )
        polls = adapter.account.account_polls
        read_before = dict(adapter.account.balances_polled)
        for _ in range(8):
            control.step()
        filled_at = time.monotonic()
        await sink.wait_for(
            lambda: any(
                k == "order" and p["id"] == order_id and p["status"] == "Filled"
                for k, _, _, p in sink.events
            ),
            at_once,
        )

        def spy_after_fill() -> bool:
            return any(
                p["symbol"] == "SPY" and p["quantity"] == held.get("SPY", 0) + 120
                for k, _, a, ps in sink.events
                if k == "positions" and a == account
                for p in ps
            )

        await sink.wait_for(spy_after_fill, at_once)
        assert time.monotonic() - filled_at < at_once
        assert adapter.account.account_polls > polls
        # the fill's account only: Tradier's reads a minute are shared by every poll
        others = [a for a in read_before if a != account]
        assert others, "the sandbox token has more than one account"
        assert adapter.account.balances_polled[account] > read_before[account]
        assert all(adapter.account.balances_polled[a] == read_before[a] for a in others)


def test_a_reused_order_id_starts_a_new_fill_book():
    """A broker restart reuses an order id: the executed quantity goes back and the order is
    open again. Its old fills are forgotten, so new fills are not merged into them."""
    book = FillBook()
    first = {
        "id": 77, "status": "filled", "create_date": "2025-01-02T14:30:00.000Z",
        "transaction_date": "2025-01-02T14:31:00.000Z", "symbol": "SPY", "side": "buy",
        "quantity": 10, "exec_quantity": 10, "last_fill_price": 600.5,
        "last_fill_quantity": 10, "avg_fill_price": 600.5, "remaining_quantity": 0,
    }  # fmt: skip
    assert [f["id"] for f in order_payloads(first, book)[0]["legs"][0]["fills"]] == ["77:10"]
    reused = {
        **first, "status": "partially_filled", "create_date": "2025-01-03T14:30:00.000Z",
        "quantity": 20, "exec_quantity": 5, "last_fill_price": 601.0,
        "last_fill_quantity": 5, "avg_fill_price": 601.0, "remaining_quantity": 15,
    }  # fmt: skip
    fills = order_payloads(reused, book)[0]["legs"][0]["fills"]
    assert fills == [{"id": "77:5", "quantity": 5, "price": 601.0, "at": fills[0]["at"]}]
    assert book.resets == 1
    more = {**reused, "exec_quantity": 12, "last_fill_price": 602.0, "last_fill_quantity": 7}
    fills = order_payloads(more, book)[0]["legs"][0]["fills"]
    assert [(f["id"], f["quantity"]) for f in fills] == [("77:5", 5), ("77:12", 7)]
    # the same order seen again changes nothing
    assert order_payloads(more, book)[0]["legs"][0]["fills"] == fills and book.resets == 1


def test_tradier_paper_environment_is_delayed():
    """A link at sandbox.tradier.com reports its quotes delayed by 15 minutes; the
    production API does not."""
    paper = TradierAdapter(
        link_id=1,
        access_token="t",
        api_url="https://sandbox.tradier.com",
        stream_url="https://sandbox.tradier.com",
    )
    extra = paper._status_extra("quotes")
    assert extra["delayed"] is True and extra["delay_ms"] == 900_000
    live = TradierAdapter(
        link_id=1,
        access_token="t",
        api_url="https://api.tradier.com",
        stream_url="https://stream.tradier.com",
    )
    assert live._status_extra("quotes")["delayed"] is False


async def test_not_authorized_means_no_requests(broker_at_sandbox, control, token):
    """While the lease gate says no, not one request reaches the broker."""
    adapter = make_adapter(token)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    sink.allowed = False
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.authorize_calls >= 4, 5)  # both loops, asked twice
        assert credential_id(token) not in control.state()["credentials"]
        sink.allowed = True
        await sink.wait_for(lambda: "SPY" in sink.quotes and sink.state("account") == "live")
