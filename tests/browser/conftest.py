"""A real Chromium (Debian's, driven by Playwright) against a real daphne + sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.browsers import shared
from tests.support.live import LiveApp


@pytest.fixture(scope="module")
def browser() -> Browser:
    """The process's Chromium (tests/support/browsers.py: kept for the next browser module,
    closed before a test that does not use it)."""
    return shared.get()


@pytest.fixture(scope="module")
def browser_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(
        SandboxConfig(tick_rate=4, alpaca_heartbeat_interval=2, demo_order_interval=0)
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def browser_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    # a chart's or sparkline's history may take twice the shipped 8 s: beside the suite's
    # other Chromiums a first DXLink candle fetch outran it (the sparkline said "error")
    app = LiveApp(
        browser_sandbox.url, tmp_path_factory.mktemp("browser"), STREAM_HISTORY_DEADLINE="16"
    ).start()
    yield app
    app.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()
