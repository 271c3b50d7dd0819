"""A rejected credential (streaming/brokers/base.py): retried on a backoff of its own that
starts short and doubles to a cap, so it heals by itself soon after it is valid again and
a dead one never hammers the broker; every `error` says when the next try is."""

from __future__ import annotations

import asyncio
import time

import pytest

from streaming.brokers.base import StreamConfig
from streaming.brokers.errors import CredentialRejected
from streaming.brokers.supervised import SupervisedAdapter
from streaming.wiring import stream_config
from tests.support.recording import RecordingSink, running
from tests.test_settings import load_settings

#: The jitter of every backoff only shortens a wait, by at most this factor.
JITTER_FLOOR = 0.7
#: What a retry may take beyond its wait on a loaded box (an event loop turn, a sink call).
LATENESS = 0.5


class Gated(SupervisedAdapter):
    """Quotes always live; the account side logs in with a credential the test revokes
    and restores (`valid`)."""

    broker = "test"

    def __init__(self, *, valid: bool = False, **config: float) -> None:
        super().__init__(link_id=7, config=StreamConfig(**config))
        self.valid = valid
        self.attempts: list[float] = []

    def _loops(self):
        return {"quotes": self._quotes, "account": self._account}

    def _describe(self, exc: BaseException) -> str:
        return f"credential rejected: {exc}"

    async def _quotes(self, sink) -> None:
        await self._report(sink, "quotes", "live")
        await asyncio.Event().wait()

    async def _account(self, sink) -> None:
        await self._report_change(sink, "account", "connecting")
        self.attempts.append(time.monotonic())
        if not self.valid:
            raise CredentialRejected("invalid_grant")
        await self._report(sink, "account", "live")
        while self.valid:
            await asyncio.sleep(0.02)
        raise CredentialRejected("invalid_grant")  # revoked while live


def errors(sink: RecordingSink) -> list[dict]:
    return [extra for state, _, extra in sink.of_kind("account") if state == "error"]


def test_the_defaults_start_short_and_cap_at_five_minutes():
    config = StreamConfig()
    assert (config.rejected_retry_base, config.rejected_retry) == (15.0, 300.0)


def test_the_server_takes_its_waits_from_the_settings(settings):
    settings.STREAM_REJECTED_RETRY_BASE = 2.5
    settings.STREAM_REJECTED_RETRY_CAP = 40.0
    config = stream_config()
    assert (config.rejected_retry_base, config.rejected_retry) == (2.5, 40.0)


@pytest.mark.parametrize(
    ("base", "cap"), [("0", "300"), ("-1", "300"), ("600", "300"), ("15", "-5")]
)
def test_waits_that_cannot_work_are_refused_at_start(base: str, cap: str):
    """A zero first wait would be a login storm; a first wait above the cap is a typo."""
    result = load_settings(STREAM_REJECTED_RETRY_BASE=base, STREAM_REJECTED_RETRY_CAP=cap)
    assert result.returncode != 0
    assert (
        "STREAM_REJECTED_RETRY_BASE must be > 0 and not above STREAM_REJECTED_RETRY_CAP"
        in result.stderr
    )


async def test_the_waits_double_from_the_base_to_the_cap():
    """0.2, 0.4, 0.8, 0.8, 0.8 s (each jittered down by at most 30 %): every `error` says
    its wait, the next login comes no sooner, and the broker never sees a storm."""
    base, cap = 0.2, 0.8
    adapter = Gated(rejected_retry_base=base, rejected_retry=cap)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: len(errors(sink)) >= 5, within=cap * 5 + 5)
    waits = [extra["retry_in"] for extra in errors(sink)[:5]]
    nominal = [0.2, 0.4, 0.8, 0.8, 0.8]
    for wait, full in zip(waits, nominal, strict=True):
        assert full * JITTER_FLOOR - 0.01 <= wait <= full, waits
    gaps = [b - a for a, b in zip(adapter.attempts, adapter.attempts[1:], strict=False)]
    for gap, wait in zip(gaps, waits, strict=False):
        assert gap >= wait - 0.01, (gaps, waits)
    assert sink.kind_states("quotes") == ["live"]  # the other kind never noticed


async def test_a_credential_valid_again_heals_within_one_wait():
    """Restored while the link waits: at the next try it is `live`, no later than the
    cap after the restore, and the link no longer announces a retry."""
    base, cap = 0.3, 1.2
    adapter = Gated(rejected_retry_base=base, rejected_retry=cap)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: len(errors(sink)) >= 3, within=cap * 3 + 5)
        adapter.valid = True
        restored = time.monotonic()
        await sink.wait_for(lambda: sink.state("account") == "live", within=cap + 5)
        healed = time.monotonic() - restored
    assert healed <= cap + LATENESS, f"healed {healed:.2f} s after the restore"
    (_, _, extra) = sink.of_kind("account")[-1]
    assert extra["retry_in"] is None


async def test_a_link_rejected_after_a_stable_run_starts_again_from_the_base():
    """Live for longer than `stable_after`, then revoked: the first wait is the base
    again, however long the waits had grown before."""
    base, cap = 0.2, 3.2
    adapter = Gated(rejected_retry_base=base, rejected_retry=cap, stable_after=0.3)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: len(errors(sink)) >= 4, within=10)
        assert errors(sink)[3]["retry_in"] > base * 4 * JITTER_FLOOR - 0.01  # grown to 1.6
        adapter.valid = True
        await sink.wait_for(lambda: sink.state("account") == "live", within=cap + 5)
        await asyncio.sleep(0.3 * 2)  # live for longer than stable_after
        adapter.valid = False
        count = len(errors(sink))
        await sink.wait_for(lambda: len(errors(sink)) > count, within=5)
    assert errors(sink)[count]["retry_in"] <= base


async def test_the_links_retry_in_is_the_error_kinds_while_the_other_kind_reports():
    """One `retry_in` per link: a status of the live quotes kind keeps announcing the
    account kind's wait, and it clears only when that kind leaves `error`."""
    adapter = Gated(rejected_retry_base=30, rejected_retry=30)
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: errors(sink))
        wait = errors(sink)[0]["retry_in"]
        await adapter._report(sink, "quotes", "live")
        assert sink.statuses[-1][3]["retry_in"] == wait
        await adapter._report(sink, "account", "live")
        assert sink.statuses[-1][3]["retry_in"] is None


@pytest.mark.parametrize("state", ["reconnecting", "error"])
async def test_a_waiting_kind_without_an_announced_wait_keeps_the_last_one(state):
    adapter = Gated()
    sink = RecordingSink()
    await adapter._report(sink, "account", state, "x", retry_in=4.0)
    await adapter._report(sink, "account", state, "x")  # e.g. the delayed flag changed
    assert sink.statuses[-1][3]["retry_in"] == 4.0
