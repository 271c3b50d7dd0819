"""A quote failover as a trader sees it: frozen prices are shown stale within seconds,
the quotes move to Tradier, and once tastytrade delivers again they come back to it and
every derived value (rows, totals) is live again (docs/streaming-contract.md,
"Staleness" and "The quote source")."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from sandbox.core.credentials import credential_id
from sandbox.server import SandboxServer
from streaming.stream.flusher import SWEEP_EVERY
from tests.browser.test_dashboard import log_in
from tests.support.live import LiveApp

DEMO_TASTYTRADE = credential_id("demo-refresh-token")
#: The server sweeps for silence once a second (`SWEEP_EVERY`) and the page re-marks ages
#: once a second.
SWEEP = SWEEP_EVERY
#: What a loaded box may add to a verdict the server and the page reach on time.
MARGIN = 1.0

# The waits the app runs with here (its settings; production's in brackets): every bound
# below is these plus stated margins.
#: A ticking feed is stale after this silence (2 s): kept, one slow batch on a loaded box
#: must not look like an outage.
STALE_FLOOR = 2.0
#: The longest silence before stale, and what is judged by until the cadence is learnt (10 s).
STALE_CEILING = 10.0
#: Down this long, the quotes fail over (3 s): a second after the stale verdict's sweep,
#: so the page shows the frozen prices stale before Tradier's take their place.
FAILOVER_AFTER = 3.0
#: The probe delivers this long before the quotes go back (10 s).
FAILBACK_AFTER = 2.0
#: A rejected credential is tried again after the base wait, doubling up to the cap (15 s,
#: 300 s).
RETRY_BASE, RETRY_CAP = 2.0, 4.0
#: What a loaded box may add to a switch of the quotes' source: the switch subscribes
#: the other broker's stream and waits for its first quotes before it says so.
SWITCH_MARGIN = 5 * MARGIN


@pytest.fixture(scope="module")
def browser_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    """The browser tests' app (conftest.py) with the waits above."""
    app = LiveApp(
        browser_sandbox.url,
        tmp_path_factory.mktemp("failback"),
        STREAM_QUOTE_STALE_FLOOR=str(STALE_FLOOR),
        STREAM_QUOTE_STALE_AFTER=str(STALE_CEILING),
        STREAM_FAILOVER_AFTER=str(FAILOVER_AFTER),
        STREAM_FAILBACK_AFTER=str(FAILBACK_AFTER),
        STREAM_REJECTED_RETRY_BASE=str(RETRY_BASE),
        STREAM_REJECTED_RETRY_CAP=str(RETRY_CAP),
    ).start()
    yield app
    app.stop()


def link_id(page: Page, broker: str) -> str:
    return page.locator("#links [data-link]", has_text=broker).first.get_attribute("data-link")


def test_frozen_prices_are_stale_fast_and_quotes_fail_back(
    page: Page, browser_app, browser_sandbox
):
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    expect(page.locator("#data-state")).to_have_attribute("data-state", "fresh", timeout=10_000)
    tastytrade, tradier = link_id(page, "tastytrade"), link_id(page, "Tradier")
    source = page.locator("#quote-source")
    expect(source).to_have_attribute("data-source-link", tastytrade)
    expect(source).to_contain_text("tastytrade")
    spy = page.locator('tr[data-quote="SPY"]')
    expect(spy).to_have_attribute("data-stale", "false", timeout=10_000)
    # the server learns the feed's cadence over two sweeps of its data (the first starts
    # the clock) and says so with that sweep's status frame: the link's quotes are then
    # stale after the floor's silence, no longer the ceiling's (the demo's watchlist alone
    # ticks 24 times a second: more than 20 events per floor)
    chip = page.locator(f'#links [data-link="{tastytrade}"]')
    expect(chip).to_have_attribute(
        "data-quotes-stale-after-ms",
        str(int(STALE_FLOOR * 1000)),
        timeout=(3 * SWEEP + MARGIN) * 1000,
    )

    def left(bound: float, since: float) -> float:
        """What is left of `bound` seconds after `since` (ms, for Playwright: at least 1,
        as 0 would mean no timeout at all)."""
        return max(1.0, (bound - (time.monotonic() - since)) * 1000)

    control = browser_sandbox.control()
    # silent until the test says otherwise: a silence of fixed length could end before a
    # loaded box fails over, and then it never would
    control.fault("silence", target="dxlink", credential=DEMO_TASTYTRADE)
    try:
        silent_at = time.monotonic()

        # stale within 5 s: the floor, one server sweep, one page tick (+ a loaded box's
        # margin)
        bound = STALE_FLOOR + 2 * SWEEP + MARGIN
        assert bound <= 5.0
        # the pill and the rows agree: read both in the frame the pill turns stale (the
        # failover may follow within a second and make SPY live again, from Tradier)
        row_when_stale = page.wait_for_function(
            """() => document.getElementById('data-state').dataset.state === 'stale'
                  && document.querySelector('tr[data-quote="SPY"]').dataset.stale""",
            timeout=bound * 1000,
            polling="raf",
        ).json_value()
        stale_after = time.monotonic() - silent_at
        assert row_when_stale == "true"
        print(f"\nsilence → shown stale: {stale_after * 1000:.0f} ms")

        # the quotes move to Tradier (the sweep after FAILOVER_AFTER, one more for the frame),
        # and the page says so
        expect(source).to_have_attribute(
            "data-source-link",
            tradier,
            timeout=left(FAILOVER_AFTER + 2 * SWEEP + SWITCH_MARGIN, silent_at),
        )
        expect(page.locator("#messages")).to_contain_text("Quotes now come from Tradier")
        expect(spy).to_have_attribute("data-stale", "false", timeout=5_000)  # Tradier's SPY
    finally:
        control.clear_faults()  # the demo speaks again (and does, should the test fail)
    heard_at = time.monotonic()
    # tastytrade delivers again: after its probe's FAILBACK_AFTER (its first tick, the
    # sweep that sees the wait over, one more for the frame), the quotes are back
    expect(source).to_have_attribute(
        "data-source-link",
        tastytrade,
        timeout=left(FAILBACK_AFTER + 3 * SWEEP + SWITCH_MARGIN, heard_at),
    )
    expect(page.locator("#messages")).to_contain_text("Quotes now come from tastytrade")
    # and everything derived from the quotes is live again: rows, totals, the pill
    expect(page.locator("#data-state")).to_have_attribute("data-state", "fresh", timeout=5_000)
    expect(page.locator("tr[data-position][data-stale=true]")).to_have_count(0, timeout=5_000)
    expect(page.locator("#totals .is-stale")).to_have_count(0, timeout=5_000)
    expect(spy).to_have_attribute("data-stale", "false")
    control.close()
    assert page.errors == []  # type: ignore[attr-defined]


def test_a_rejected_link_says_what_to_do_and_heals(page: Page, browser_app, browser_sandbox):
    """A credential the broker rejects: the page says in a sentence what to do (and when
    streamdesk tries again); once it is valid again the link heals and the sentence goes."""
    log_in(page, browser_app.url)
    expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=10_000)
    control = browser_sandbox.control()
    try:
        control.fault("revoke", credential=DEMO_TASTYTRADE)
        control.fault("drop", target="all", credential=DEMO_TASTYTRADE)
        advice = page.locator("#link-advice [data-link-advice]")
        expect(advice).to_have_count(1, timeout=15_000)
        expect(advice).to_contain_text("tastytrade rejected")
        expect(advice).to_contain_text("ask your operator")
    finally:
        control.fault("revoke", credential=DEMO_TASTYTRADE, revoked=False)
    # the next retry comes within RETRY_CAP (the base wait, doubled by any rejection
    # before the credential was valid again), plus the login, the link's snapshot and the
    # page's redraw on a loaded box
    retry = RETRY_CAP + 10 * MARGIN
    expect(page.locator("#link-advice [data-link-advice]")).to_have_count(0, timeout=retry * 1000)
    expect(page.locator("#links [data-link]", has_text="tastytrade").first).to_have_attribute(
        "data-state", "live", timeout=10_000
    )
    control.close()
