"""One Chromium per pytest process, kept from one browser module to the next.

Starting Playwright's driver and Chromium costs ~2 s of CPU; the browser modules ran one
each. A test gets a fresh context from it (tests/browser/conftest.py `page`), so nothing of
one test reaches the next. Playwright's synchronous API keeps an event loop running in the
thread while it is open, and an asyncio test cannot run beside it: tests/conftest.py closes
it before any test that does not use it (`close_unless_used`), and it starts again for the
next browser module.
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

#: Chromium as the tests run it here (Debian's, no sandbox as root, no network chatter).
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is not installed (scripts/test.sh installs it)")
    return path


class SharedBrowser:
    """The process's Chromium, launched with `flags` (again if other flags are asked)."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Browser | None = None
        self._flags: tuple[str, ...] = ()

    def get(self, *extra_flags: str) -> Browser:
        flags = (*CHROMIUM_FLAGS, *extra_flags)
        if self._browser is not None and (flags != self._flags or not self._browser.is_connected()):
            self.close()
        if self._browser is None:
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=chromium_path(), args=list(flags)
            )
            self._flags = flags
        return self._browser

    def close(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        try:
            if browser is not None:
                browser.close()
        finally:
            if playwright is not None:
                playwright.stop()


shared = SharedBrowser()


def close_unless_used(item: pytest.Item) -> None:
    """Before a test: Playwright closed unless the test uses the browser (an asyncio test
    cannot run while its loop does)."""
    if "browser" not in getattr(item, "fixturenames", ()):
        shared.close()
