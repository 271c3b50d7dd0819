"""A quote failover as a trader sees it: frozen prices are shown stale within seconds,
the quotes move to Tradier, and once tastytrade delivers again they come back to it and
every derived value (rows, totals) is live again (docs/streaming-contract.md,
"Staleness" and "The quote source")."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from sandbox.core.credentials import credential_id
from streaming.stream.health import FAILBACK_AFTER, FAILOVER_AFTER, QUOTE_STALE_FLOOR
from tests.browser.test_dashboard import log_in

DEMO_TASTYTRADE = credential_id("demo-refresh-token")
#: The server sweeps for silence once a second and the page re-marks ages once a second.
SWEEP = 1.0
#: What a loaded box may add to a verdict the server and the page reach on time.
MARGIN = 1.0
#: How long the demo's DXLink stays silent.
SILENCE = 12.0


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
    time.sleep(2 * SWEEP)  # the feed's cadence is learnt over a couple of sweeps

    control = browser_sandbox.control()
    control.fault("silence", target="dxlink", credential=DEMO_TASTYTRADE, seconds=SILENCE)
    silent_at = time.monotonic()
    # stale within 5 s: the floor, one server sweep, one page tick (+ a loaded box's margin)
    bound = QUOTE_STALE_FLOOR + 2 * SWEEP + MARGIN
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

    # the quotes move to Tradier, and the page says so
    expect(source).to_have_attribute(
        "data-source-link", tradier, timeout=(FAILOVER_AFTER + 2 * SWEEP + MARGIN) * 1000
    )
    expect(page.locator("#messages")).to_contain_text("Quotes now come from Tradier")
    expect(spy).to_have_attribute("data-stale", "false", timeout=5_000)  # Tradier's SPY

    # tastytrade delivers again: after its probe's FAILBACK_AFTER, the quotes are back
    expect(source).to_have_attribute(
        "data-source-link",
        tastytrade,
        timeout=(SILENCE + FAILBACK_AFTER + 3 * SWEEP + MARGIN) * 1000,
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
    from django.conf import settings

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
    # the first retry comes within STREAM_REJECTED_RETRY_BASE (+ a loaded box's margin)
    retry = settings.STREAM_REJECTED_RETRY_BASE + 10 * MARGIN
    expect(page.locator("#link-advice [data-link-advice]")).to_have_count(0, timeout=retry * 1000)
    expect(page.locator("#links [data-link]", has_text="tastytrade").first).to_have_attribute(
        "data-state", "live", timeout=10_000
    )
    control.close()
