"""The stream-health report an owner publishes (streaming/cluster/health_report.py): built from a
real manager's link health over the sandbox, written to and read back from a real Redis."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
import redis.asyncio as aioredis

from sandbox.core.credentials import credential_id
from streaming.cluster.health_report import (
    INTERVAL,
    TTL,
    HealthPublisher,
    process_of,
    read_reports,
    report_key,
    user_report,
)
from streaming.cluster.lease import PROCESS_ID
from streaming.stream.health import KindHealth
from tests.streaming.test_manager import Published, manager_for
from tests.support.wait import wait_until


def test_kind_health_counts_reconnects_and_keeps_the_last_error():
    """Every `reconnecting` report is one reconnect; the reason of the last trouble
    (error, reconnecting, stale, the sweep's stale) stays after the kind healed."""
    kind = KindHealth()
    kind.set("connecting", "")
    kind.set("live", "")
    assert (kind.reconnects, kind.last_error, kind.last_error_at) == (0, "", None)
    kind.set("reconnecting", "broker closed the stream (code 1011)")
    kind.set("reconnecting", "connect refused")
    kind.set("live", "")
    assert kind.reconnects == 2
    assert kind.last_error == "connect refused"
    assert abs(kind.last_error_at - time.time() * 1000) < 1000
    kind.mark_stale(True, "no market data for 11 s")
    assert (kind.reconnects, kind.last_error) == (2, "no market data for 11 s")
    kind.set("error", "credential rejected: invalid_grant")
    assert (kind.state, kind.reconnects, kind.last_error) == (
        "error",
        2,
        "credential rejected: invalid_grant",
    )


def test_process_of_reads_a_lease_value():
    assert process_of("web-1:4242:ab12cd34") == {
        "id": "web-1:4242:ab12cd34",
        "host": "web-1",
        "pid": 4242,
    }
    assert process_of("garbage") == {"id": "garbage", "host": "garbage", "pid": None}


async def test_report_from_a_real_manager_through_a_dropped_streamer(
    broker_at_sandbox, control, refresh_token
):
    """A real tastytrade link: live on both kinds, token expiry shown; the account
    streamer dropped by the broker counts one reconnect with its reason, the quotes kind
    none, and the report says so after the link is live again."""
    published = Published()
    manager = manager_for(refresh_token, published)
    await manager.start()
    try:
        manager.set_tab_symbols("tab-1", {"SPY"})
        assert await manager.wait_ready(within=10)
        await wait_until(lambda: manager.last_quote_at is not None, what="a quote")
        version = manager.health_version
        control.fault("drop", target="streamer", credential=credential_id(refresh_token))
        kinds = manager.link_health(7).kinds
        await wait_until(lambda: kinds["account"].reconnects == 1, what="account reconnects")
        await wait_until(lambda: kinds["account"].state == "live", what="account live again")
        report = user_report(manager)
    finally:
        await manager.stop()
    assert manager.health_version > version  # the owner re-publishes on a visible change
    now = time.time() * 1000
    assert set(report) == {"user", "owner", "at", "epoch", "seq", "last_event_at", "links"}
    assert report["user"] == 42
    assert report["owner"] == process_of(PROCESS_ID)
    assert report["owner"]["pid"] > 0
    assert abs(report["at"] - now) < 1000
    assert (report["epoch"], report["seq"]) == (manager.position.epoch, manager.position.seq)
    assert report["seq"] > 0
    (link,) = report["links"]
    assert {k: link[k] for k in ("id", "broker", "label", "state", "reason", "quote_source")} == {
        "id": 7,
        "broker": "tastytrade",
        "label": "sandbox link",
        "state": "live",
        "reason": "",
        "quote_source": True,
    }
    assert link["reconnects"] == 1  # the adapter's count for the link
    account, quotes = link["kinds"]["account"], link["kinds"]["quotes"]
    assert (account["state"], account["reconnects"]) == ("live", 1)
    assert account["last_error"] == "broker closed the stream (code 1011)"
    assert now - 10_000 < account["last_error_at"] <= now
    assert account["since"] >= account["last_error_at"]
    assert (quotes["state"], quotes["reconnects"], quotes["last_error"]) == ("live", 0, "")
    assert quotes["last_error_at"] is None
    # the sandbox's tokens live 15 min by default
    assert now + 10 * 60_000 < link["token_expires_at"] < now + 16 * 60_000
    assert now - 5_000 < link["last_data_at"] <= now
    assert report["last_event_at"] <= now


class PinnedVersion:
    """A real manager whose visible-status version the test sets: a live manager bumps
    its own whenever a link's state moves, which would make "nothing changed" a race."""

    def __init__(self, manager) -> None:
        self._manager = manager
        self.health_version = 0

    def __getattr__(self, name: str):
        return getattr(self._manager, name)


def fake_agent(manager, tabs: int) -> SimpleNamespace:
    """What the publisher reads of an agent: its manager (None unless owner) and tabs."""
    return SimpleNamespace(
        manager=manager, fanout=SimpleNamespace(tabs={f"t{i}": object() for i in range(tabs)})
    )


@pytest.mark.redis
async def test_publisher_writes_and_forgets_what_it_knows(
    redis_server, broker_at_sandbox, refresh_token
):
    """Two processes' publishers on one Redis: the owner's report and both tab counts
    are read back; a process that lets go deletes its report and its tab count (a dead
    one's expire after TTL)."""
    client = aioredis.from_url(redis_server.url)
    await client.flushdb()
    manager = manager_for(refresh_token, Published())
    await manager.start()
    try:
        assert await manager.wait_ready(within=10)
        pinned = PinnedVersion(manager)
        now = [1000.0]  # the publishers' monotonic clock, moved by the test alone
        owner_agents = {42: fake_agent(pinned, 2)}
        other_agents = {42: fake_agent(None, 3)}
        owner = HealthPublisher(
            client, lambda: owner_agents, process_id="host-a:101:aaaa", clock=lambda: now[0]
        )
        other = HealthPublisher(
            client, lambda: other_agents, process_id="host-b:202:bbbb", clock=lambda: now[0]
        )
        await owner.publish()
        await other.publish()
        (found,) = await read_reports(client)
        assert found.user_id == 42
        assert found.tabs == {"host-a:101:aaaa": 2, "host-b:202:bbbb": 3}
        assert found.report["owner"] == {"id": "host-a:101:aaaa", "host": "host-a", "pid": 101}
        assert [link["id"] for link in found.report["links"]] == [7]
        ttl = await client.pttl(report_key(42))
        assert TTL * 1000 - 1000 < ttl <= TTL * 1000

        # nothing changed and nothing is due: nothing is written
        await client.delete(report_key(42))
        now[0] += INTERVAL - 0.01
        await owner.publish()
        assert await client.get(report_key(42)) is None
        # a visible change is written at once
        pinned.health_version += 1
        await owner.publish()
        assert await client.get(report_key(42)) is not None
        # and an unchanged report is rewritten once it is due
        await client.delete(report_key(42))
        now[0] += INTERVAL
        await owner.publish()
        assert await client.get(report_key(42)) is not None

        # the owner lets go (manager stopped): its report goes, its tabs stay counted
        owner_agents[42] = fake_agent(None, 2)
        await owner.publish()
        (found,) = await read_reports(client)
        assert found.report is None
        assert found.tabs == {"host-a:101:aaaa": 2, "host-b:202:bbbb": 3}
        # the other process's last tab closed and its agent is gone
        other_agents.clear()
        await other.publish()
        (found,) = await read_reports(client)
        assert found.tabs == {"host-a:101:aaaa": 2}
    finally:
        await manager.stop()
        await client.aclose()
