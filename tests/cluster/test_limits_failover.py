"""Portfolio limits across a kill -9 of the stream's owner (2 daphne + Redis + PostgreSQL
+ the sandbox): a daily loss crossing notifies exactly once in the cluster. The new owner
does not send it again while the loss stays past the limit; a save (which re-arms it)
makes one more. Counted twice: LimitBreach rows in the database, and `limit` frames seen
by a client socket that stays on across the failover."""

from __future__ import annotations

import psycopg
from django.conf import settings

from tests.cluster.conftest import Cluster
from tests.cluster.test_cluster import cookie, is_live, live_tab
from tests.support.cluster import TAKEOVER
from tests.support.live import DEMO_USER
from tests.support.wait import wait_until

#: Far below the demo portfolio's usual day P&L; AAPL at $1 costs its shares far more.
LOSS_LIMIT = 3000
#: The bounds: the configured intervals plus a margin for a loaded 2-core box.
MARGIN = 15.0
#: A crossing: the quote's flush, one limits evaluation, the breach written and logged.
CROSSING_WITHIN = settings.STREAM_FLUSH_INTERVAL + settings.RISK_LIMITS_INTERVAL + MARGIN
#: A new owner (the lease, the handover delay) with the margin.
TAKEOVER_WITHIN = TAKEOVER + MARGIN
#: The next quotes batch with AAPL (the sandbox ticks several times a second).
QUOTES_WITHIN = settings.STREAM_FLUSH_INTERVAL + MARGIN


def breaches(cluster: Cluster) -> list[tuple[str, int, bool]]:
    """(kind, crossing, delivered) of every breach, in order."""
    with psycopg.connect(cluster.database_url) as db:
        rows = db.execute("SELECT kind, crossing, delivered FROM streaming_limitbreach ORDER BY id")
        return [tuple(row) for row in rows]


def save_limits(client, **body) -> dict:
    response = client.put(
        "/api/risk/limits", json=body, headers={"X-CSRFToken": client.cookies["csrftoken"]}
    )
    assert response.status_code == 200, response.text
    return response.json()


def limit_frames(tab, start: int = 0) -> list[dict]:
    return [f for f in tab.frames[start:] if f["type"] == "limit"]


async def test_a_daily_loss_crossing_notifies_once_across_an_owner_kill(cluster: Cluster):
    control = cluster.sandbox.control()
    demo = cookie(cluster)
    tab_a = await live_tab(cluster.a, demo)
    tab_b = await live_tab(cluster.b, demo)
    for tab in (tab_a, tab_b):
        await tab.wait_for(is_live)
    http = cluster.b.login(*DEMO_USER)
    save_limits(http, daily_loss=LOSS_LIMIT)  # through either process: the owner reloads
    pid = cluster.owner_pid()
    owner, survivor = (cluster.a, cluster.b) if pid == cluster.a.pid else (cluster.b, cluster.a)
    tab = tab_b if survivor is cluster.b else tab_a  # a socket on the process that survives
    assert limit_frames(tab) == []

    # 1. the crossing, while the owner lives
    control.set_price("AAPL", 1.0)
    await tab.wait_for(lambda _: len(limit_frames(tab)) == 1, within=CROSSING_WITHIN)
    await wait_until(lambda: (rows := breaches(cluster)) and all(b[2] for b in rows))
    assert breaches(cluster) == [("daily_loss", 1, True)]
    (first,) = limit_frames(tab)
    assert first["limit"]["limit"] == LOSS_LIMIT and first["limit"]["value"] <= -LOSS_LIMIT

    # 2. kill -9 of the owner while the loss stays past the limit: the new owner loads the
    # limit as crossed today and sends nothing, however many quotes it evaluates
    mark = len(tab.frames)
    owner.kill()
    # the lease, not a live status: one relayed after the kill may be the dead owner's
    await wait_until(lambda: cluster.lease_holder() == survivor.pid, within=TAKEOVER_WITHIN)
    control.set_price("AAPL", 0.5)
    for _ in range(10):  # 10 quote batches with AAPL at the new owner: many evaluations
        seen = len(tab.frames)
        await tab.wait_for(
            lambda f: f["type"] == "quotes" and "AAPL" in f["quotes"],
            within=QUOTES_WITHIN,
            start=seen,
        )
    assert limit_frames(tab, mark) == []
    assert breaches(cluster) == [("daily_loss", 1, True)]

    # 3. a save re-arms it: the new owner crosses it once more, once
    save_limits(http, daily_loss=LOSS_LIMIT + 1)
    await tab.wait_for(lambda _: len(limit_frames(tab, mark)) == 1, within=CROSSING_WITHIN)
    await wait_until(lambda: len(breaches(cluster)) == 2 and all(b[2] for b in breaches(cluster)))
    for _ in range(5):
        seen = len(tab.frames)
        await tab.wait_for(
            lambda f: f["type"] == "quotes" and "AAPL" in f["quotes"],
            within=QUOTES_WITHIN,
            start=seen,
        )
    frames = limit_frames(tab)
    assert len(frames) == 2 and len({f["limit"]["id"] for f in frames}) == 2
    assert breaches(cluster) == [("daily_loss", 1, True), ("daily_loss", 2, True)]
    seqs = [f["seq"] for f in frames]
    assert seqs == sorted(seqs) and frames[0]["epoch"] == frames[-1]["epoch"]
    print(f"\nlimits: {len(breaches(cluster))} breaches, {len(frames)} frames across the kill -9")
    control.close()
    for t in (tab_a, tab_b):
        if t is tab:
            await t.close()
