"""What every adapter shares (streaming/brokers/base.py): backoff, the delayed-data
detector and the per-kind supervised loops, without a broker."""

from __future__ import annotations

import asyncio
import time

from streaming.brokers.alpaca.adapter import AlpacaAdapter
from streaming.brokers.backoff import Backoff
from streaming.brokers.base import (
    BrokerAdapter,
    MemoryCheckpoint,
    StreamConfig,
    SupportsCandles,
    SupportsChains,
)
from streaming.brokers.delay import DelayMonitor
from streaming.brokers.errors import BrokerHTTPError, CredentialRejected
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.tastytrade.adapter import TastytradeAdapter
from streaming.brokers.tradier.adapter import TradierAdapter
from streaming.runtime.heap import Lifetimes
from streaming.stream import tasks as tasks_module
from streaming.stream.manager import LinkInfo, UserStreamManager
from tests.support.recording import RecordingSink, running


# -- backoff ---------------------------------------------------------------------------------
def test_backoff_grows_to_the_cap_and_never_beyond():
    backoff = Backoff(base=0.5, cap=30.0, jitter=0.3, stable_after=10)
    delays = [backoff.next_delay() for _ in range(20)]
    assert all(d <= 30.0 for d in delays)  # jitter never pushes past the cap (no 38 s)
    assert delays[0] <= 0.5 and delays[-1] >= 30.0 * 0.7
    assert all(d >= 0.5 * 0.7 for d in delays)


def test_one_flap_after_a_stable_run_costs_at_most_base():
    backoff = Backoff(base=0.5, cap=30.0, stable_after=10)
    for _ in range(10):
        backoff.next_delay()  # a long outage: the attempts are at the cap
    assert backoff.next_delay(up_for=3600) <= 0.5  # then live for an hour, one drop
    assert backoff.next_delay() <= 1.0  # and it grows again from there


def test_a_short_lived_connection_keeps_backing_off():
    """Up for less than stable_after (or never up, however long the attempt took): no reset."""
    backoff = Backoff(base=0.5, cap=30.0, jitter=0.0, stable_after=10)
    for _ in range(4):
        backoff.next_delay()
    assert backoff.next_delay(up_for=2.0) == 8.0
    assert backoff.next_delay(up_for=None) == 16.0


# -- delayed data ------------------------------------------------------------------------------
def feed(
    monitor: DelayMonitor, lag_ms: int, n: int = 20, start: int = 0, symbol: str = "SPY"
) -> list[bool]:
    """`n` updates of `symbol`, one a second, each `lag_ms` behind its receipt."""
    now = 1_700_000_000_000
    changes = []
    for i in range(n):
        t = now + (start + i) * 1000
        changes.append(monitor.observe(symbol, t - lag_ms, now_ms=t))
    return changes


def test_quotes_lagging_more_than_a_minute_mark_the_link_delayed_and_recover():
    monitor = DelayMonitor()
    assert not any(feed(monitor, 2_000)) and not monitor.delayed
    changes = feed(monitor, 900_000, start=20, symbol="QQQ")  # e.g. after a failover
    assert changes.count(True) == 1 and monitor.delayed
    assert monitor.extra() == {"delayed": True, "delay_ms": 900_000}
    changes = feed(monitor, 500, start=40)
    assert changes.count(True) == 1 and monitor.extra() == {"delayed": False, "delay_ms": None}


def test_old_snapshots_of_quiet_symbols_do_not_count_as_delay():
    """After hours a subscription returns each symbol's last quote with an old time; only
    updates (a symbol's time moving forward) are measured."""
    monitor = DelayMonitor()
    now = 1_700_000_000_000
    for i in range(40):
        monitor.observe(f"SYM{i}", now - 3_600_000, now_ms=now)  # one old snapshot each
        monitor.observe(f"SYM{i}", now - 3_600_000, now_ms=now + 1000)  # repeated, unchanged
    assert not monitor.delayed and not monitor.lags


def test_a_known_delayed_environment_is_always_delayed():
    monitor = DelayMonitor(900_000)
    feed(monitor, 100)
    assert monitor.extra() == {"delayed": True, "delay_ms": 900_000}


# -- per-kind supervised loops -------------------------------------------------------------------
class TwoKinds(SupervisedAdapter):
    """Quotes stay up; the account connection fails as told."""

    broker = "test"

    def __init__(self, account_failure: Exception, **config: float) -> None:
        super().__init__()
        self.link_id = 9
        self.config = StreamConfig(backoff_base=0.05, backoff_cap=0.2, rejected_retry=60, **config)
        self.account_failure = account_failure
        self.quote_connects = 0
        self.account_attempts: list[float] = []

    def _loops(self):
        return {"quotes": self._quotes, "account": self._account}

    def _describe(self, exc: BaseException) -> str:
        return str(exc)

    async def _quotes(self, sink) -> None:
        await self._gate(sink)
        self.quote_connects += 1
        await self._report(sink, "quotes", "live")
        while True:
            sink.quote("SPY", {"bid": 1.0})
            await asyncio.sleep(0.01)

    async def _account(self, sink) -> None:
        await self._gate(sink)
        self.account_attempts.append(time.monotonic())
        raise self.account_failure


async def test_an_account_failure_never_touches_the_quotes_loop():
    adapter = TwoKinds(BrokerHTTPError(503, "unavailable"))
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.kind_states("account").count("reconnecting") >= 4)
        count = sink.quote_counts["SPY"]
        await sink.wait_for(lambda: sink.quote_counts["SPY"] > count + 10)
    assert adapter.quote_connects == 1
    assert sink.kind_states("quotes") == ["live"]
    delays = [e["retry_in"] for s, _, e in sink.of_kind("account") if s == "reconnecting"]
    assert delays[1] >= delays[0] * 0.7 and max(delays) <= 0.2
    assert all(k in ("quotes", "account") for k, *_ in sink.statuses)


async def test_every_connection_counts_among_the_long_lived_things_until_it_ended():
    """What a dropped connection leaves may be cyclic garbage among frozen objects: the
    collector thaws once as many ended as are alive (streaming/runtime/heap.py)."""
    adapter = TwoKinds(BrokerHTTPError(503, "unavailable"))
    adapter.lifetimes = lifetimes = Lifetimes()  # the process's, in a server (catalog.py)
    alive, ended = lifetimes.alive, lifetimes.ended_total
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: len(adapter.account_attempts) >= 3)
        assert lifetimes.alive >= alive + 1  # the quotes connection
        assert lifetimes.ended_total - ended >= 2  # the account's failed attempts
    assert lifetimes.alive == alive  # everything that began has ended
    assert lifetimes.ended_total - ended >= len(adapter.account_attempts) + 1


async def test_retry_after_is_honoured_per_kind():
    adapter = TwoKinds(BrokerHTTPError(429, "slow down", retry_after=0.5))
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: len(adapter.account_attempts) >= 2, 3)
    gap = adapter.account_attempts[1] - adapter.account_attempts[0]
    assert gap >= 0.5
    assert sink.of_kind("account")[0][2]["retry_in"] == 0.5


async def test_a_rejection_is_an_error_of_its_kind_retried_slowly():
    adapter = TwoKinds(CredentialRejected("no"))
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "error")
        count = sink.quote_counts["SPY"]
        await sink.wait_for(lambda: sink.quote_counts["SPY"] > count + 5)
    assert len(adapter.account_attempts) == 1 and sink.state("quotes") == "live"


async def test_the_lease_gate_holds_every_loop():
    adapter = TwoKinds(BrokerHTTPError(503, "unavailable"))
    sink = RecordingSink()
    sink.allowed = False
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.authorize_calls >= 4, 3)
        assert adapter.quote_connects == 0 and not adapter.account_attempts
        assert not sink.statuses
        sink.allowed = True
        await sink.wait_for(lambda: sink.state("quotes") == "live" and adapter.account_attempts)


class NestedGroup(SupervisedAdapter):
    """A loop whose connection runs a TaskGroup (as the SDK-based adapters do); its child
    fails just as the adapter is stopped."""

    broker = "test"

    def __init__(self) -> None:
        super().__init__()
        self.link_id = 9
        self.config = StreamConfig(backoff_base=0.05, backoff_cap=0.1)
        self.attempts = 0
        self.fail_now = asyncio.Event()

    def _loops(self):
        return {"all": self._once}

    def set_symbols(self, symbols: set[str]) -> None:
        pass

    def _describe(self, exc: BaseException) -> str:
        return str(exc)

    async def _once(self, sink) -> None:
        self.attempts += 1
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._fail_when_told())
            await asyncio.Event().wait()

    async def _fail_when_told(self) -> None:
        await self.fail_now.wait()
        raise RuntimeError("connection lost")


async def test_a_stop_that_meets_a_failure_still_stops():
    """The manager stops the adapter just as a child of its TaskGroup fails: on Python
    3.11 the group raises the failure and drops the cancellation (CPython gh-116720).
    The stop still completes, without a reconnect (in the soak, a stopped manager kept
    its broker session and its agent hung, freezing that process's tabs)."""
    adapter = NestedGroup()
    manager = UserStreamManager(
        3, links=[(LinkInfo(9, "test", "t", simulated=True), adapter)], publish=discard
    )
    await manager.start()
    while adapter.attempts == 0:
        await asyncio.sleep(0.01)
    adapter.fail_now.set()  # the failure and the stop land in the same turn of the loop
    async with asyncio.timeout(5):
        await manager.stop()
    assert not manager.running
    assert adapter.attempts == 1


async def discard(frame: dict, text: str) -> None:
    pass


class Unstoppable(SupervisedAdapter):
    """A connection inside a library that swallows cancellation (in the soak a stopped
    tastytrade adapter outlived 175 cancels over 6 minutes): nothing can end it."""

    broker = "test"

    def __init__(self) -> None:
        super().__init__()
        self.link_id = 8
        self.config = StreamConfig()
        self.connected = asyncio.Event()
        self.released = False  # the test lets it end at last

    def _loops(self):
        return {"all": self._once}

    def set_symbols(self, symbols: set[str]) -> None:
        pass

    async def _once(self, sink) -> None:
        self.connected.set()
        while True:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                if self.released:
                    raise


async def test_a_stop_never_hangs_on_a_task_that_cannot_end(monkeypatch, caplog):
    """The stop gives up on such a task after STOP_GIVE_UP, says so, and returns: the
    caller (the user's agent) must go on, or that process's tabs freeze."""
    monkeypatch.setattr(tasks_module, "STOP_GIVE_UP", 1.0)
    monkeypatch.setattr(tasks_module, "STOP_RECANCEL", 0.2)
    adapter = Unstoppable()
    manager = UserStreamManager(
        4, links=[(LinkInfo(8, "test", "t", simulated=True), adapter)], publish=discard
    )
    await manager.start()
    await adapter.connected.wait()
    async with asyncio.timeout(5):
        await manager.stop()
    assert "did not stop in 1 s; abandoned" in caplog.text
    (abandoned,) = manager.abandoned
    adapter.released = True
    abandoned.cancel()
    await asyncio.wait({abandoned})
    assert not manager.abandoned  # forgotten once it ended


# -- capabilities ----------------------------------------------------------------------------
def test_the_capabilities_name_the_adapters_that_serve_candles_and_chains():
    """The manager asks for history and chains only the adapters that declare them
    (`SupportsCandles`, `SupportsChains` in streaming/brokers/base.py): tastytrade and
    Tradier serve market data; Alpaca serves its coins' candles (its crypto bars), and no
    chains."""
    tastytrade = TastytradeAdapter(link_id=1, provider_secret="s", refresh_token="r")
    tradier = TradierAdapter(
        link_id=2, access_token="t", api_url="http://tradier", stream_url="http://stream"
    )
    alpaca = AlpacaAdapter(
        link_id=3,
        key_id="k",
        secret_key="s",
        api_url="http://alpaca",
        checkpoint=MemoryCheckpoint(),
    )
    adapters: list[BrokerAdapter] = [tastytrade, tradier, alpaca]
    assert [isinstance(a, SupportsCandles) for a in adapters] == [True, True, True]
    assert [isinstance(a, SupportsChains) for a in adapters] == [True, True, False]
