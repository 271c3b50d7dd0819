"""A Chromium launch that fails leaves Playwright closed (tests/support/browsers.py): under a
long TMPDIR the full browser aborted at its start, and every browser test after it in the
process failed too, with "using Playwright Sync API inside the asyncio loop" (the failed
launch's Playwright was still running)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error

from tests.support.browsers import SharedBrowser


def test_a_failed_launch_leaves_the_next_one_working():
    browser = SharedBrowser()
    try:
        # Playwright refuses this flag (a profile folder is launch_persistent_context's)
        with pytest.raises(Error, match="user_data_dir"):
            browser.get("--user-data-dir=/nonexistent")
        page = browser.get().new_page()
        page.set_content("<p>up</p>")
        assert page.inner_text("p") == "up"
    finally:
        browser.close()
