"""Several daphne processes + real Redis + the sandbox, with real websocket clients:
one broker session per credential, failover after kill -9, resume without loss, Redis
restart recovery, and user isolation across processes."""

from __future__ import annotations

import asyncio
import time

from sandbox.core.credentials import credential_id
from tests.cluster.conftest import Cluster, SessionWatch, Tab
from tests.support.live import DEMO_USER
from tests.support.sdk import SECRET

DEMO_CREDENTIAL = credential_id("demo-refresh-token")
#: The demo trader's Alpaca key (one trade-event stream allowed per key).
DEMO_ALPACA = credential_id("DEMOALPACAKEY")
DEMO_OTHER_BROKERS = (credential_id("demo-tradier-token"), DEMO_ALPACA)
MARKET_BUY = {
    "time-in-force": "Day",
    "order-type": "Market",
    "legs": [
        {"instrument-type": "Equity", "symbol": "DIA", "action": "Buy to Open", "quantity": 1}
    ],
}


def cookie(cluster: Cluster, username: str = DEMO_USER[0], password: str = DEMO_USER[1]) -> str:
    client = cluster.a.login(username, password)
    return cluster.a.cookie_header(client)


def is_quotes(symbol: str):
    return lambda f: f["type"] == "quotes" and symbol in f["quotes"]


def is_live(f) -> bool:
    return f["type"] == "status" and f["link"]["state"] == "live"


def alpaca_cursor(app) -> str:
    """The demo trader's Alpaca replay checkpoint, as stored in the shared database."""
    return app.python(
        "from streaming.models import StreamCheckpoint\n"
        "print(StreamCheckpoint.objects.filter(stream='alpaca-events')"
        ".values_list('cursor', flat=True).first() or '')",
    ).strip()


async def live_tab(app, cookie_header: str, since: str | None = None) -> Tab:
    tab = await Tab(app, cookie_header, since).open()
    await tab.wait_for(lambda f: f["type"] in ("snapshot", "resumed"))
    return tab


async def reconnecting_tab(app, cookie_header: str, attempts: int = 5) -> Tab:
    """Like the browser: a socket closed while the server recovers is simply reopened."""
    for _ in range(attempts):
        try:
            tab = await Tab(app, cookie_header).open()
        except Exception:  # the handshake itself failed while the server recovers
            await asyncio.sleep(0.5)
            continue
        try:
            await tab.wait_for(lambda f: f["type"] in ("snapshot", "resumed"), within=10)
            await asyncio.sleep(1.5)  # stays open past the server's recovery pass
            if tab.closed_code is None:
                return tab
        except AssertionError:
            pass
        await tab.close()
        await asyncio.sleep(0.5)
    raise AssertionError("could not get a stable socket")


async def test_one_broker_session_per_credential_and_isolation(cluster: Cluster):
    """Two users, each with tabs on both processes: each credential has exactly one DXLink
    and one account-streamer session at the broker at every sampled instant, every tab
    gets quotes, and no tab ever sees the other user's accounts."""
    cluster.a.python(
        "from django.contrib.auth import get_user_model\n"
        "from accounts.services import broker_link_create\n"
        "from streaming.links.verify import broker_link_verify\n"
        "u = get_user_model().objects.create_user('trader2', password='pw-trader2')\n"
        "l = broker_link_create(user=u, broker='tastytrade', label='t2',"
        f" provider_secret='{SECRET}', refresh_token='trader2-refresh')\n"
        "broker_link_verify(link=l)\n",
    )
    demo, other = cookie(cluster), cookie(cluster, "trader2", "pw-trader2")
    with (
        SessionWatch(cluster.sandbox.control(), DEMO_CREDENTIAL) as demo_watch,
        SessionWatch(cluster.sandbox.control(), credential_id("trader2-refresh")) as other_watch,
        SessionWatch(cluster.sandbox.control(), DEMO_ALPACA) as alpaca_watch,
    ):
        tabs = {
            "demo-a": await live_tab(cluster.a, demo),
            "demo-b": await live_tab(cluster.b, demo),
            "other-a": await live_tab(cluster.a, other),
            "other-b": await live_tab(cluster.b, other),
        }
        for tab in tabs.values():
            await tab.wait_for(is_quotes("SPY"))
        control = cluster.sandbox.control()
        state = control.state()["credentials"]
        demo_accounts = set(state[DEMO_CREDENTIAL]["accounts"])
        # the demo trader's Tradier and Alpaca accounts are theirs too
        demo_all = demo_accounts | {
            number for cid in DEMO_OTHER_BROKERS for number in state[cid]["accounts"]
        }
        other_accounts = set(state[credential_id("trader2-refresh")]["accounts"])
        control.place_order(sorted(demo_accounts)[0], MARKET_BUY)
        control.place_order(sorted(other_accounts)[0], MARKET_BUY)
        for tab in tabs.values():
            await tab.wait_for(lambda f: f["type"] == "order" and f["order"]["status"] == "Filled")
        await asyncio.sleep(1.0)
    assert demo_watch.samples > 10 and other_watch.samples > 10
    assert (demo_watch.max_dxlink, demo_watch.max_streamer) == (1, 1)
    assert (other_watch.max_dxlink, other_watch.max_streamer) == (1, 1)
    assert alpaca_watch.samples > 10 and alpaca_watch.max_alpaca == 1  # Alpaca's one-stream rule
    for name, tab in tabs.items():
        mine, theirs = (
            (demo_all, other_accounts) if name.startswith("demo") else (other_accounts, demo_all)
        )
        assert tab.accounts_seen() and tab.accounts_seen() <= mine, name
        assert not tab.accounts_seen() & theirs, name
        await tab.close()


async def test_owner_killed_another_process_takes_over(cluster: Cluster):
    """kill -9 of the owning process: the other process takes the stream over within 10 s,
    its tab sees the link live again and quotes flowing, and the broker never sees two
    sessions for the credential."""
    demo = cookie(cluster)
    tab_a = await live_tab(cluster.a, demo)
    tab_b = await live_tab(cluster.b, demo)
    for tab in (tab_a, tab_b):
        await tab.wait_for(is_quotes("SPY"))
    pid = cluster.owner_pid()
    owner, survivor_tab = (cluster.a, tab_b) if pid == cluster.a.pid else (cluster.b, tab_a)
    survivor = cluster.b if owner is cluster.a else cluster.a
    with (
        SessionWatch(cluster.sandbox.control(), DEMO_CREDENTIAL) as watch,
        SessionWatch(cluster.sandbox.control(), DEMO_ALPACA) as alpaca_watch,
    ):
        mark = len(survivor_tab.frames)
        killed_at = time.monotonic()
        owner.kill()
        new_live = await survivor_tab.wait_for(is_live, within=15, start=mark)
        took_over = survivor_tab.received_at[survivor_tab.frames.index(new_live)] - killed_at
        after = len(survivor_tab.frames)
        await survivor_tab.wait_for(is_quotes("SPY"), start=after)
        await asyncio.sleep(1.0)
    print(f"\nowner killed → stream live again in the other process after {took_over:.1f} s")
    assert took_over <= 10.0
    assert cluster.owner_pid() == survivor.pid
    assert watch.max_dxlink <= 1 and watch.max_streamer <= 1
    assert alpaca_watch.max_alpaca <= 1
    await survivor_tab.close()


async def test_alpaca_fill_while_no_process_owns_the_stream_arrives_once(cluster: Cluster):
    """kill -9 of the owner, then an Alpaca order fills at the broker while nobody owns
    the user's stream: the process that takes over resumes the trade-event stream from
    the checkpoint in the database and the fill reaches its tab, exactly once."""
    demo = cookie(cluster)
    tab_a = await live_tab(cluster.a, demo)
    tab_b = await live_tab(cluster.b, demo)
    for tab in (tab_a, tab_b):
        await tab.wait_for(is_quotes("SPY"))
    control = cluster.sandbox.control()
    account = sorted(control.state()["credentials"][DEMO_ALPACA]["accounts"])[0]
    # one fill first, so that the checkpoint is real (not "live only")
    control.place_order(account, MARKET_BUY)
    for tab in (tab_a, tab_b):
        await tab.wait_for(
            lambda f: (
                f["type"] == "order"
                and f["account"] == account
                and f["order"]["status"] == "Filled"
            )
        )
    pid = cluster.owner_pid()
    owner, survivor_tab = (cluster.a, tab_b) if pid == cluster.a.pid else (cluster.b, tab_a)
    survivor = cluster.b if owner is cluster.a else cluster.a
    cursor_before = alpaca_cursor(survivor)
    assert cursor_before, "the first fill was checkpointed"
    mark = len(survivor_tab.frames)
    owner.kill()
    order = {**MARKET_BUY, "legs": [{**MARKET_BUY["legs"][0], "symbol": "XLF", "quantity": 7}]}
    placed = control.place_order(account, order)
    assert placed["order"]["status"] in ("Received", "Routed", "Live")
    await survivor_tab.wait_for(is_live, within=15, start=mark)
    filled = await survivor_tab.wait_for(
        lambda f: (
            f["type"] == "order"
            and f["account"] == account
            and f["order"]["status"] == "Filled"
            and f["order"]["legs"][0]["symbol"] == "XLF"
        ),
        within=15,
        start=mark,
    )
    await asyncio.sleep(1.0)  # anything replayed twice would arrive by now
    frames = [
        f
        for f in survivor_tab.frames[mark:]
        if f["type"] == "order" and f["order"]["id"] == filled["order"]["id"]
    ]
    fills: dict[str, dict] = {}
    for frame in frames:
        for fill in frame["order"]["legs"][0]["fills"]:
            fills[fill["id"]] = fill  # the browser keeps fills by id
    assert sum(fill["quantity"] for fill in fills.values()) == 7
    # the new owner replayed the missed events from the stored cursor (no new events came
    # after the takeover, so only a replay can have moved it)
    assert alpaca_cursor(survivor) > cursor_before
    control.close()
    await survivor_tab.close()


async def test_reconnect_resumes_exactly_the_missed_account_events(cluster: Cluster):
    """A tab that disconnects and comes back with since=<its last seq>, on the other
    process, gets exactly the account frames it missed (an order filled meanwhile)."""
    demo = cookie(cluster)
    keeper = await live_tab(cluster.a, demo)  # keeps the stream alive meanwhile
    tab = await live_tab(cluster.a, demo)
    await tab.wait_for(is_live)
    control = cluster.sandbox.control()
    account = sorted(control.state()["credentials"][DEMO_CREDENTIAL]["accounts"])[0]
    control.place_order(account, MARKET_BUY)
    await tab.wait_for(lambda f: f["type"] == "order" and f["order"]["status"] == "Filled")
    await asyncio.sleep(0.5)
    last_seq = max(f["seq"] for f in tab.account_frames())
    epoch = tab.account_frames()[-1]["epoch"]
    await tab.close()

    missed_order = control.place_order(account, MARKET_BUY)["order"]["id"]
    await keeper.wait_for(
        lambda f: (
            f["type"] == "order"
            and f["order"]["id"] == missed_order
            and f["order"]["status"] == "Filled"
        )
    )
    head = max(f["seq"] for f in keeper.account_frames())
    assert head > last_seq

    back = await live_tab(cluster.b, demo, since=f"{epoch}:{last_seq}")
    resumed = back.frames[1]
    # the sandbox's periodic balance pushes may have moved the head on meanwhile
    assert resumed["type"] == "resumed" and resumed["from"] == last_seq
    assert resumed["epoch"] == epoch
    assert resumed["count"] >= head - last_seq
    await back.wait_for(lambda f: f.get("seq") == head)
    replayed = [f["seq"] for f in back.account_frames()]
    assert replayed == list(range(last_seq + 1, last_seq + 1 + len(replayed)))
    assert len(replayed) >= head - last_seq
    assert any(
        f["type"] == "order" and f["order"]["id"] == missed_order for f in back.account_frames()
    )
    await back.wait_for(is_live)  # link states come with a resume too
    for t in (keeper, back):
        await t.close()


async def test_too_old_a_position_gets_a_fresh_snapshot(cluster: Cluster):
    """A client whose position is beyond the log's head, or of another epoch (from before
    a data loss), gets a snapshot instead of a replay."""
    demo = cookie(cluster)
    first = await live_tab(cluster.a, demo)
    await first.wait_for(lambda f: f["type"] == "snapshot")
    epoch = first.frames[1]["epoch"]
    for since in (f"{epoch}:10000000", "0ldep0ch:1"):
        tab = await live_tab(cluster.a, demo, since=since)
        await tab.wait_for(lambda f: f["type"] in ("snapshot", "resumed"))
        assert tab.frames[1]["type"] == "snapshot" and tab.frames[1]["epoch"] == epoch
        await tab.close()
    await first.close()


async def test_redis_restart_is_healed_without_dropping_the_broker(cluster: Cluster):
    """Redis restarts (empty): the tabs stay open and keep streaming (the owner's got
    every frame directly; the other process's rejoin their groups and reconcile), and
    the owner kept its broker connection all along."""
    demo = cookie(cluster)
    tabs = [await live_tab(cluster.a, demo), await live_tab(cluster.b, demo)]
    for tab in tabs:
        await tab.wait_for(is_quotes("SPY"))
    control = cluster.sandbox.control()
    before = control.state()["credentials"][DEMO_CREDENTIAL]["dxlink"][0]["id"]
    cluster.redis.restart(down_for=1.0)
    restarted = len(tabs[0].frames), len(tabs[1].frames)
    for tab, seen in zip(tabs, restarted, strict=True):
        for _ in range(300):
            if any(f["type"] == "quotes" and "SPY" in f["quotes"] for f in tab.frames[seen:]):
                break
            await asyncio.sleep(0.05)
        assert tab.closed_code is None
        assert any(f["type"] == "quotes" for f in tab.frames[seen:]), "quotes after the restart"
    sessions = control.state()["credentials"][DEMO_CREDENTIAL]["dxlink"]
    assert [s["id"] for s in sessions] == [before]
    for tab in tabs:
        await tab.close()
