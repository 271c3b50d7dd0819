"""The quote feed: batches carry what changed, every value says which feed it came from,
a silent feed is stale fast (by its own cadence), and the quotes fail back to the preferred
link once it delivers again (docs/streaming-contract.md, "Staleness" and "Quote source")."""

from __future__ import annotations

import asyncio
import time

import pytest

from streaming.brokers.tastytrade.adapter import StreamConfig, TastytradeAdapter
from streaming.brokers.values import now_ms
from streaming.stream import health
from streaming.stream.flusher import SWEEP_EVERY
from streaming.stream.health import (
    QUOTE_STALE_FLOOR,
    LinkHealth,
    QuoteCadence,
    QuoteWaits,
    render_status,
    visible,
)
from streaming.stream.manager import LinkInfo, UserStreamManager
from tests.streaming.test_manager import Published, _QuietAdapter
from tests.support.sdk import SECRET
from tests.support.wait import wait_until

#: The manager sweeps staleness once a second and flushes a batch per interval: what a
#: verdict may take beyond its threshold (a loaded box: twice that).
SWEEP_MARGIN = 2.5


def quiet_manager(published: Published, **kwargs) -> UserStreamManager:
    return UserStreamManager(
        9,
        links=[(LinkInfo(1, "tastytrade", "t", simulated=True), _QuietAdapter())],
        publish=published,
        flush_interval=0.01,
        **kwargs,
    )


def entries(published: Published, symbol: str, kind: str = "quotes") -> list[dict]:
    return [f[kind][symbol] for f in published.of("quotes") if symbol in f[kind]]


async def test_a_batch_entry_carries_what_changed_and_the_newest_time():
    """An unchanged day high or previous close is not sent again with every tick; the
    same values again are not sent at all; each entry still carries the symbol's `t`."""
    published = Published()
    manager = quiet_manager(published)
    await manager.start()
    try:
        manager.set_tab_symbols("tab", {"SPY"})
        await manager.status(1, "live", kind="all")
        manager.quote("SPY", {"bid": 1.0, "ask": 1.1, "day_high": 2.0, "t": 1_000})
        await wait_until(lambda: len(entries(published, "SPY")) == 1)
        manager.quote("SPY", {"bid": 1.0, "ask": 1.2, "day_high": 2.0, "t": 2_000})
        await wait_until(lambda: len(entries(published, "SPY")) == 2)
        manager.quote("SPY", {"bid": 1.0, "ask": 1.2, "day_high": 2.0, "t": 2_000})
        manager.quote("SPY", {"bid": 1.1, "t": 2_000})
        await wait_until(lambda: len(entries(published, "SPY")) == 3)
        manager.greeks("SPY", {"delta": 0.5, "theta": -0.1, "t": 2_000})
        await wait_until(lambda: len(entries(published, "SPY", "greeks")) == 1)
        manager.greeks("SPY", {"delta": 0.5, "theta": -0.2, "t": 3_000})
        await wait_until(lambda: len(entries(published, "SPY", "greeks")) == 2)
    finally:
        await manager.stop()
    feed = manager.quote_feed
    first, second, third = entries(published, "SPY")
    assert first == {"bid": 1.0, "ask": 1.1, "day_high": 2.0, "t": 1_000, "src": feed}
    assert second == {"ask": 1.2, "t": 2_000}
    assert third == {"bid": 1.1, "t": 2_000}  # the identical re-send made no entry
    assert entries(published, "SPY", "greeks")[1] == {"theta": -0.2, "t": 3_000}
    assert manager.state.quotes["SPY"] == {
        "bid": 1.1,
        "ask": 1.2,
        "day_high": 2.0,
        "t": 2_000,
        "src": feed,
    }


async def test_a_symbol_a_tab_asks_for_goes_out_whole():
    """Batches carry only changes, so a symbol a tab starts to want (a tab in another
    process has nothing of it) goes out with all its known values in the next batch."""
    published = Published()
    manager = quiet_manager(published)
    await manager.start()
    try:
        manager.set_tab_symbols("a", {"SPY"})
        await manager.status(1, "live", kind="all")
        manager.quote("SPY", {"bid": 1.0, "ask": 1.1, "prev_close": 0.9, "t": 1_000})
        manager.greeks("SPY", {"delta": 0.5, "t": 1_000})
        await wait_until(lambda: len(entries(published, "SPY")) == 1)
        manager.set_tab_symbols("b", {"SPY"})
        await wait_until(lambda: len(entries(published, "SPY")) == 2)
    finally:
        await manager.stop()
    assert entries(published, "SPY")[-1] == manager.state.quotes["SPY"]
    assert entries(published, "SPY", "greeks")[-1] == manager.state.greeks["SPY"]


async def test_the_feed_changes_when_the_source_comes_back_after_a_drop():
    """Values carry the feed they came from; a reconnected source is a new feed, so a
    value it has not sent again is known stale (the page compares `src`)."""
    published = Published()
    manager = quiet_manager(published)
    await manager.start()
    try:
        manager.set_tab_symbols("tab", {"SPY", "QQQ"})
        await manager.status(1, "live", kind="all")
        first = manager.quote_feed
        manager.quote("SPY", {"bid": 1.0, "t": 1_000})
        manager.quote("QQQ", {"bid": 2.0, "t": 1_000})
        await wait_until(lambda: len(entries(published, "SPY")) == 1)
        await manager.status(1, "reconnecting", "dropped", kind="quotes")
        assert manager.quote_feed == first  # no new feed until data flows again
        await manager.status(1, "live", kind="quotes")
        second = manager.quote_feed
        manager.quote("SPY", {"bid": 1.0, "t": 1_000})  # the same value, from the new feed
        await wait_until(lambda: len(entries(published, "SPY")) == 2)
    finally:
        await manager.stop()
    assert first != second and second.startswith("1:")
    assert entries(published, "SPY")[-1] == {"src": second, "t": 1_000}
    assert manager.state.quotes["QQQ"]["src"] == first  # not re-sent: the old feed's
    statuses = [f["link"]["quote_feed"] for f in published.of("status")]
    assert statuses[-1] == second and first in statuses


def test_the_silence_threshold_follows_the_feeds_cadence():
    """A feed ticking many times a second is stale after the floor; a quiet one only at
    the ceiling; a silence never lowers the rate that judges it."""
    cadence = QuoteCadence()
    assert cadence.threshold(10.0) == 10.0  # nothing learnt yet: the ceiling
    now = 1_000.0
    for _ in range(5):
        now += 1.0
        cadence.observe(400, now)
    assert cadence.threshold(10.0) == QUOTE_STALE_FLOOR
    for _ in range(30):
        now += 1.0
        cadence.observe(0, now)  # silent seconds
    assert cadence.threshold(10.0) == QUOTE_STALE_FLOOR
    assert cadence.threshold(10.0, floor=0.5) == 0.5  # 20 gaps of 1/400 s: the floor set
    quiet = QuoteCadence()
    now = 1_000.0
    quiet.observe(0, now)
    for _ in range(6):
        now += 30.0
        quiet.observe(1, now)  # one event every 30 s
    assert quiet.threshold(10.0) == 10.0


async def test_a_ticking_source_that_goes_silent_is_stale_within_the_floor():
    """No market data from a source that was ticking: its quotes kind is shown stale
    within the floor plus the sweep, far before the ceiling (a quiet feed would not)."""
    published = Published()
    manager = quiet_manager(published, quote_waits=QuoteWaits(stale_after=30.0))
    await manager.start()
    try:
        manager.set_tab_symbols("tab", {"SPY"})
        await manager.status(1, "live", kind="all")
        started = time.monotonic()
        while time.monotonic() - started < 3.0:  # ticking: ~200 events a second
            manager.quote("SPY", {"bid": round(time.monotonic() % 100, 3), "t": 1})
            await asyncio.sleep(0.005)
        silent_at = time.monotonic()
        await wait_until(
            lambda: manager.state.link_status[1]["kinds"]["quotes"]["state"] == "stale",
            within=QUOTE_STALE_FLOOR + 2 * SWEEP_MARGIN,
        )
        took = time.monotonic() - silent_at
        reason = manager.state.link_status[1]["kinds"]["quotes"]["reason"]
    finally:
        await manager.stop()
    assert QUOTE_STALE_FLOOR <= took < 30.0
    assert reason.startswith("no market data for")


@pytest.mark.parametrize("waits", [QuoteWaits(), QuoteWaits(failback_after=3.0)])
def test_failback_waits_longer_after_each_failover(waits):
    """Hysteresis: the probe must deliver for the configured failback wait, doubled for
    each failover within FLAP_WINDOW; a gap in the probe starts its clock over."""
    link = LinkHealth(waits=waits)
    link.kinds["quotes"].set("live", "")
    now = 10_000.0
    link.failed_as_source(now)
    assert link.failback_after(now) == waits.failback_after
    link.failed_as_source(now + 1)
    link.failed_as_source(now + 2)
    assert link.failback_after(now + 2) == 4 * waits.failback_after
    t = now + 2
    for _ in range(int(4 * waits.failback_after) - 1):
        t += 1.0
        link.probe_tick(t)
    assert not link.ready_to_fail_back(t)
    t += 2.0
    link.probe_tick(t)
    assert link.ready_to_fail_back(t)
    t += health.PROBE_GAP + 1  # the probe stopped: not ready, and its clock starts over
    assert not link.ready_to_fail_back(t)
    link.probe_tick(t)
    assert not link.ready_to_fail_back(t + 1)
    assert link.failback_after(now + health.FLAP_WINDOW + 10) == waits.failback_after


def test_the_failback_wait_stops_at_its_cap_and_the_failover_at_its_own_wait():
    waits = QuoteWaits(failback_after=2.0, failback_cap=5.0, failover_after=5.0)
    link = LinkHealth(waits=waits)
    for t in range(4):
        link.failed_as_source(10_000.0 + t)
    assert link.failback_after(10_004.0) == 5.0  # 2 s doubled three times, capped
    quotes = link.kinds["quotes"]
    quotes.set("live", "")
    quotes.set("reconnecting", "dropped")
    quotes.down_since = now_ms() - 4_000  # down 4 s: not yet (production's 3 s would)
    assert not link.failing_quotes(0.0)
    quotes.down_since = now_ms() - 6_000
    assert link.failing_quotes(0.0)
    with pytest.raises(ValueError):
        QuoteWaits(failback_after=10.0, failback_cap=5.0)
    with pytest.raises(ValueError):
        QuoteWaits(stale_after=1.0, stale_floor=2.0)


def test_a_status_says_how_long_each_kind_may_be_silent():
    """Each kind of a link status carries the silence after which it is shown stale, as
    judged now: the quote source's, 2.5 of the account's promised interval; an idle quotes
    kind and an account kind without a promise carry none (null)."""
    info = LinkInfo(1, "tastytrade", "t", simulated=True)
    link = LinkHealth()
    link.expect_every["account"] = 4.0
    status = render_status(info, link, quote_source=True, last_event_at=None, quote_silence=2.0)
    assert status["kinds"]["quotes"]["stale_after_ms"] == 2_000
    assert status["kinds"]["account"]["stale_after_ms"] == 10_000
    idle = render_status(info, LinkHealth(), quote_source=False, last_event_at=None)
    assert idle["kinds"]["quotes"]["stale_after_ms"] is None
    assert idle["kinds"]["account"]["stale_after_ms"] is None
    # a status frame follows the threshold by whole seconds, not every sweep's move
    moved = render_status(info, link, quote_source=True, last_event_at=None, quote_silence=2.3)
    assert visible(moved) == visible(status)
    moved = render_status(info, link, quote_source=True, last_event_at=None, quote_silence=3.0)
    assert visible(moved) != visible(status)


async def test_the_status_frame_says_when_the_feeds_cadence_is_learnt():
    """Until the source's cadence is learnt its quotes are stale only at the ceiling; a
    status frame says when a ticking feed's threshold came down to the floor (what a test or
    a trader's screen waits for instead of a fixed time)."""
    published = Published()
    waits = QuoteWaits(stale_after=8.0, stale_floor=1.5)
    manager = quiet_manager(published, quote_waits=waits)

    def said(ms: int) -> bool:
        return any(
            f["link"]["kinds"]["quotes"]["stale_after_ms"] == ms for f in published.of("status")
        )

    await manager.start()
    try:
        manager.set_tab_symbols("tab", {"SPY"})
        await manager.status(1, "live", kind="all")
        await wait_until(lambda: said(8_000))  # nothing learnt: the ceiling
        assert not said(1_500)
        # learnt over two sweeps (the first only starts the clock), sent with the third's
        # frame at the latest; a loaded box: twice the margin
        within = 3 * SWEEP_EVERY + 2 * SWEEP_MARGIN
        started = time.monotonic()
        while not said(1_500):  # ticking: ~200 events a second
            assert time.monotonic() - started < within, "the cadence was not learnt"
            manager.quote("SPY", {"bid": round(time.monotonic() % 100, 3), "t": 1})
            await asyncio.sleep(0.005)
        assert manager.silence_threshold() == 1.5
    finally:
        await manager.stop()


async def test_quotes_fail_over_on_silence_and_back_when_the_preferred_feed_delivers(
    broker_at_sandbox, control, refresh_token
):
    """tastytrade's DXLink goes silent: the quotes move to Tradier; the tastytrade link
    keeps one probe symbol while on standby (the sandbox counts its DXLink subscription);
    once the silence ends and the probe delivered for the failback wait (2 s here,
    production's 10 s), the quotes are back
    on tastytrade, as a new feed; values Tradier sent meanwhile are the old feed's."""
    from django.conf import settings

    from sandbox.core.credentials import credential_id
    from streaming.brokers.tradier.adapter import TradierAdapter

    quick_failback = 2.0  # the probe delivers this long before the quotes go back (10 s)
    control.configure(tick_rate=20)
    config = StreamConfig(watchdog_timeout=30, backoff_base=0.1, backoff_cap=0.5)
    tasty = TastytradeAdapter(
        link_id=1, provider_secret=SECRET, refresh_token=refresh_token, config=config
    )
    tradier = TradierAdapter(
        link_id=2,
        access_token=f"tradier-{refresh_token}",
        api_url=settings.TRADIER_API_URL,
        stream_url=settings.TRADIER_STREAM_URL,
        config=config,
    )
    published = Published()
    manager = UserStreamManager(
        43,
        links=[
            (LinkInfo(2, "tradier", "tr", simulated=True), tradier),
            (LinkInfo(1, "tastytrade", "tt", simulated=True), tasty),
        ],
        publish=published,
        flush_interval=0.1,
        quote_waits=QuoteWaits(failback_after=quick_failback),
    )
    silence = 6.0
    await manager.start()
    try:
        manager.set_tab_symbols("tab", {"SPY", "QQQ"})
        assert await manager.wait_ready(within=15)
        assert manager.quote_source() == 1  # tastytrade first, though listed second
        await wait_until(lambda: "QQQ" in manager.state.quotes)
        # the feed's cadence is learnt (a couple of sweeps): its silence is judged by it
        await wait_until(lambda: manager.silence_threshold() < manager.quote_stale_after)
        first_feed = manager.quote_feed
        control.fault(
            "silence", target="dxlink", credential=credential_id(refresh_token), seconds=silence
        )
        await wait_until(lambda: manager.quote_source() == 2, within=silence)
        tradier_feed = manager.quote_feed
        await wait_until(lambda: manager.state.quotes["QQQ"].get("src") == tradier_feed)
        await wait_until(lambda: manager.quote_source() == 1, within=silence + 4 * quick_failback)
        back_feed = manager.quote_feed
        await wait_until(lambda: manager.state.quotes["QQQ"].get("src") == back_feed)
    finally:
        await manager.stop()
    assert len({first_feed, tradier_feed, back_feed}) == 3
    assert tradier_feed.startswith("2:") and back_feed.startswith("1:")
    sources = [f["link"]["id"] for f in published.of("status") if f["link"]["quote_source"]]
    changes = [s for i, s in enumerate(sources) if i == 0 or sources[i - 1] != s]
    assert changes == [1, 2, 1]  # over and back once: no flapping
