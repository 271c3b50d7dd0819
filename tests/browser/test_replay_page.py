"""The replay page in Chromium (docs/streaming-contract.md, "Replay page"): the stored day
(tests/fixtures/replay/: SPY streamed, 1 DIA bought and filled at the sandbox) listed,
played at 60x, scrubbed back to before the fill and forward, a jump outside the day said in
a sentence; REPLAY and the replayed time in words and colour; no kill switch, no push; a
live tab beside it untouched."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from playwright.sync_api import Page, expect

from sandbox.server import SandboxServer
from streaming.instruments.symbols import NEW_YORK
from streaming.stream.day_file import read_day
from tests.browser.test_dashboard import log_in
from tests.support.live import LiveApp

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "replay"
#: The stored day (recorded on 2026-11-29) is filed here under a day that can never be
#: today: the demo trader's live stream records today's New York day beside it, and on
#: 2026-11-29 (New York) it appended to the stored day's file.
DAY = "2026-11-28"
#: A frame's way through a loaded box (the flush interval, Chromium's next frame): a margin.
WITHIN_MS = 15_000


def stored_frames() -> list[dict]:
    return [orjson.loads(line) for line in (FIXTURE / "frames.jsonl").read_bytes().splitlines()]


def last_record_ms() -> int:
    """The stored day's last record (where a played day ends: after its last frame)."""
    (stored,) = FIXTURE.glob("*/*.jsonl.gz")
    return max(int(r["t"]) for r in read_day(stored).records)


def new_york(ms: int) -> str:
    return f"{dt.datetime.fromtimestamp(ms / 1000, NEW_YORK):%H:%M:%S}"


@pytest.fixture(scope="module")
def replay_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    workdir = tmp_path_factory.mktemp("replay-page")
    app = LiveApp(browser_sandbox.url, workdir).start()
    demo = int(
        app.python(
            "from django.contrib.auth import get_user_model;"
            "print(get_user_model().objects.get(username='demo').pk)"
        ).strip()
    )
    (stored,) = FIXTURE.glob("*/*.jsonl.gz")
    days = workdir / "recordings" / str(demo)
    days.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(stored, days / f"{DAY}.jsonl.gz")
    yield app
    app.stop()


def order_status(page: Page, order_id: str) -> str | None:
    orders = page.evaluate("() => window.streamdesk.state().orders")
    return next((o["status"] for o in orders if str(o["id"]) == order_id), None)


def test_the_stored_day_plays_and_scrubs_and_says_replay(page: Page, replay_app: LiveApp):
    frames = stored_frames()
    first_t = frames[0]["t"]
    orders = [f for f in frames if f["type"] == "order"]
    order_id = str(orders[0]["order"]["id"])
    statuses = {f["order"]["status"] for f in orders}
    base = replay_app.url
    log_in(page, base)
    page.goto(f"{base}/replay")
    day = page.locator(f"[data-replay-day='{DAY}'] a")
    expect(day).to_have_text("Saturday, November 28, 2026")
    day.click()
    page.wait_for_url(f"{base}/replay/{DAY}")
    expect(page).to_have_title(f"[SIMULATED] REPLAY {DAY} · Dashboard · streamdesk")

    banner = page.locator("[data-replay-banner]")
    expect(banner).to_have_attribute("data-state", "paused", timeout=WITHIN_MS)
    expect(banner.locator(".replay-word")).to_have_text("REPLAY")
    assert banner.evaluate("(el) => getComputedStyle(el).backgroundColor") == "rgb(76, 29, 149)"
    expect(banner.locator("[data-replay-at]")).to_have_text(new_york(first_t))
    expect(banner.locator("[data-replay-off]")).to_contain_text(
        "Order entry, the kill switch and push are off in a replay"
    )
    # nothing of the live page that acts: no kill switch, no order ticket, no push sign-up
    expect(page.locator("[data-kill-switch]")).to_have_count(0)
    assert (
        page.evaluate("() => !!document.querySelector('script[src*=\"push/register\"]')") is False
    )
    assert page.evaluate("() => !!document.querySelector('script[src*=\"stream/main\"]')") is False

    # an alert set in the replay (SPY traded ~590 that day): evaluated against it alone
    form = page.locator("[data-replay-alert]")
    form.locator("input[name=symbol]").fill("spy")
    form.locator("select[name=condition]").select_option("above")
    form.locator("input[name=level]").fill("500")
    form.locator("button[type=submit]").click()
    expect(page.locator("[data-replay-said]")).to_have_text(
        "Alert set in this replay: SPY above 500.00. It is evaluated against the replayed "
        "day and never reaches a device."
    )

    # 60x, play: the day runs to its end; the DIA order ends as it ended that day
    page.click("[data-replay-speed='60']")
    expect(page.locator("[data-replay-speed='60']")).to_have_attribute("aria-pressed", "true")
    page.click("[data-replay-play]")
    expect(banner).to_have_attribute("data-state", "ended", timeout=WITHIN_MS)
    expect(banner.locator("[data-replay-at]")).to_have_text(new_york(last_record_ms()))
    assert order_status(page, order_id) == orders[-1]["order"]["status"] == "Filled"
    # the alert fired at the day's first SPY quote, tagged REPLAY, with when it would have
    fired = page.locator("[data-replay-fired] li")
    expect(fired).to_have_count(1)
    first_spy = next(f for f in frames if f["type"] == "quotes" and "SPY" in f["quotes"])
    expect(fired).to_have_text(
        re.compile(
            r"^REPLAY alert at \d\d:\d\d:\d\d New York: SPY rose to 5\d\d\.\d\d, above 500\.00$"
        )
    )
    at = fired.text_content()[len("REPLAY alert at ") :][:8]
    assert new_york(first_t) <= at <= new_york(first_spy["t"]), (at, first_spy["t"])
    expect(page.locator("[data-account='5WT11718']")).to_be_visible()

    # the scrubber: back to the day's start, then one second on (the order live, not filled)
    scrub = page.locator("[data-replay-scrub]")
    scrub.focus()
    scrub.press("Home")
    expect(banner.locator("[data-replay-at]")).to_have_text(new_york(first_t), timeout=WITHIN_MS)
    # the day again from its start: the alert is armed again, nothing has fired yet
    expect(page.locator("[data-replay-fired] li")).to_have_count(0)
    expect(banner).to_have_attribute("data-state", "paused", timeout=WITHIN_MS)
    scrub.press("ArrowRight")
    expect(banner.locator("[data-replay-at]")).to_have_text(
        new_york(first_t + 1000), timeout=WITHIN_MS
    )
    page.wait_for_function(
        """([id, s]) => window.streamdesk.state().orders
                           .some((o) => String(o.id) === id && o.status === s)""",
        arg=[order_id, "Live"],
        timeout=WITHIN_MS,
    )
    assert "Live" in statuses and order_status(page, order_id) == "Live"
    # the alert fired again on the way (caught up by the jump: the snapshot's triggers)
    expect(page.locator("[data-replay-fired] li")).to_have_count(1)

    # a jump outside the recorded day: a sentence, and the day stays where it stood
    page.fill("[data-replay-jump]", "08:00")
    page.locator("[data-replay-jump]").dispatch_event("change")
    expect(page.locator("[data-replay-said]")).to_have_text(
        f"The day was recorded from {new_york(first_t)} to {new_york(last_record_ms())} "
        "New York; 08:00 is outside it."
    )
    expect(banner.locator("[data-replay-at]")).to_have_text(new_york(first_t + 1000))

    # the page's state is the replayed day's (its epoch: the day's first run)
    assert page.evaluate("() => window.streamdesk.state().epoch") == f"r{DAY.replace('-', '')}n1"
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_live_tab_beside_a_replay_gets_nothing_of_it(page: Page, replay_app: LiveApp):
    base = replay_app.url
    log_in(page, base)
    live = page.context.new_page()
    live.goto(f"{base}/")
    live.wait_for_function("() => window.streamdesk && window.streamdesk.state().epoch")
    live_epoch = live.evaluate("() => window.streamdesk.state().epoch")
    page.goto(f"{base}/replay/{DAY}")
    banner = page.locator("[data-replay-banner]")
    expect(banner).to_have_attribute("data-state", "paused", timeout=WITHIN_MS)
    page.click("[data-replay-speed='60']")
    page.click("[data-replay-play]")
    expect(banner).to_have_attribute("data-state", "ended", timeout=WITHIN_MS)
    # the live tab is on its own stream still: no replayed epoch, no replayed order
    assert live.evaluate("() => window.streamdesk.state().epoch") == live_epoch
    assert not live_epoch.startswith("r2026")
    ids = live.evaluate("() => window.streamdesk.state().orders.map((o) => String(o.id))")
    replayed = {str(f["order"]["id"]) for f in stored_frames() if f["type"] == "order"}
    assert replayed and replayed.isdisjoint(ids)
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_day_not_recorded_is_said_with_the_days_that_are(page: Page, replay_app: LiveApp):
    base = replay_app.url
    log_in(page, base)
    answer = page.goto(f"{base}/replay/2020-01-02")
    assert answer is not None and answer.status == 404
    expect(page.locator("[data-replay-error]")).to_have_text(
        "There is no recording of 2020-01-02 to replay."
    )
    expect(page.locator(f"[data-replay-day='{DAY}']")).to_be_visible()
