"""One tab's view of the stream (streaming/tabs/session.py), in-process, over a fake
transport: hold, duplicate, gap, catch-up, new epoch, resume, slow transport.

The session runs against this process's real agents in single-process mode (local lease, local
event log, in-memory layer) for a user without links: the owner's account frames are
made here, written to the event log as the manager would, and handed to the session as
the fan-out would, so a test can drop, repeat or reorder them.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson
import pytest
from channels.db import database_sync_to_async
from django.apps import apps
from django.contrib.auth import get_user_model
from prometheus_client import REGISTRY

from streaming.brokers.values import now_ms
from streaming.cluster.agents import Agents
from streaming.cluster.fanout import frame_message
from streaming.contract.close_codes import CLOSE_RESYNC, CLOSE_TOO_SLOW, CLOSE_UNAUTHENTICATED
from streaming.contract.layer import ToTab
from streaming.contract.risk import Metrics
from streaming.stream.position import Position
from streaming.tabs import heartbeat as tab_heartbeat
from streaming.tabs import session as tab_session
from streaming.tabs import slow_client
from streaming.tabs.carrier import TabParts
from streaming.tabs.session import TabSession
from streaming.tabs.slow_client import CLOSE_SLOW_ABOVE, HOLD_QUOTES_ABOVE
from tests.support.stream import owner_frame
from tests.support.wait import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


class FakeTransport:
    """Records what the session sends; `backlog` is set by the test, and so are the bytes
    the client acknowledged (`acked`; None: unknown, as off Linux)."""

    def __init__(self) -> None:
        self.frames: list[dict] = []
        #: When each frame went out (time.monotonic()).
        self.times: list[float] = []
        self.positions: list[tuple[str | None, int | None]] = []
        self.ended: int | None = None
        self.pending = 0
        self.sent = 0
        self.acked: int | None = None

    async def emit(self, text: str, seq: int | None = None, epoch: str | None = None) -> None:
        self.frames.append(orjson.loads(text))
        self.times.append(time.monotonic())
        self.positions.append((epoch, seq))
        self.sent += len(text)

    async def end(self, code: int) -> None:
        self.ended = code

    def backlog(self) -> int:
        return self.pending

    def written(self) -> int | None:
        return None if self.acked is None else self.sent

    def taken(self) -> int | None:
        return self.acked

    def of(self, kind: str) -> list[dict]:
        return [f for f in self.frames if f["type"] == kind]

    def account_seqs(self) -> list[int]:
        return [f["seq"] for f in self.frames if f["type"] == "balance"]


def process_node() -> TabParts:
    """This process's node: what its tabs share (tests/conftest.py gives each test its own)."""
    return apps.get_app_config("streaming").node


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.STREAM_IDLE_GRACE = 0.1
    settings.STREAM_LEASE_RENEW = 0.05


@pytest.fixture
async def user(agents):
    make = database_sync_to_async(get_user_model().objects.create_user)
    yield await make(f"tab-{uuid.uuid4().hex[:8]}", password="pw")
    await agents.stop_all()


async def open_tab(
    agents: Agents, user, since: Position | None = None
) -> tuple[TabSession, FakeTransport]:
    transport = FakeTransport()
    session = TabSession(
        transport, f"tab!{uuid.uuid4().hex}", session_key=None, parts=process_node()
    )
    await session.begin(user, since, {"SPY"})
    return session, transport


def resyncs(reason: str) -> float:
    """This process's `streamdesk_resyncs_total{reason}`."""
    return REGISTRY.get_sample_value("streamdesk_resyncs_total", {"reason": reason}) or 0.0


async def metrics_fetched(agents: Agents, user) -> dict:
    """The stream's market metrics after the metrics listener's first round (for a user
    without links: SPY, every field unknown), so what a resume sends is known."""
    manager = agents.get(user.id)
    assert manager is not None
    await wait_until(lambda: manager.state.metrics)
    return dict(manager.state.metrics)


async def live_tab(agents: Agents, user) -> tuple[TabSession, FakeTransport]:
    """A tab that got its snapshot from the (local) owner."""
    session, transport = await open_tab(agents, user)
    await wait_until(lambda: transport.of("snapshot"))
    return session, transport


async def test_hello_then_a_snapshot_at_the_streams_position(agents, user):
    session, transport = await live_tab(agents, user)
    hello, snapshot = transport.frames[:2]
    assert (hello["type"], snapshot["type"]) == ("hello", "snapshot")
    assert transport.positions[1] == (snapshot["epoch"], snapshot["seq"])
    assert (session.epoch, session.last_seq) == (snapshot["epoch"], snapshot["seq"])
    assert not session.awaiting_snapshot


async def test_account_frames_in_order_and_a_duplicate_is_dropped(agents, user):
    session, transport = await live_tab(agents, user)
    one, two = await owner_frame(agents, user), await owner_frame(agents, user)
    for message in (one, two, two, one):
        await session.stream_frame(message)
    assert transport.account_seqs() == [1, 2]


async def test_a_gap_is_filled_from_the_event_log_in_order(agents, user):
    session, transport = await live_tab(agents, user)
    one, _lost, three = [await owner_frame(agents, user) for _ in range(3)]
    await session.stream_frame(one)
    await session.stream_frame(three)
    assert transport.account_seqs() == [1, 2, 3]
    assert transport.ended is None


async def test_a_gap_the_log_cannot_fill_ends_the_tab_with_4409(agents, user):
    """…and counts one `resyncs{reason="gap"}` (the operator's sign of lost frames)."""
    session, transport = await live_tab(agents, user)
    await session.stream_frame(await owner_frame(agents, user))
    manager = agents.get(user.id)
    before = resyncs("gap")
    manager.state.seq += 5  # frames the log never saw (a Redis outage)
    await session.stream_frame(await owner_frame(agents, user))
    assert transport.ended == CLOSE_RESYNC
    assert transport.account_seqs() == [1]
    assert resyncs("gap") - before == 1


async def test_frames_before_the_snapshot_are_held_then_sent_after_it(agents, user):
    """A tab that waits for a remote owner's snapshot holds what the fan-out brings
    meanwhile; after the snapshot, only the frames newer than it go out, in order."""
    session, transport = await live_tab(agents, user)
    session.awaiting_snapshot = True  # as after an owner change
    frames = [await owner_frame(agents, user) for _ in range(3)]
    quotes = {"type": ToTab.FRAME, "kind": "quotes", "text": '{"type":"quotes"}', "seq": None}
    for message in (frames[0], quotes, frames[1], frames[2]):
        await session.stream_frame(message)
    assert transport.account_seqs() == []
    snapshot = agents.get(user.id).snapshot()
    snapshot["seq"] = 1  # taken after frame 1
    await session.stream_snapshot({"type": ToTab.SNAPSHOT, "text": orjson.dumps(snapshot)})
    assert transport.frames[-3]["type"] == "snapshot"
    assert transport.account_seqs() == [2, 3]
    assert not [f for f in transport.frames[-3:] if f["type"] == "quotes"]


async def test_a_head_ahead_of_the_tab_fetches_what_it_missed(agents, user):
    session, transport = await live_tab(agents, user)
    await owner_frame(agents, user)
    await owner_frame(agents, user)  # both lost on the way to this tab
    head = agents.get(user.id).position
    await session.stream_head({"type": ToTab.HEAD, "epoch": head.epoch, "seq": head.seq})
    assert transport.account_seqs() == [1, 2]


async def test_a_new_epoch_gets_a_fresh_snapshot_before_its_first_frame(agents, user):
    session, transport = await live_tab(agents, user)
    await session.stream_frame(await owner_frame(agents, user))
    manager = agents.get(user.id)
    old_epoch = manager.state.epoch
    # the store lost the stream's head and a new owner numbers from a new epoch
    agents.event_log._logs.pop(user.id, None)
    agents.event_log._epochs[user.id] = "NewEpoch1"
    manager.state.epoch, manager.state.seq = "NewEpoch1", 0
    await session.stream_frame(await owner_frame(agents, user))
    snapshots = transport.of("snapshot")
    assert [s["epoch"] for s in snapshots] == [old_epoch, "NewEpoch1"]
    assert snapshots[-1]["seq"] == 1  # the new epoch's first event is in it
    await session.stream_frame(await owner_frame(agents, user))
    new_from = transport.frames.index(snapshots[-1])
    after = [(f["epoch"], f["seq"]) for f in transport.frames[new_from + 1 :]]
    assert after == [("NewEpoch1", 2)]


async def test_a_new_epochs_refresh_and_first_frame_racing_resync_the_tab_once(agents, user):
    """An owner change brings a refresh snapshot of the new epoch and the new epoch's first
    frame at once (seen in CI after a kill -9: `resyncs{epoch}` counted a tab twice). The
    frame takes the tab to the new epoch first; the refresh then finds it there: one
    resync, one snapshot of the new epoch, the frame once."""
    import asyncio

    session, transport = await live_tab(agents, user)
    manager = agents.get(user.id)
    agents.event_log._logs.pop(user.id, None)
    agents.event_log._epochs[user.id] = "NewEpoch2"
    manager.state.epoch, manager.state.seq = "NewEpoch2", 0
    first = await owner_frame(agents, user)
    refresh = manager.snapshot({"SPY"})
    before = resyncs("epoch")
    async with session.order_lock:  # the fan-out is busy: both queue behind it, frame first
        frame_task = asyncio.create_task(session.stream_frame(first))
        await asyncio.sleep(0)
        snapshot_task = asyncio.create_task(
            session.stream_snapshot({"type": ToTab.SNAPSHOT, "text": orjson.dumps(refresh)})
        )
        await asyncio.sleep(0)
    await asyncio.gather(frame_task, snapshot_task)
    assert resyncs("epoch") - before == 1
    new = [s for s in transport.of("snapshot") if s["epoch"] == "NewEpoch2"]
    assert len(new) == 1
    assert (session.epoch, session.last_seq) == ("NewEpoch2", 1)
    sent = [p for p in transport.positions if p == ("NewEpoch2", 1)]
    assert len(sent) == 1  # in the snapshot, not again as a frame


async def test_resume_sends_exactly_the_missed_frames_then_the_live_state(agents, user):
    session, _ = await live_tab(agents, user)
    await metrics_fetched(agents, user)
    start = agents.get(user.id).position
    for _ in range(3):
        await owner_frame(agents, user)
    await session.finish()
    _, resumed = await open_tab(agents, user, since=Position(start.epoch, start.seq + 1))
    await wait_until(lambda: resumed.of("watchlist"))  # the live state, after the frames
    assert [f["type"] for f in resumed.frames[:2]] == ["hello", "resumed"]
    assert resumed.frames[1] == {
        "type": "resumed",
        "epoch": start.epoch,
        "from": start.seq + 1,
        "count": 2,
    }
    assert resumed.account_seqs() == [start.seq + 2, start.seq + 3]
    assert [f["type"] for f in resumed.frames] == [
        "hello",
        "resumed",
        "balance",
        "balance",
        "metrics",
        "watchlist",
    ]


AAPL_METRICS: Metrics = {
    "beta": 1.2,
    "beta_source": "tastytrade",
    "beta_window": None,
    "beta_as_of": 1_700_000_000_000,
    "iv_index": 0.25,
    "iv_rank": 40.0,
    "iv_percentile": 55.0,
    "iv_source": "tastytrade",
    "expiration_ivs": {},
    "dividend_yield": 0.005,
    "t": 1_700_000_000_000,
}


async def test_a_resumed_tab_gets_the_streams_market_metrics_with_the_live_state(agents, user):
    """Metrics are not in the event log: without them in the live state a resumed tab
    would show no beta or IV rank until the next refresh (15 min)."""
    session, _ = await live_tab(agents, user)
    fetched = await metrics_fetched(agents, user)
    manager = agents.get(user.id)
    assert manager is not None
    manager.state.set_metrics({"AAPL": AAPL_METRICS})
    start = manager.position
    await owner_frame(agents, user)
    await session.finish()
    _, resumed = await open_tab(agents, user, since=start)
    await wait_until(lambda: resumed.of("watchlist"))  # the live state has gone out
    assert [f["type"] for f in resumed.frames] == [
        "hello",
        "resumed",
        "balance",
        "metrics",
        "watchlist",
    ]
    (frame,) = resumed.of("metrics")
    assert frame["metrics"] == {**fetched, "AAPL": AAPL_METRICS}
    assert isinstance(frame["t"], int)


async def test_a_slow_transport_gets_the_newest_quotes_once_it_drains(agents, user):
    session, transport = await live_tab(agents, user)
    transport.pending = HOLD_QUOTES_ABOVE + 1
    for bid in (1.0, 2.0, 3.0):
        text = orjson.dumps({"type": "quotes", "quotes": {"SPY": {"bid": bid}}, "greeks": {}})
        await session.stream_frame(
            {"type": ToTab.FRAME, "kind": "quotes", "text": text.decode(), "seq": None}
        )
    assert transport.of("quotes") == []
    transport.pending = 0
    await wait_until(lambda: transport.of("quotes"))
    (quotes,) = transport.of("quotes")
    assert quotes["quotes"] == {"SPY": {"bid": 3.0}}


async def test_an_account_frame_behind_a_large_backlog_ends_the_tab_with_4408(agents, user):
    session, transport = await live_tab(agents, user)
    transport.pending = CLOSE_SLOW_ABOVE + 1
    await session.stream_frame(await owner_frame(agents, user))
    assert transport.ended == CLOSE_TOO_SLOW
    assert transport.account_seqs() == []


async def test_an_account_frame_not_taken_in_time_ends_the_tab_however_little_waited(
    agents, user, monkeypatch
):
    """Little in front of it (no quotes held), but the client never acknowledges it."""
    monkeypatch.setattr(slow_client, "ACCOUNT_WAIT_LIMIT", 0.3)
    monkeypatch.setattr(slow_client, "DRAIN_POLL", 0.02)
    session, transport = await live_tab(agents, user)
    transport.acked = transport.sent  # everything so far taken; nothing after
    transport.pending = 100
    await session.stream_frame(await owner_frame(agents, user))
    assert transport.account_seqs() != [] and transport.ended is None
    await wait_until(lambda: transport.ended == CLOSE_TOO_SLOW, within=5)


async def test_an_account_frame_taken_in_time_keeps_the_tab(agents, user, monkeypatch):
    monkeypatch.setattr(slow_client, "ACCOUNT_WAIT_LIMIT", 0.3)
    monkeypatch.setattr(slow_client, "DRAIN_POLL", 0.02)
    session, transport = await live_tab(agents, user)
    transport.acked = transport.sent
    await session.stream_frame(await owner_frame(agents, user))
    assert session.account_waits.watch.watching(session)  # sent, not yet acknowledged

    def acknowledge() -> None:
        transport.acked = transport.sent

    asyncio.get_running_loop().call_later(0.1, acknowledge)
    await wait_until(lambda: not session.account_waits.watch.watching(session), within=5)
    assert transport.ended is None


async def test_a_session_that_ended_closes_the_tab_with_4401_once(agents, user):
    session, transport = await live_tab(agents, user)
    await session.session_ended()
    await session.session_ended()
    assert transport.ended == CLOSE_UNAUTHENTICATED
    await session.stream_frame(await owner_frame(agents, user))
    assert transport.account_seqs() == []


def test_each_tab_expires_after_its_own_ttl():
    """A polling tab's symbols are held for a short TTL of its own (it re-sends every poll);
    a socket's tab keeps the long one."""
    from streaming.stream.subscriptions import TabSymbols

    tabs = TabSymbols()
    tabs.set("socket-1", ["SPY"], set())
    tabs.set("poll:abc", ["XLE"], set(), ttl=0.0)
    assert tabs.silent() == ["poll:abc"]
    assert tabs.silent(ttl=0.0) == ["socket-1", "poll:abc"]


def shown_quotes(transport: FakeTransport) -> dict[str, dict]:
    """What a browser holds after applying every frame in order (state.js: snapshot
    quotes, then each entry's fields over them, `t` never moving backwards)."""
    held: dict[str, dict] = {}
    for frame in transport.frames:
        if frame["type"] == "snapshot":
            held = {s: dict(q) for s, q in frame["quotes"].items()}
        elif frame["type"] == "quotes":
            for symbol, fields in frame["quotes"].items():
                before = held.get(symbol, {}).get("t", 0)
                held.setdefault(symbol, {}).update(fields)
                held[symbol]["t"] = max(before, held[symbol]["t"])
    return held


async def test_a_quote_batch_older_than_the_snapshot_is_not_sent_after_it(agents, user):
    """The owner takes a quote batch (bid 1.0), the price moves (bid 2.0), a new tab gets
    its snapshot (2.0), and only then the older batch reaches it (it waited in the outbox
    or behind another tab's send). Sent, it would show 1.0 under the time of 2.0: an older
    value labelled with a newer time. It is older than the snapshot: it stays unsent."""
    await live_tab(agents, user)
    manager = agents.get(user.id)
    manager.quote("SPY", {"bid": 1.0, "t": 1_000})
    frame = manager._batch.take(now_ms() - 5)  # the flusher's step, just before
    older = frame_message(frame, orjson.dumps(frame).decode())
    manager.quote("SPY", {"bid": 2.0, "t": 2_000})
    session, transport = await live_tab(agents, user)
    assert transport.of("snapshot")[-1]["quotes"]["SPY"]["bid"] == 2.0
    await session.stream_frame(older)
    assert shown_quotes(transport)["SPY"] == {"bid": 2.0, "t": 2_000}
    assert transport.of("quotes") == []
    # a batch taken after the snapshot goes out as usual
    manager.quote("SPY", {"bid": 3.0, "t": 3_000})
    frame = manager._batch.take(now_ms() + 5)
    await session.stream_frame(frame_message(frame, orjson.dumps(frame).decode()))
    assert shown_quotes(transport)["SPY"] == {"bid": 3.0, "t": 3_000}


async def test_a_status_older_than_the_snapshot_is_not_sent_after_it(agents, user):
    """A link's status made before a tab's snapshot (DXLink still connecting) reaches a
    tab of another process only after the snapshot (which says live): the layer does not
    order an owner's group frames against its answer to the snapshot request. Sent, it
    would show the link connecting again though it is live. It stays unsent; a status
    made after the snapshot goes out."""
    session, transport = await live_tab(agents, user)
    taken_at = transport.of("snapshot")[-1]["t"]

    def status(state: str, t: int) -> dict:
        frame = {"type": "status", "link": {"id": 7, "kinds": {"quotes": {"state": state}}}}
        frame["t"] = t
        return frame_message(frame, orjson.dumps(frame).decode())

    await session.stream_frame(status("connecting", taken_at - 1))
    assert transport.of("status") == []
    await session.stream_frame(status("reconnecting", taken_at + 1))
    states = [f["link"]["kinds"]["quotes"]["state"] for f in transport.of("status")]
    assert states == ["reconnecting"]


class LostToOwner:
    """The tabs' messages to an owner in another process, recorded and lost on the way
    (the owner never answers): what a tab must repeat, it repeats."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.announces: list[str] = []

    async def request_snapshot(self, user_id: int, reply: str, symbols: list[str]) -> None:
        self.requests.append(reply)

    async def announce_symbols(self, user_id: int, tab: str, symbols: list[str]) -> None:
        self.announces.append(tab)


@pytest.fixture
def lost(agents, monkeypatch) -> LostToOwner:
    """Tabs of a process that does not own the user's stream, whose messages to the
    owner are lost; the heartbeat's periods short (0.1 s, symbols 0.3 s)."""
    owner = LostToOwner()
    monkeypatch.setattr(agents, "get", lambda user_id: None)  # the owner is elsewhere
    monkeypatch.setattr(tab_session.owner_rpc, "request_snapshot", owner.request_snapshot)
    monkeypatch.setattr(tab_session.owner_rpc, "announce_symbols", owner.announce_symbols)
    monkeypatch.setattr(tab_heartbeat, "SNAPSHOT_RETRY", 0.1)
    monkeypatch.setattr(tab_heartbeat, "SYMBOLS_HEARTBEAT", 0.3)
    return owner


def tab_tasks() -> list[str]:
    """The running tasks of a tab's own (a coroutine of TabSession's)."""
    names = [getattr(t.get_coro(), "__qualname__", "") for t in asyncio.all_tasks()]
    return [name for name in names if name.startswith("TabSession.")]


async def test_unanswered_snapshot_requests_repeat_on_the_process_heartbeat(agents, user, lost):
    """Three tabs whose snapshot requests are lost: each request is repeated every
    SNAPSHOT_RETRY by the process's one heartbeat (no task per tab at rest); an answered
    tab stops asking; a closed tab leaves the heartbeat, which ends with the last."""
    tabs = [await open_tab(agents, user) for _ in range(3)]
    channels = [session.channel_name for session, _ in tabs]
    assert sorted(lost.requests) == sorted(channels)  # begin() asked once each
    heartbeat = process_node().heartbeat
    assert len(heartbeat) == 3

    def asked(channel: str) -> int:
        return lost.requests.count(channel)

    await wait_until(lambda: all(asked(c) >= 3 for c in channels), what="two repeats each")
    loops = [t for t in asyncio.all_tasks() if t.get_name() == "tab-heartbeat"]
    assert len(loops) == 1
    assert tab_tasks() == []

    # the owner's answer reaches the first tab: it stops asking, the others go on (the
    # manager this process builds for the answer starts beside the tabs, on a busy box later)
    first, transport = tabs[0]
    agent = agents.agent(user.id)
    assert agent is not None
    manager = await wait_until(lambda: agent.manager, what="the manager that answers")
    snapshot = manager.snapshot(first.symbols)
    await first.stream_snapshot({"text": orjson.dumps(snapshot).decode()})
    assert transport.of("snapshot")
    answered = asked(channels[0])
    others = asked(channels[1])
    await wait_until(lambda: asked(channels[1]) >= others + 2, what="the others repeat")
    assert asked(channels[0]) == answered

    # closed tabs leave the heartbeat: nothing is kept for them, its task ends
    await tabs[1][0].finish()
    closed = asked(channels[1])
    last = asked(channels[2])
    await wait_until(lambda: asked(channels[2]) >= last + 2, what="the last one repeats")
    for session, _ in (tabs[0], tabs[2]):
        await session.finish()
    assert len(heartbeat) == 0
    await wait_until(lambda: heartbeat._task.done(), what="the heartbeat ends")
    assert asked(channels[1]) == closed


async def test_every_tab_re_announces_its_symbols_on_the_process_heartbeat(agents, user, lost):
    """The owner forgets a tab that stays silent: each tab re-sends its symbols every
    SYMBOLS_HEARTBEAT (not only the first, not only once)."""
    tabs = [await open_tab(agents, user) for _ in range(2)]
    channels = [session.channel_name for session, _ in tabs]
    at_begin = {c: lost.announces.count(c) for c in channels}
    await wait_until(
        lambda: all(lost.announces.count(c) >= at_begin[c] + 2 for c in channels),
        what="two re-announces each",
    )
    for session, _ in tabs:
        await session.finish()
    assert len(process_node().heartbeat) == 0


async def test_tabs_with_the_same_symbols_share_one_set_and_a_change_is_one_tabs_own(agents, user):
    """A user's tabs with the same watchlist hold one set of one copy of each symbol
    (interned: the watchlist loaded per tab and the client's decoded `subscribe` are
    the same strings); a tab that subscribes more gets a set of its own, the others keep
    theirs."""
    (a, _), (b, tb) = await live_tab(agents, user), await live_tab(agents, user)
    (c, _) = await open_tab(agents, user)
    assert a.symbols == {"SPY"} and a.symbols is b.symbols is c.symbols
    await b.change_symbols(True, ["spy", "qqq"])
    assert tb.of("subscribed")[-1]["symbols"] == ["QQQ", "SPY"]
    assert b.symbols == {"SPY", "QQQ"} and a.symbols == c.symbols == {"SPY"}
    assert a.symbols is c.symbols
    (spy_b,) = [s for s in b.symbols if s == "SPY"]
    (spy_a,) = a.symbols
    assert spy_b is spy_a  # one string, whichever way it came
    await a.change_symbols(True, ["QQQ"])  # now the same as b's: shared again
    assert a.symbols is b.symbols and c.symbols == {"SPY"}
    await a.change_symbols(False, ["QQQ"])
    assert a.symbols == {"SPY"} and b.symbols == {"SPY", "QQQ"}


def test_the_owners_tab_sets_share_equal_sets_and_strings():
    """The owner's copy of each tab's symbols: equal sets are one set, strings one copy;
    a tab's change replaces its own set only."""
    from streaming.stream.subscriptions import TabSymbols

    tabs = TabSymbols()
    tabs.set("t1", ["SPY", "QQ" + "Q"], set())
    tabs.set("t2", ["QQ" + "Q", "SPY"], set())
    assert tabs.by_tab["t1"] is tabs.by_tab["t2"]
    tabs.set("t2", ["SPY"], set())
    assert tabs.by_tab["t1"] == {"SPY", "QQQ"} and tabs.by_tab["t2"] == {"SPY"}
    (spy1,) = [s for s in tabs.by_tab["t1"] if s == "SPY"]
    (spy2,) = tabs.by_tab["t2"]
    assert spy1 is spy2
