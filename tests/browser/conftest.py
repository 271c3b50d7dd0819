"""A real Chromium (Debian's, driven by Playwright) against a real daphne + sandbox."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.live import LiveApp

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is not installed (scripts/test.sh installs it)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # module scope, not session: sync Playwright runs an event loop in this thread
    # while it is open, and the async tests after the browser modules need it closed
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def browser_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(
        SandboxConfig(tick_rate=4, alpaca_heartbeat_interval=2, demo_order_interval=0)
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def browser_app(browser_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(browser_sandbox.url, tmp_path_factory.mktemp("browser")).start()
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
