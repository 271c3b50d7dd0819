"""Broker faults during fills (defect 6): the account side failing never takes market
data down, a dead broker is never shown live, quotes fail over to a healthy link, and
every fill still reaches every open tab exactly once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.chaos.conftest import (
    DEMO_TRADIER,
    DEMO_TT,
    Tabs,
    accounts_of,
    linked_demo_accounts,
    tastytrade_link,
)
from tests.chaos.test_owner_faults import SILENCE_BOUND, assert_clean
from tests.support.clients import StreamClient
from tests.support.cluster import Cluster
from tests.support.orders import market_buy

#: Heartbeats every 2 s (a silent account streamer is stale after 5 s), polls every 2 s.
FAST_BROKERS = {"STREAM_ACCOUNT_HEARTBEAT": "2", "STREAM_ACCOUNT_POLL_INTERVAL": "2"}
#: Ten quote frames: ten flush intervals (0.15 s, tests/support/live.py) at 10 ticks a
#: second is 1.5 s; the rest is a loaded box's margin.
QUOTES_GO_ON = 10 * 0.15 + 8.5


@pytest.fixture
def cluster_env() -> dict[str, str]:
    return FAST_BROKERS


def links_of(tab: StreamClient) -> dict[int, dict[str, Any]]:
    """The tab's current view of every link (snapshot, then status frames)."""
    view: dict[int, dict[str, Any]] = {}
    for _, frame in tab.frames:
        if frame["type"] == "snapshot":
            view = {link["id"]: link for link in frame.get("links", [])}
        elif frame["type"] == "status":
            view[frame["link"]["id"]] = frame["link"]
    return view


def kind_states(tab: StreamClient, link: int, kind: str, since: float = 0.0) -> list[str]:
    """Every state the tab was told for one kind of one link (from `since`, monotonic)."""
    states = []
    for t, frame in tab.frames:
        if t < since:
            continue
        if frame["type"] == "snapshot":
            links = [item for item in frame.get("links", []) if item["id"] == link]
        elif frame["type"] == "status" and frame["link"]["id"] == link:
            links = [frame["link"]]
        else:
            continue
        states += [item["kinds"][kind]["state"] for item in links]
    return states


def kind_history(tab: StreamClient, link: int, kind: str, since: float) -> list[tuple]:
    """What the tab was told of one kind from `since`: (seconds after, frame type, state,
    reason), for a failure to say where a state came from."""
    told = []
    for t, frame in tab.frames:
        if t < since or frame["type"] not in ("snapshot", "status"):
            continue
        links = frame.get("links", []) if frame["type"] == "snapshot" else [frame["link"]]
        for item in links:
            if item["id"] == link:
                said = item["kinds"][kind]
                told.append((round(t - since, 2), frame["type"], said["state"], said.get("reason")))
    return told


def quote_source(tab: StreamClient) -> int | None:
    sources = [link_id for link_id, link in links_of(tab).items() if link.get("quote_source")]
    assert len(sources) <= 1, f"one quote source at a time: {sources}"
    return sources[0] if sources else None


def longest_quote_gap(tab: StreamClient, since: float, until: float) -> float:
    times = [since] + [t for t, f in tab.frames if since <= t <= until and f["type"] == "quotes"]
    return max(b - a for a, b in zip(times, [*times[1:], until], strict=True))


def newest_quote_age(tab: StreamClient) -> float:
    """Seconds since the event time of the newest quote the tab holds."""
    newest = 0
    for _, frame in tab.frames:
        if frame["type"] in ("quotes", "snapshot"):
            newest = max([newest] + [q.get("t") or 0 for q in frame["quotes"].values()])
    return time.time() - newest / 1000


ACCOUNT_FAULTS = {
    # the account streamer closes; the fill's push is on the old connection's way out
    "drop": [("drop", {"target": "streamer", "credential": DEMO_TT})],
    # the account streamer stays open and sends nothing: the fill's push is lost
    "silence": [("silence", {"target": "streamer", "credential": DEMO_TT, "seconds": 60})],
    # the reconnect's REST snapshot meets an expired token, a rate limit, a server error
    "401": [
        ("drop", {"target": "streamer", "credential": DEMO_TT}),
        (
            "http_error",
            {"broker": "tastytrade", "status": 401, "path_prefix": "/customers", "count": 2},
        ),
    ],
    "429": [
        ("drop", {"target": "streamer", "credential": DEMO_TT}),
        (
            "http_error",
            {
                "broker": "tastytrade",
                "status": 429,
                "path_prefix": "/customers",
                "count": 3,
                "retry_after": 1,
            },
        ),
    ],
    "5xx": [
        ("drop", {"target": "streamer", "credential": DEMO_TT}),
        (
            "http_error",
            {"broker": "tastytrade", "status": 503, "path_prefix": "/customers", "count": 3},
        ),
    ],
}


@pytest.mark.parametrize("fault", list(ACCOUNT_FAULTS))
async def test_an_account_fault_during_a_fill(cluster: Cluster, tabs: Tabs, fault: str):
    """The fill reaches every tab once; DXLink of the same link streams on meanwhile."""
    cookie = cluster.cookie()
    control = cluster.sandbox.control()
    opened = [await tabs.ws(cluster.a, cookie, "a-ws"), await tabs.sse(cluster.b, cookie, "b-sse")]
    own = await linked_demo_accounts(control)
    for tab in opened:
        tab.own(own)
    link = tastytrade_link(cluster.a)
    assert quote_source(opened[0]) == link, "tastytrade feeds the quotes"
    # the quotes and the account streamer are live before the fault (on a loaded box
    # DXLink or the account streamer may still be connecting: the drop would find nothing)
    for tab in opened:
        await tab.wait_for(lambda t=tab: links_of(t)[link]["kinds"]["quotes"]["state"] == "live")
        await tab.wait_for(lambda t=tab: links_of(t)[link]["kinds"]["account"]["state"] == "live")
    account = sorted(accounts_of(control, DEMO_TT))[0]
    began = time.monotonic()
    for kind, params in ACCOUNT_FAULTS[fault]:
        assert control.fault(kind, **params)["affected"] >= 1
    order_id = control.place_order(account, market_buy("XLF", 2))["order"]["id"]

    for tab in opened:
        await tab.wait_for(lambda t=tab: t.filled_quantity(link, order_id) == 2, within=30)
    # ...and the account kind is live again (it said so only after it recovered)
    for tab in opened:
        await tab.wait_for(lambda t=tab: links_of(t)[link]["kinds"]["account"]["state"] == "live")
    healed = time.monotonic()
    for tab in opened:
        assert_clean(tab)
        assert tab.max_silence() <= SILENCE_BOUND, tab.name
        # market data of the same link never stopped while its account side failed
        assert set(kind_states(tab, link, "quotes", since=began)) <= {"live"}, (
            tab.name,
            kind_history(tab, link, "quotes", began),
        )
        assert longest_quote_gap(tab, began, healed) < 2.0, tab.name
        assert quote_source(tab) == link
    if fault == "silence":  # a silent account streamer is shown stale, never live
        assert "stale" in kind_states(opened[0], link, "account", since=began)
    control.close()


@pytest.fixture
def tradier_links(cluster: Cluster) -> list[int]:
    out = cluster.a.python(
        "from accounts.models import BrokerLink\n"
        "print('TRADIER', *BrokerLink.objects.filter(user__username='demo', broker='tradier')"
        ".order_by('id').values_list('id', flat=True))",
    )
    line = next(line for line in out.splitlines() if line.startswith("TRADIER"))
    return [int(x) for x in line.split()[1:]]


async def test_a_dead_broker_is_stale_and_quotes_fail_over(
    cluster: Cluster, tabs: Tabs, tradier_links: list[int]
):
    """tastytrade stops answering (sockets open, nothing moves, REST hangs): its kinds go
    stale, Tradier takes the quotes over within seconds, a fill made meanwhile arrives
    once the broker is back."""
    cookie = cluster.cookie()
    control = cluster.sandbox.control()
    ws = await tabs.ws(cluster.a, cookie, "a-ws")
    sse = await tabs.sse(cluster.b, cookie, "b-sse")
    own = await linked_demo_accounts(control)
    ws.own(own)
    sse.own(own)
    link = tastytrade_link(cluster.a)
    assert quote_source(ws) == link and tradier_links
    account = sorted(accounts_of(control, DEMO_TT))[0]

    began = time.monotonic()
    control.fault("blackout", broker="tastytrade", seconds=40)
    order_id = control.place_order(account, market_buy("XLE", 1))["order"]["id"]
    for tab in (ws, sse):
        # the quotes are stale within the feed's cadence and fail over 3 s later...
        await tab.wait_for(lambda t=tab: quote_source(t) in tradier_links, within=20)
    failed_over = time.monotonic() - began
    print(f"quotes failed over to Tradier after {failed_over:.1f} s")
    # a ticking DXLink that goes silent is stale after the cadence's 2 s floor (+ a 1 s
    # sweep), and 3 s later (FAILOVER_AFTER) Tradier takes over: ~6 s plus a frame
    assert failed_over < 12, f"quotes failed over after {failed_over:.1f} s"
    for tab in (ws, sse):
        # ...and the link is never shown live: its account data leaves `live` after 2.5
        # missed heartbeats, its quotes are no longer in use
        await tab.wait_for(
            lambda t=tab: links_of(t)[link]["kinds"]["account"]["state"] != "live", within=10
        )
        assert links_of(tab)[link]["state"] != "live", repr(links_of(tab)[link]["kinds"])
    # ...and fresh quotes flow again, from Tradier
    switched = time.monotonic()
    for tab in (ws, sse):
        await tab.wait_for(lambda t=tab: t.quote_frames_since(switched) >= 5, within=10)
        assert newest_quote_age(tab) < 5

    control.fault("blackout", broker="tastytrade", seconds=0)  # the broker is back
    for tab in (ws, sse):
        await tab.wait_for(lambda t=tab: t.filled_quantity(link, order_id) == 1, within=40)
        await tab.wait_for(
            lambda t=tab: links_of(t)[link]["kinds"]["account"]["state"] == "live", within=30
        )
        assert_clean(tab)
        assert tab.max_silence() <= SILENCE_BOUND, tab.name
    control.close()


async def test_every_broker_dead_nothing_is_live(cluster: Cluster, tabs: Tabs):
    """The whole sandbox stops answering: no link's data kind in use stays live, the
    newest quote ages instead of being refreshed, and everything recovers after."""
    cookie = cluster.cookie()
    control = cluster.sandbox.control()
    ws = await tabs.ws(cluster.a, cookie, "a-ws")
    ws.own(await linked_demo_accounts(control))
    await ws.wait_for(lambda: all(v["state"] == "live" for v in links_of(ws).values()))

    control.fault("blackout", seconds=40)
    began = time.monotonic()

    def nothing_live() -> bool:
        for view in links_of(ws).values():
            kinds = [k["state"] for k in view["kinds"].values() if k["state"] != "idle"]
            if "live" in kinds or view["state"] == "live":
                return False
        return True

    await ws.wait_for(nothing_live, within=30)
    # no quote newer than the blackout reached the tab: what it shows is aging
    assert newest_quote_age(ws) >= time.monotonic() - began - 1.0

    control.fault("blackout", seconds=0)
    await ws.wait_for(lambda: all(v["state"] == "live" for v in links_of(ws).values()), within=60)
    await ws.wait_for(lambda: newest_quote_age(ws) < 3, within=10)
    assert_clean(ws)
    control.close()


async def test_tradier_polls_failing_make_its_account_stale_not_its_quotes(
    cluster: Cluster, tabs: Tabs, tradier_links: list[int]
):
    """Tradier's account polls answer 500: its account kind is stale within a poll or
    two (values "as of"), nothing else changes, and it is live again when polls work."""
    cookie = cluster.cookie()
    control = cluster.sandbox.control()
    ws = await tabs.ws(cluster.a, cookie, "a-ws")
    ws.own(await linked_demo_accounts(control))
    tradier = tradier_links[0]
    await ws.wait_for(lambda: links_of(ws)[tradier]["kinds"]["account"]["state"] == "live")
    tt = tastytrade_link(cluster.a)
    # tastytrade's quotes live first: what they do from here on is what is checked (on a
    # busy box its DXLink may still be connecting when Tradier's account is up)
    await ws.wait_for(lambda: links_of(ws)[tt]["kinds"]["quotes"]["state"] == "live")
    began = time.monotonic()
    control.fault(
        "http_error",
        broker="tradier",
        credential=DEMO_TRADIER,
        status=500,
        path_prefix="/v1/accounts",
        count=None,
    )
    await ws.wait_for(
        lambda: links_of(ws)[tradier]["kinds"]["account"]["state"] != "live", within=8
    )
    went_stale = time.monotonic() - began
    assert links_of(ws)[tradier]["state"] != "live"
    # the quotes go on meanwhile (tastytrade's, at 10 ticks a second: 10 frames come within
    # a few flush intervals; the rest of the bound is a loaded box's margin)
    await ws.wait_for(lambda: ws.quote_frames_since(began) >= 10, within=QUOTES_GO_ON)
    assert links_of(ws)[tradier]["kinds"]["account"]["state"] != "live", "still failing"
    assert set(kind_states(ws, tt, "quotes", since=began)) <= {"live"}

    control.clear_faults()
    await ws.wait_for(
        lambda: links_of(ws)[tradier]["kinds"]["account"]["state"] == "live", within=30
    )
    assert_clean(ws)
    assert went_stale < 8
    control.close()
