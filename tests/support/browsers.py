"""One Chromium per pytest process, kept from one browser module to the next.

The tests drive Chromium's headless shell (Debian's chromium-headless-shell: the same
Blink and V8 as the browser, without its windowing layers; what Playwright runs headless
by default). On this 2-core box it opens a context, a page and the login page for ~0.2 s of
CPU where the full browser in its headless mode takes ~0.5 s, and logs in to the
dashboard's first live quote on half the CPU (~0.6 s against ~1.35 s:
bench/chromium_pages.py, docs/performance.md): the browser tests are most of the suite's
CPU. The benches that measure what a trader's browser pays (bench/browser.py,
bench/risk_page.py...) run the full browser (`chromium_path`).

Starting Playwright's driver and Chromium costs ~2 s of CPU; the browser modules ran one
each. A test gets a fresh context from it (tests/browser/conftest.py `page`), so nothing of
one test reaches the next. Playwright's synchronous API keeps an event loop running in the
thread while it is open, and an asyncio test cannot run beside it: tests/conftest.py closes
it before any test that does not use it (`close_unless_used`), and it starts again for the
next browser module.
"""

from __future__ import annotations

import argparse
import os
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from tests.support.processes import socket_dir

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
    """The full browser (Debian's chromium): what the benches measure."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is not installed (scripts/test.sh installs it)")
    return path


def headless_shell_path() -> str:
    """Chromium's headless shell (Debian's chromium-headless-shell): what the tests drive."""
    path = shutil.which("chromium-headless-shell")
    if path is None:
        pytest.fail(
            "Debian's chromium-headless-shell is not installed (scripts/test.sh installs it)"
        )
    return path


#: The Chromium builds a bench can drive (`--browser`): the full browser, what a trader
#: runs and what the benches measure by default, or the headless shell, the tests' own (the
#: suite's smoke runs take it: they prove a bench runs, not what it measures).
BROWSERS: dict[str, Callable[[], str]] = {"full": chromium_path, "shell": headless_shell_path}


def add_browser_option(parser: argparse.ArgumentParser) -> None:
    """A bench's `--browser full|shell` (`BROWSERS`; the full browser by default)."""
    parser.add_argument(
        "--browser", choices=sorted(BROWSERS), default="full", help="Chromium build to drive"
    )


def launch(playwright: Playwright, path: str, *extra_flags: str) -> Browser:
    """Chromium at `path` with `CHROMIUM_FLAGS` and `extra_flags`. Its TMPDIR is the run's
    socket folder (tests/support/processes.py): the full browser binds its singleton socket
    there, and aborts ("Socket path too long") when TMPDIR is long."""
    return playwright.chromium.launch(
        executable_path=path,
        args=[*CHROMIUM_FLAGS, *extra_flags],
        env={**os.environ, "TMPDIR": str(socket_dir())},
    )


class SharedBrowser:
    """The process's Chromium, launched with `flags` (again if other flags are asked)."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Browser | None = None
        self._launched: tuple[str, ...] = ()

    def get(self, *extra_flags: str, full: bool = False) -> Browser:
        """The headless shell with `extra_flags`; `full`: the full browser (what the
        shell lacks: it denies web notifications without asking)."""
        path = chromium_path() if full else headless_shell_path()
        launched = (path, *CHROMIUM_FLAGS, *extra_flags)
        if self._browser is not None and (
            launched != self._launched or not self._browser.is_connected()
        ):
            self.close()
        if self._browser is None:
            self._playwright = sync_playwright().start()
            try:
                self._browser = launch(self._playwright, path, *extra_flags)
            except BaseException:
                self.close()  # Playwright's loop would stop the next launch, and any asyncio test
                raise
            self._launched = launched
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
