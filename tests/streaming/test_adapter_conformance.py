"""Every adapter fails the same way (docs/streaming.md, "Failure cases"): the three real
adapters against the sandbox over real sockets, one test per failure, parametrized over
the brokers.

What differs per broker is only how to reach it (`Broker`): which data kind its watched
stream serves, which sandbox connection that is, which request connects its account
side and how the broker words its errors. The behaviour asserted is the same for all:
a silent stream is abandoned and reopened, a rejected credential is an `error` with a
readable reason and no retry storm, a transient 5xx/429 backs off honouring Retry-After
without ever being an `error`, and a stop while failing stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings

from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import credential_id
from sandbox.core.faults import BROKER_KINDS
from streaming.brokers.alpaca.adapter import AlpacaAdapter
from streaming.brokers.base import MemoryCheckpoint, StreamConfig
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.tastytrade.adapter import TastytradeAdapter
from streaming.brokers.tradier.adapter import TradierAdapter
from tests.support.brokers import ALPACA_FAST, FAST, TASTYTRADE_FAST, TRADIER_FAST
from tests.support.recording import RecordingSink, running
from tests.support.sdk import SECRET as TASTYTRADE_SECRET

ALPACA_SECRET = "sk-conformance-secret-value"
#: What the sandbox asks to wait in the transient-error tests (seconds).
RETRY_AFTER = 1


def make_tastytrade(credential: str, config: StreamConfig) -> SupervisedAdapter:
    return TastytradeAdapter(
        link_id=1, provider_secret=TASTYTRADE_SECRET, refresh_token=credential, config=config
    )


def make_tradier(credential: str, config: StreamConfig) -> SupervisedAdapter:
    return TradierAdapter(
        link_id=2,
        access_token=credential,
        api_url=settings.TRADIER_API_URL,
        stream_url=settings.TRADIER_STREAM_URL,
        config=config,
    )


def make_alpaca(credential: str, config: StreamConfig) -> SupervisedAdapter:
    return AlpacaAdapter(
        link_id=3,
        key_id=credential,
        secret_key=ALPACA_SECRET,
        api_url=settings.ALPACA_API_URL,
        checkpoint=MemoryCheckpoint(),
        config=config,
    )


@dataclass(frozen=True)
class Broker:
    """How to reach one broker's adapter and its sandbox; the rest is the same for all."""

    name: str
    make_adapter: Callable[[str, StreamConfig], SupervisedAdapter]
    new_credential: Callable[[], str]
    #: The data kind its watched stream serves, and the sandbox connection that is.
    stream_kind: str
    stream_target: str
    #: The request its account side connects with (what a transient error is put on).
    account_path: str
    #: The status kind a rejected credential is reported for ("all": the whole link).
    rejected_kind: str
    #: What a rejection's reason says (the broker's own words), and the secrets it never says.
    rejection_says: tuple[str, ...]
    secrets: tuple[str, ...]
    #: Kinds that stay `idle` when the credential is rejected (no symbols: no quote stream).
    idle_when_rejected: tuple[str, ...]
    #: What a transient error's reason says, by status.
    transient_says: dict[int, str]
    #: Its test timings (tests/support/brokers.py).
    config: dict[str, Any] = field(default_factory=dict)

    def make(self, credential: str, **config: Any) -> SupervisedAdapter:
        return self.make_adapter(credential, StreamConfig(**{**self.config, **config}))

    @property
    def other_kind(self) -> str:
        return "account" if self.stream_kind == "quotes" else "quotes"

    def flow(self, sink: RecordingSink) -> int:
        """How much the watched stream delivered: quotes, or (Alpaca's event stream, which
        carries no quotes) the freshness its heartbeats confirm."""
        if self.stream_kind == "quotes":
            return sink.quote_counts.get("SPY", 0)
        return sink.fresh_counts["account"]

    def connections(self, control, credential: str, kind: str | None = None) -> list[dict]:
        """The credential's live connections at the sandbox (of one kind, or all)."""
        entry = control.state()["credentials"].get(credential_id(credential), {})
        kinds = (kind,) if kind else BROKER_KINDS[self.name]
        return [c for k in kinds for c in entry.get(k, [])]


BROKERS = [
    Broker(
        name="tastytrade",
        make_adapter=make_tastytrade,
        new_credential=lambda: f"sandbox-refresh-{uuid.uuid4().hex[:12]}",
        stream_kind="quotes",
        stream_target="dxlink",
        account_path="/customers/me/accounts",
        rejected_kind="all",  # the shared login: both kinds
        rejection_says=("invalid_grant",),
        secrets=(TASTYTRADE_SECRET,),
        idle_when_rejected=(),
        transient_says={503: "service_unavailable", 429: "rate_limit_exceeded"},
        config=TASTYTRADE_FAST,
    ),
    Broker(
        name="tradier",
        make_adapter=make_tradier,
        new_credential=lambda: f"tradier-token-{uuid.uuid4().hex[:12]}",
        stream_kind="quotes",
        stream_target="tradier-stream",
        account_path="/tradier/v1/user/profile",
        rejected_kind="account",
        rejection_says=("401", "Invalid Access Token"),
        secrets=(),
        idle_when_rejected=("quotes",),
        transient_says={503: "HTTP 503", 429: "HTTP 429"},
        config=TRADIER_FAST,
    ),
    Broker(
        name="alpaca",
        make_adapter=make_alpaca,
        new_credential=lambda: f"AK{uuid.uuid4().hex[:14].upper()}",
        stream_kind="account",
        stream_target="alpaca-sse",
        account_path="/alpaca/v1/accounts",
        rejected_kind="account",
        rejection_says=("401", "not authorized"),
        secrets=(ALPACA_SECRET,),
        idle_when_rejected=("quotes",),
        transient_says={503: "HTTP 503", 429: "HTTP 429"},
        config=ALPACA_FAST,
    ),
]


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Alpaca's event stream sends a heartbeat 4 times a second (well within the watchdog)."""
    return SandboxConfig(tick_rate=20.0, alpaca_heartbeat_interval=0.25)


@pytest.fixture(params=BROKERS, ids=[b.name for b in BROKERS])
def broker(request, broker_at_sandbox) -> Broker:
    return request.param


@pytest.fixture
def credential(broker: Broker) -> str:
    """A credential unique to the test: each test is its own sandbox customer."""
    return broker.new_credential()


def http_faults(control) -> int:
    return control.state()["totals"].get("http_faults", 0)


async def test_a_silent_stream_is_abandoned_and_reopened(broker: Broker, control, credential):
    """The stream goes quiet without closing: after `watchdog_timeout` its kind reconnects
    (the reason says watchdog) while the other kind never notices; data flows again, and
    the silent connection was closed, not leaked: the sandbox holds one, not silent."""
    adapter = broker.make(credential, watchdog_timeout=1.5)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    kind = broker.stream_kind

    def streams() -> list[dict]:
        return broker.connections(control, credential, broker.stream_target)

    async with running(adapter, sink):
        await sink.wait_for(lambda: broker.flow(sink) > 0 and sink.state(kind) == "live")
        await sink.wait_for(lambda: len(streams()) == 1, 5)
        control.fault("silence", target=broker.stream_target, credential=credential_id(credential))
        await sink.wait_for(lambda: "reconnecting" in sink.kind_states(kind), 5)
        assert "watchdog" in sink.reason(kind, "reconnecting")
        assert "reconnecting" not in sink.kind_states(broker.other_kind)
        await sink.wait_for(lambda: sink.kind_states(kind).count("live") >= 2, 5)
        count = broker.flow(sink)
        await sink.wait_for(lambda: broker.flow(sink) > count)
        await sink.wait_for(lambda: [s["silent"] for s in streams()] == [False], 5)
        assert "error" not in sink.states


async def test_a_rejected_credential_is_an_error_retried_slowly(
    broker: Broker, control, credential
):
    """A revoked credential: `error` with the broker's reason, never a secret, after one
    attempt; the next attempt only after the wait the error announced (`retry_in`), and
    the wait doubles (no retry storm, no backoff `reconnecting`); kinds that need no
    credential yet stay `idle`."""
    control.fault("revoke", credential=credential_id(credential))
    base, cap = 1.0, 4.0
    adapter = broker.make(credential, rejected_retry_base=base, rejected_retry=cap)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: "error" in sink.states)
        first_error = time.monotonic()
        await asyncio.sleep(0.3)
        kind, state, reason, extra = sink.statuses[-1]
        assert (kind, state) == (broker.rejected_kind, "error")
        assert all(part in reason for part in broker.rejection_says), reason
        assert base * 0.7 <= extra["retry_in"] <= base
        assert sink.states.count("connecting") == 1
        for other in broker.idle_when_rejected:
            assert sink.kind_states(other) == ["idle"]
        await sink.wait_for(lambda: sink.states.count("connecting") >= 2, base + 3)
        assert time.monotonic() - first_error >= extra["retry_in"] - 0.05
        await sink.wait_for(lambda: sink.states.count("error") >= 2)
    waits = [e["retry_in"] for _, s, _, e in sink.statuses if s == "error"]
    assert waits[1] >= base * 2 * 0.7 > base >= waits[0], waits  # doubled
    assert "reconnecting" not in sink.states
    reasons = " ".join(r for _, _, r, _ in sink.statuses)
    assert credential not in reasons
    assert not any(secret in reasons for secret in broker.secrets)


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, RETRY_AFTER)])
async def test_a_transient_error_backs_off_honouring_retry_after(
    broker: Broker, control, credential, status: int, retry_after: int | None
):
    """The account side's first request answers 503 (no Retry-After) or 429 (Retry-After:
    1) until cleared: the account kind is `reconnecting` with the broker's reason, never
    `error`; it backs off (jittered, growing, capped), every retry waits at least the
    Retry-After, and so no more than one request a second reaches the broker then.
    Nothing of the account is emitted meanwhile and the other kind carries on. Once the
    errors stop, the account side goes live with its snapshot."""
    control.fault(
        "http_error",
        status=status,
        path_prefix=broker.account_path,
        count=None,
        retry_after=retry_after,
    )
    adapter = broker.make(credential)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.kind_states("account").count("reconnecting") >= 1, 10)
        window, before = 3.0, http_faults(control)
        await asyncio.sleep(window)
        if retry_after:
            assert http_faults(control) - before <= window / retry_after + 1
        await sink.wait_for(lambda: sink.kind_states("account").count("reconnecting") >= 2, 10)
        assert broker.transient_says[status] in sink.reason("account", "reconnecting")
        waits = [e["retry_in"] for s, _, e in sink.of_kind("account") if s == "reconnecting"]
        if retry_after:
            assert min(waits) >= retry_after
        else:
            assert waits[-1] >= waits[0] and max(waits) <= FAST["backoff_cap"]
        assert sink.state("account") in ("reconnecting", "connecting")
        assert "error" not in sink.states
        assert not [e for e in sink.events if e[0] == "positions"]
        if broker.stream_kind == "quotes":
            count = sink.quote_counts.get("SPY", 0)
            await sink.wait_for(lambda: sink.quote_counts.get("SPY", 0) > count + 5)
            assert sink.state("quotes") == "live"
        assert "reconnecting" not in sink.kind_states("quotes")
        control.clear_faults()
        await sink.wait_for(lambda: sink.state("account") == "live", RETRY_AFTER + 5)
        assert [e for e in sink.events if e[0] == "positions"]


async def test_a_stop_while_failing_stops(broker: Broker, control, credential):
    """The account side keeps failing (503) while the other kind runs: the manager's stop
    (`stopping()`, then a cancel) ends the adapter at once, every connection it held is
    closed, and no request reaches the broker afterwards (nothing reconnects)."""
    control.fault("http_error", status=503, path_prefix=broker.account_path, count=None)
    adapter = broker.make(credential)
    adapter.set_symbols({"SPY"})
    sink = RecordingSink()
    task = asyncio.create_task(adapter.run(sink))
    try:
        await sink.wait_for(lambda: sink.kind_states("account").count("reconnecting") >= 2)
        if broker.stream_kind == "quotes":
            await sink.wait_for(lambda: sink.quote_counts.get("SPY", 0) > 0)
        adapter.stopping()
        task.cancel()
        async with asyncio.timeout(2):
            await asyncio.wait({task})
        assert task.cancelled()
        statuses, faults = len(sink.statuses), http_faults(control)
        await sink.wait_for(lambda: broker.connections(control, credential) == [], 3)
        await asyncio.sleep(FAST["backoff_cap"] * 2)  # longer than any backoff
        assert http_faults(control) == faults
        assert len(sink.statuses) == statuses
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
