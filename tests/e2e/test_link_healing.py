"""A credential rejected at runtime heals by itself, at every broker: a real daphne with the
demo trader's three sandbox links, a browser-like tab on its socket, and the sandbox's
`revoke` fault on one credential. The link goes to `error` (the tab, the stored link and
the staff's stream-health view say so), is tried again on a growing wait, and once the
credential is valid again it is `live` everywhere within the configured longest wait plus
a stated margin, without anybody touching it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from accounts.link_advice import link_advice
from sandbox.core.credentials import credential_id
from sandbox.server import SandboxServer
from tests.support.clients import WsClient
from tests.support.live import DEMO_USER, LiveApp
from tests.support.wait import poll_until

#: The rejected-credential backoff this server runs with (seconds): 1, 2, 4, 4, …
RETRY_BASE = 1.0
RETRY_CAP = 4.0
#: Tradier's account (and Alpaca's, while its stream is down) is polled this often (s).
POLL_INTERVAL = 1.0
#: What a reconnect takes beyond its wait on this 2-core box shared with other tests: a
#: token refresh or a session, the REST snapshot, the status frame, the database write.
MARGIN = 10.0
ADMIN = ("admin", "admin-sandbox")

#: broker -> (its demo credential at the sandbox, the faults that make it log in again:
#: tastytrade's login is only at a token refresh, so its streams are dropped; Tradier's
#: token goes with every poll; Alpaca's event stream reconnects with its keys).
BROKERS: dict[str, tuple[str, list[tuple[str, dict[str, Any]]]]] = {
    "tastytrade": ("demo-refresh-token", [("drop", {"target": "all"})]),
    "tradier": ("demo-tradier-token", []),
    "alpaca": ("DEMOALPACAKEY", [("drop", {"target": "alpaca-sse"})]),
}


@pytest.fixture(scope="module")
def healing_app(live_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(
        live_sandbox.url,
        tmp_path_factory.mktemp("healing"),
        STREAM_REJECTED_RETRY_BASE=str(RETRY_BASE),
        STREAM_REJECTED_RETRY_CAP=str(RETRY_CAP),
        STREAM_ACCOUNT_POLL_INTERVAL=str(POLL_INTERVAL),
    ).start()
    yield app
    app.stop()


def links_of(tab: WsClient) -> dict[int, dict[str, Any]]:
    """The tab's current view of every link (its snapshot, then status frames)."""
    view: dict[int, dict[str, Any]] = {}
    for _, frame in tab.frames:
        if frame["type"] == "snapshot":
            view = {link["id"]: link for link in frame.get("links", [])}
        elif frame["type"] == "status":
            view[frame["link"]["id"]] = frame["link"]
    return view


def statuses(tab: WsClient, link_id: int, since: float) -> list[dict[str, Any]]:
    """Every status of one link the tab was sent from `since` (monotonic), in order."""
    return [
        frame["link"]
        for t, frame in tab.frames
        if t >= since and frame["type"] == "status" and frame["link"]["id"] == link_id
    ]


def stored(app: LiveApp, link_id: int) -> dict[str, str]:
    """The link's recorded state in the database (what the admin's list shows)."""
    out = app.python(
        "import json\n"
        "from accounts.models import BrokerLink\n"
        f"link = BrokerLink.objects.get(pk={link_id})\n"
        "print(json.dumps({'status': link.status, 'last_error': link.last_error}))",
    )
    return json.loads(out.strip().splitlines()[-1])


def poll_stored(app: LiveApp, link_id: int, status: str, within: float) -> dict[str, str]:
    deadline = time.monotonic() + within
    while True:
        found = stored(app, link_id)
        if found["status"] == status:
            return found
        assert time.monotonic() < deadline, f"link {link_id} stored {found}, not {status}"


def health_row(staff: httpx.Client, link_id: int) -> dict[str, Any]:
    """The link's row in the staff's stream-health view."""
    data = staff.get("/ops/streams.json").raise_for_status().json()
    rows = [link for user in data["users"] for link in user["links"] if link["id"] == link_id]
    assert len(rows) == 1, data
    return rows[0]


@pytest.mark.parametrize("broker", list(BROKERS))
async def test_a_revoked_credential_is_an_error_and_heals_once_valid_again(
    healing_app: LiveApp, live_sandbox: SandboxServer, broker: str
):
    credential, faults = BROKERS[broker]
    cid = credential_id(credential)
    control = live_sandbox.control()
    cookie = healing_app.cookie_header(healing_app.login(*DEMO_USER))
    staff = healing_app.login(*ADMIN)
    tab = WsClient(healing_app.url, cookie, name=f"{broker}-tab").start()
    try:
        await tab.wait_live()
        await tab.wait_for(
            lambda: (
                len(links_of(tab)) == 3
                and all(link["state"] == "live" for link in links_of(tab).values())
            ),
            within=30,
        )
        (link_id,) = [i for i, link in links_of(tab).items() if link["broker"] == broker]

        began = time.monotonic()
        control.fault("revoke", credential=cid)
        for kind, params in faults:
            control.fault(kind, credential=cid, **params)
        # the broker refuses it at the next login: `error`, with the broker's reason and
        # the wait before the next try; the trader is told what to do
        error = await tab.wait_for(
            lambda: links_of(tab)[link_id]["state"] == "error" and links_of(tab)[link_id],
            within=POLL_INTERVAL + MARGIN,
        )
        assert error["reason"].startswith("credential rejected"), error["reason"]
        assert 0 < error["retry_in"] <= RETRY_BASE
        advice = link_advice(error, time.time() * 1000)
        assert "rejected the saved credential" in advice and "admin (Broker links)" in advice
        recorded = poll_stored(healing_app, link_id, "error", within=MARGIN)
        assert recorded["last_error"].startswith("credential rejected")
        # the staff's view while the link is in its error (it is `connecting` again on each
        # try, a second or two later: read once, the row may have moved on)
        row = poll_until(
            lambda: (found := health_row(staff, link_id))["state"] == "error" and found,
            within=RETRY_CAP + MARGIN,
            what="the stream-health row in error",
        )
        assert row["failing"] is True

        # tried again on a growing wait, never in a storm: 1 s, then 2 s, 4 s (jittered down
        # by at most 30 %), each try a `connecting` and a new `error`. A link whose kinds
        # retry on their own (Tradier's quotes and account loops) says each kind's wait, so
        # the first try may say two waits of the base before the first grown one
        def waits() -> list[float]:
            errors = [s for s in statuses(tab, link_id, began) if s["state"] == "error"]
            return [s["retry_in"] for s in errors]

        await tab.wait_for(
            lambda: any(w > RETRY_BASE for w in waits()), within=2 * RETRY_BASE + MARGIN
        )
        seen = waits()
        first_tries = [w for w in seen if w <= RETRY_BASE]
        grown = [w for w in seen if w > RETRY_BASE]
        assert first_tries and all(w >= RETRY_BASE * 0.7 for w in first_tries), seen
        # each later wait is a step of the doubling, up to the cap, the first of them 2 s (a
        # slow box may read the statuses after a third try: its 4 s, jittered down, follows)
        steps = [RETRY_BASE * 2, RETRY_CAP]
        levels = [next((s for s in steps if s * 0.7 <= w <= s), None) for w in grown]
        assert levels[0] == RETRY_BASE * 2 and None not in levels, (seen, levels)

        # valid again: back to live by itself within the longest wait plus the margin
        control.fault("revoke", credential=cid, revoked=False)
        restored = time.monotonic()
        healed = await tab.wait_for(
            lambda: links_of(tab)[link_id]["state"] == "live" and links_of(tab)[link_id],
            within=RETRY_CAP + MARGIN,
        )
        took = time.monotonic() - restored
        print(f"{broker}: live again {took:.1f} s after the credential was restored")
        assert healed["retry_in"] is None
        assert link_advice(healed, time.time() * 1000) == ""
        recorded = poll_stored(healing_app, link_id, "verified", within=MARGIN)
        assert recorded["last_error"] == ""
        row = health_row(staff, link_id)
        assert (row["state"], row["failing"]) == ("live", False)
        # the other links never left live
        for other_id, link in links_of(tab).items():
            if other_id != link_id:
                assert "error" not in [s["state"] for s in statuses(tab, other_id, began)]
                assert link["state"] == "live", link
    finally:
        control.fault("revoke", credential=cid, revoked=False)
        await tab.stop()
        staff.close()
        control.close()
