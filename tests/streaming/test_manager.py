"""The per-user stream manager over a real adapter and the sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import orjson

from streaming import metrics
from streaming.brokers.tastytrade.adapter import StreamConfig, TastytradeAdapter
from streaming.contract.frames import ACCOUNT_FRAME_TYPES
from streaming.stream.listener import StreamListener
from streaming.stream.manager import LinkInfo, UserStreamManager
from tests.support.sdk import SECRET
from tests.support.wait import wait_until

#: Seconds a loaded box may add to a wait whose nominal length is known (the suite's
#: other workers share two cores with the SDK's queues and the manager's flusher).
LOADED_BOX = 18.0


class Published:
    """Collects what the manager publishes (frame dict and its one serialization)."""

    def __init__(self) -> None:
        self.frames: list[dict] = []
        self.texts: list[str] = []

    async def __call__(self, frame: dict, text: str) -> None:
        self.frames.append(frame)
        self.texts.append(text)

    def of(self, kind: str) -> list[dict]:
        return [f for f in self.frames if f["type"] == kind]


def manager_for(
    refresh_token: str,
    published: Published,
    flush: float = 0.2,
    listeners: Sequence[StreamListener] = (),
) -> UserStreamManager:
    adapter = TastytradeAdapter(
        link_id=7,
        provider_secret=SECRET,
        refresh_token=refresh_token,
        config=StreamConfig(watchdog_timeout=5, backoff_base=0.1, backoff_cap=0.5),
    )
    info = LinkInfo(7, "tastytrade", "sandbox link", simulated=True)
    return UserStreamManager(
        42, links=[(info, adapter)], publish=published, flush_interval=flush, listeners=listeners
    )


async def test_account_frames_are_numbered_and_quotes_conflated(
    broker_at_sandbox, control, refresh_token
):
    """Account frames carry seq 1, 2, 3… with no gap; quotes come as at most one batch per
    flush interval, each symbol once with its latest values, and far fewer frames than ticks."""
    control.configure(tick_rate=100)
    published = Published()
    manager = manager_for(refresh_token, published)
    await manager.start()
    try:
        manager.set_tab_symbols("tab-1", {"SPY", "QQQ", "AAPL"})
        assert await manager.wait_ready(within=10)
        await wait_until(lambda: len(published.of("quotes")) >= 10)
        ticks_before = control.state()["totals"]["ticks"]
        batches_before = len(published.of("quotes"))
        await asyncio.sleep(2.0)
        ticks = control.state()["totals"]["ticks"] - ticks_before
        batches = len(published.of("quotes")) - batches_before
    finally:
        await manager.stop()
    seqs = [f["seq"] for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES]
    assert seqs == list(range(1, len(seqs) + 1))
    assert batches <= 2.0 / 0.2 + 2
    assert ticks > 5 * batches  # many ticks, few frames: conflated
    last = published.of("quotes")[-1]
    assert set(last["quotes"]) <= {"SPY", "QQQ", "AAPL"} | set(manager.wanted_symbols())
    for frame, text in zip(published.frames, published.texts, strict=True):
        assert orjson.loads(text) == frame  # serialized once, faithfully
    assert all(f["simulated"] for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES)


async def test_snapshot_reflects_state_and_position_symbols_are_wanted(
    broker_at_sandbox, refresh_token
):
    """The snapshot carries both accounts with balances and positions; while a page shows
    the stream every position's symbol is subscribed even if no tab asked for it, and with
    no page (a stream watched for an alert) none is; null stays null."""
    published = Published()
    manager = manager_for(refresh_token, published)
    await manager.start()
    try:
        assert await manager.wait_ready(within=10)
        snapshot = manager.snapshot()
        position_symbols = {
            p["streamer_symbol"] for a in snapshot["accounts"] for p in a["positions"]
        }
        assert position_symbols and not manager.viewed
        assert not position_symbols & manager.wanted_symbols()  # no page: not streamed
        # a page rendered or read (not a tab) shows the stream for its hold, then not
        manager.shown_for(0.3)
        assert manager.viewed and position_symbols <= manager.wanted_symbols()
        await wait_until(lambda: (manager.expire_tabs(), not manager.viewed)[1], within=5)
        assert not position_symbols & manager.wanted_symbols()
        manager.set_tab_symbols("page", set())  # a page with no symbols of its own
        assert position_symbols <= manager.wanted_symbols()
        await wait_until(lambda: position_symbols <= manager.state.quotes.keys())
        snapshot = manager.snapshot()
    finally:
        await manager.stop()
    assert len(snapshot["accounts"]) == 2
    for account in snapshot["accounts"]:
        assert account["balance"]["net_liquidating_value"] > 0
        assert account["simulated"] is True
    assert snapshot["seq"] == max(
        f["seq"] for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES
    )
    assert snapshot["links"][0]["state"] == "live"  # taken while running
    assert position_symbols <= set(snapshot["subscriptions"])


async def test_tabs_union_and_status_frames(broker_at_sandbox, control, refresh_token):
    """Two tabs' symbols are unioned upstream; dropping a tab removes only its symbols;
    a broker drop is published as status reconnecting then live."""
    published = Published()
    manager = manager_for(refresh_token, published)
    await manager.start()
    try:
        await manager.wait_ready(within=10)
        manager.set_tab_symbols("a", {"SPY"})
        manager.set_tab_symbols("b", {"TSLA"})
        assert {"SPY", "TSLA"} <= manager.wanted_symbols()
        manager.drop_tab("b")
        held = manager.state.position_symbols()
        assert ("TSLA" in manager.wanted_symbols()) == ("TSLA" in held)  # positions stream
        await wait_until(lambda: manager.state.link_status[7]["state"] == "live")
        control.fault("drop", target="all")
        await wait_until(
            lambda: any(f["link"]["state"] == "reconnecting" for f in published.of("status"))
        )
        await wait_until(lambda: published.of("status")[-1]["link"]["state"] == "live")
    finally:
        await manager.stop()
    # one frame per change of any kind: collapse repeats of the overall state
    states = [f["link"]["state"] for f in published.of("status")]
    overall = [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]
    assert overall[:3] == ["connecting", "live", "reconnecting"]
    assert "live" in overall[3:]  # after reconnecting (and connecting) again
    assert manager.state.link_status[7]["state"] == "stopped"


def test_quote_merge_keeps_the_newest_time():
    """A Trade with an older trade time updates `last` but never makes a quote look older."""
    from streaming.stream.state import merge_values as _merge

    table: dict = {}
    _merge(table, "SPY", {"bid": 1.0, "ask": 1.1, "t": 2_000})
    _merge(table, "SPY", {"last": 1.05, "t": 1_000})
    assert table["SPY"] == {"bid": 1.0, "ask": 1.1, "last": 1.05, "t": 2_000}
    _merge(table, "SPY", {"bid": 1.01, "t": 3_000})
    assert table["SPY"]["t"] == 3_000 and table["SPY"]["bid"] == 1.01


async def test_one_quote_source_across_brokers_with_failover(
    broker_at_sandbox, control, refresh_token
):
    """A user with tastytrade and Tradier links gets quotes from one source only (the
    sandbox sees a DXLink subscription and no Tradier stream); when the tastytrade
    credential is revoked, its link goes to error and the Tradier link takes the symbols."""
    from django.conf import settings

    from sandbox.core.credentials import credential_id
    from streaming.brokers.tradier.adapter import TradierAdapter

    config = StreamConfig(watchdog_timeout=5, backoff_base=0.1, backoff_cap=0.5, rejected_retry=60)
    tasty = TastytradeAdapter(
        link_id=1, provider_secret=SECRET, refresh_token=refresh_token, config=config
    )
    tradier_token = f"tradier-{refresh_token}"
    tradier = TradierAdapter(
        link_id=2,
        access_token=tradier_token,
        api_url=settings.TRADIER_API_URL,
        stream_url=settings.TRADIER_STREAM_URL,
        config=config,
    )
    published = Published()
    manager = UserStreamManager(
        42,
        links=[
            (LinkInfo(1, "tastytrade", "tt", simulated=True), tasty),
            (LinkInfo(2, "tradier", "tr", simulated=True), tradier),
        ],
        publish=published,
        flush_interval=0.1,
    )
    await manager.start()
    try:
        manager.set_tab_symbols("tab", {"SPY", "QQQ"})
        assert await manager.wait_ready(within=15)
        assert manager.quote_source() == 1
        await wait_until(lambda: "QQQ" in manager.state.quotes)
        state = control.state()
        assert state["totals"]["dxlink_sessions"] == 1
        assert state["totals"]["tradier_streams"] == 0
        accounts = {a.link.broker for a in manager.state.accounts.values()}
        assert accounts == {"tastytrade", "tradier"}

        control.fault("revoke", credential=credential_id(refresh_token))
        control.fault("drop", target="all", credential=credential_id(refresh_token))
        await wait_until(lambda: manager.state.link_status[1]["state"] == "error", within=15)
        assert manager.quote_source() == 2
        await wait_until(lambda: control.state()["totals"]["tradier_streams"] == 1, within=15)
        before = manager.state.quotes.get("QQQ", {}).get("t", 0)
        await wait_until(lambda: manager.state.quotes.get("QQQ", {}).get("t", 0) > before)
    finally:
        await manager.stop()
        control.fault("revoke", credential=credential_id(refresh_token), revoked=False)


class _QuietAdapter:
    """An adapter that reports nothing by itself (the test reports for it)."""

    link_id = 1

    async def run(self, sink) -> None:
        await asyncio.Event().wait()

    def set_symbols(self, symbols: set[str]) -> None:
        pass

    def stopping(self) -> None:
        pass


async def _quiet_manager(published: Published, event_log) -> UserStreamManager:
    """A started manager of one quiet link whose account frames go through `event_log`."""
    manager = UserStreamManager(
        5,
        links=[(LinkInfo(1, "tastytrade", "t", simulated=True), _QuietAdapter())],
        publish=published,
        event_log=event_log,
    )
    await manager.start()
    return manager


async def test_account_frames_leave_in_seq_order_when_log_writes_race():
    """Two adapters report at once and the first event's log write is slow (Redis under
    load): the frames still go out as seq 1, 2, never 2 before 1 (a tab would see a gap
    the log cannot fill yet and resync)."""
    from streaming.cluster.eventlog import LocalEventLog

    class SlowFirstWrite(LocalEventLog):
        async def append(self, user_id: int, owner: str, position, text: str) -> None:
            if position.seq == 1:
                await asyncio.sleep(0.2)
            await super().append(user_id, owner, position, text)

    published = Published()
    manager = await _quiet_manager(published, SlowFirstWrite(100))
    try:
        order = {"id": 9, "status": "Live", "legs": []}
        await asyncio.gather(
            manager.account_event("balance", 1, "A1", {"net_liquidating_value": 1}),
            manager.account_event("order", 1, "A1", order),
        )
        await wait_until(
            lambda: len([f for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES]) == 2
        )
    finally:
        await manager.stop()
    assert [
        (f["type"], f["seq"]) for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES
    ] == [
        ("balance", 1),
        ("order", 2),
    ]


async def test_an_account_event_does_not_wait_for_the_previous_ones_log_write():
    """A pump hands a user's events over one after another. Each frame is written ahead
    to the log before it is published, but the next event is numbered and its write sent
    while the previous write is still in flight: under a burst one Redis round trip took
    15-45 ms, and a fill behind a balance waited for both (docs/performance.md). Frames
    still leave in seq order, each after its own write."""
    from streaming.cluster.eventlog import LocalEventLog

    release = asyncio.Event()
    started: list[int] = []

    class SlowFirstWrite(LocalEventLog):
        async def append(self, user_id: int, owner: str, position, text: str) -> None:
            started.append(position.seq)
            if position.seq == 1:
                await release.wait()
            await super().append(user_id, owner, position, text)

    published = Published()
    manager = await _quiet_manager(published, SlowFirstWrite(100))
    try:
        fill = {"id": 9, "status": "Filled", "legs": []}
        await asyncio.wait_for(
            manager.account_event("balance", 1, "A1", {"net_liquidating_value": 1}), 1
        )
        await asyncio.wait_for(manager.account_event("order", 1, "A1", fill), 1)
        await wait_until(lambda: started == [1, 2])
        assert [f for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES] == []
        release.set()
        await wait_until(
            lambda: len([f for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES]) == 2
        )
    finally:
        await manager.stop()
    assert [
        (f["type"], f["seq"]) for f in published.frames if f["type"] in ACCOUNT_FRAME_TYPES
    ] == [("balance", 1), ("order", 2)]


def stage_seen(kind: str, stage: str) -> tuple[float, float]:
    """(count, sum in seconds) of one account stage's latency histogram so far."""
    count = total = 0.0
    for family in metrics.ACCOUNT_STAGE_LATENCY.collect():
        for sample in family.samples:
            if sample.labels.get("kind") == kind and sample.labels.get("stage") == stage:
                if sample.name.endswith("_count"):
                    count = sample.value
                elif sample.name.endswith("_sum"):
                    total = sample.value
    return count, total


async def test_an_account_frames_stages_in_its_owner_are_timed_from_the_broker():
    """Where an account frame waits before its hand-over (docs/operations.md): `numbered`
    when the manager applies it, `logged` once its event-log write is done, each from the
    broker's `updated_at`. The write is held here: the logged age covers the hold."""
    from streaming.cluster.eventlog import LocalEventLog

    release = asyncio.Event()
    writing = asyncio.Event()

    class HeldWrite(LocalEventLog):
        async def append(self, user_id: int, owner: str, position, text: str) -> None:
            writing.set()
            await release.wait()
            await super().append(user_id, owner, position, text)

    published = Published()
    manager = await _quiet_manager(published, HeldWrite(100))
    numbered_before, logged_before = stage_seen("order", "numbered"), stage_seen("order", "logged")
    try:
        updated_at = int(time.time() * 1000) - 2000  # the broker filled it 2 s ago
        fill = {"id": 9, "status": "Filled", "legs": [], "updated_at": updated_at}
        await asyncio.wait_for(manager.account_event("order", 1, "A1", fill), 1)
        numbered_by = time.time()
        count, total = stage_seen("order", "numbered")
        assert count == numbered_before[0] + 1
        assert 2.0 <= total - numbered_before[1] <= numbered_by - updated_at / 1000
        await asyncio.wait_for(writing.wait(), 5)
        released_at = time.time()
        release.set()
        await wait_until(lambda: stage_seen("order", "logged")[0] == logged_before[0] + 1)
    finally:
        await manager.stop()
    logged_age = stage_seen("order", "logged")[1] - logged_before[1]
    assert logged_age >= released_at - updated_at / 1000


def latest_bid(published: Published) -> float | None:
    batches = [f for f in published.of("quotes") if "SPY" in f["quotes"]]
    return batches[-1]["quotes"]["SPY"].get("bid") if batches else None


async def test_a_stalled_publisher_holds_one_quote_batch_not_a_backlog():
    """Publishing stalls (Redis slow, the process busy) while ticks keep coming: the
    outbox holds at most one quote batch; once publishing resumes the next batch carries
    the newest values (latest wins), never a queue of old ones. Account frames all wait
    their turn, none dropped."""
    gate = asyncio.Event()
    published = Published()

    async def stalling(frame: dict, text: str) -> None:
        await gate.wait()
        await published(frame, text)

    manager = UserStreamManager(
        6,
        links=[(LinkInfo(1, "tastytrade", "t", simulated=True), _QuietAdapter())],
        publish=stalling,
        flush_interval=0.02,
    )
    await manager.start()
    try:
        manager.set_tab_symbols("tab-1", {"SPY"})
        for i in range(1, 51):
            manager.quote("SPY", {"bid": float(i), "t": i})
            await manager.account_event("balance", 1, "A1", {"net_liquidating_value": i})
            await asyncio.sleep(0.01)  # 50 ticks over ~25 flush intervals
        gate.set()
        await wait_until(lambda: latest_bid(published) == 50.0)
    finally:
        await manager.stop()
    # one batch in the publisher's hands when it stalled, one waiting, then the newest
    assert len(published.of("quotes")) <= 3
    assert [f["quotes"]["SPY"]["bid"] for f in published.of("quotes")][-1] == 50.0
    balances = [f["balance"]["net_liquidating_value"] for f in published.of("balance")]
    assert balances == list(range(1, 51))


def t_regressions(published: Published, group: str = "quotes") -> list[tuple[str, int, int]]:
    """(symbol, t before, t after) wherever a frame's entry carries an older `t` than an
    earlier frame's entry for the same symbol."""
    newest: dict[str, int] = {}
    found = []
    for frame in published.of("quotes"):
        for symbol, fields in frame[group].items():
            t = fields["t"]
            if t < newest.get(symbol, 0):
                found.append((symbol, newest[symbol], t))
            newest[symbol] = max(t, newest.get(symbol, 0))
    return found


async def test_a_quote_time_never_moves_backwards_across_batches(
    broker_at_sandbox, control, refresh_token
):
    """The sandbox sends Quote, Trade and Summary for every tick; the SDK queues each type
    apart, so a tick's Quote (t = now) and its Trade (t = the last *print*, often seconds
    older) can land in two flushes. The second entry must not carry the print's older `t`:
    the contract says a quote's `t` never moves backwards (the bench counted 4.3 % of
    entries as "t regressions")."""
    # 100 frames of 5 symbols: ~21 regressions expected at the bench's 4.3 % (a sample size,
    # not a liveness bound: 200 took over 20 s in a clean-clone CI on a starved box)
    frames, flush = 100, 0.01
    control.configure(tick_rate=400)  # a tick for every flush and more
    published = Published()
    manager = manager_for(refresh_token, published, flush=flush)
    await manager.start()
    try:
        manager.set_tab_symbols("tab-1", {"SPY", "QQQ", "AAPL", "MSFT", "IWM"})
        assert await manager.wait_ready(within=10)
        # one frame per flush at best, plus a loaded box's margin
        await wait_until(
            lambda: len(published.of("quotes")) >= frames, within=frames * flush + LOADED_BOX
        )
        control.configure(tick_rate=0)  # the market stops: what the manager knows goes out

        def last_sent_t() -> dict[str, int]:
            return {
                symbol: quote["t"]
                for f in published.of("quotes")
                for symbol, quote in f["quotes"].items()
            }

        # each symbol's newest `t` the manager knows reaches the tab (none is held back)
        await wait_until(
            lambda: last_sent_t() == {s: q["t"] for s, q in manager.state.quotes.items()},
            within=5,
        )
    finally:
        await manager.stop()
    entries = sum(len(f["quotes"]) for f in published.of("quotes"))
    assert entries >= frames
    assert t_regressions(published) == []


async def test_an_event_without_a_time_does_not_make_a_timed_quote_look_fresh():
    """A Summary has no event time. While the source times the symbol's quotes, the
    Summary keeps the quote's broker `t` (a receipt time would label a lagging bid as
    current and move `t` back with the next Quote); a source that sends no times at all
    is stamped with the receipt time on every event, so its quotes still age correctly.
    A Trade alone in a later batch carries the symbol's newest `t`, not its print's."""
    published = Published()
    manager = UserStreamManager(
        8,
        links=[(LinkInfo(1, "tastytrade", "t", simulated=True), _QuietAdapter())],
        publish=published,
        flush_interval=0.01,
    )
    await manager.start()
    try:
        manager.set_tab_symbols("tab-1", {"SPY", "XYZ"})
        manager.quote("SPY", {"bid": 1.0, "ask": 1.1, "t": 1_000})
        await wait_until(lambda: t_of(published, "SPY") == [1_000])
        manager.quote("SPY", {"day_high": 1.2})  # Summary: no time
        await wait_until(lambda: len(t_of(published, "SPY")) == 2)
        manager.quote("SPY", {"last": 1.05, "t": 900})  # Trade: an older print, next batch
        await wait_until(lambda: len(t_of(published, "SPY")) == 3)
        manager.quote("SPY", {"bid": 1.01, "t": 2_000})
        await wait_until(lambda: len(t_of(published, "SPY")) == 4)
        manager.quote("XYZ", {"bid": 5.0})
        await wait_until(lambda: len(t_of(published, "XYZ")) == 1)
        first = t_of(published, "XYZ")[0]
        await asyncio.sleep(0.01)
        manager.quote("XYZ", {"bid": 5.1})
        await wait_until(lambda: len(t_of(published, "XYZ")) == 2)
    finally:
        await manager.stop()
    assert t_of(published, "SPY") == [1_000, 1_000, 1_000, 2_000]
    assert manager.state.quotes["SPY"] == {
        "bid": 1.01,
        "ask": 1.1,
        "day_high": 1.2,
        "last": 1.05,
        "t": 2_000,
        "src": manager.quote_feed,
    }
    assert t_of(published, "XYZ")[1] > first  # receipt times, moving on


def t_of(published: Published, symbol: str) -> list[int]:
    return [f["quotes"][symbol]["t"] for f in published.of("quotes") if symbol in f["quotes"]]
