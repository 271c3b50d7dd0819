from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support import holdings
from tests.support.live import DEMO_USER, LiveApp, read_json
from tests.support.wait import poll_until

#: How long the stream may take to show the demo user's six accounts (a loaded box).
DEMO_SEEN_WITHIN = 30.0


@pytest.fixture(scope="module")
def live_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(
        SandboxConfig(tick_rate=10, alpaca_heartbeat_interval=2, demo_order_interval=0)
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def holdings_sandbox() -> Iterator[SandboxServer]:
    """A sandbox whose demo accounts hold what real accounts hold (tests/support/holdings.py)."""
    with holdings.holdings_sandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def live_app(live_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(live_sandbox.url, tmp_path_factory.mktemp("live")).start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def demo(live_app: LiveApp) -> Iterator[httpx.Client]:
    """The demo trader logged in, once the stream shows their six accounts."""
    client = live_app.login(*DEMO_USER)
    client.timeout = httpx.Timeout(60)
    poll_until(
        lambda: len(read_json(client, "/api/snapshot")["accounts"]) == 6,
        within=DEMO_SEEN_WITHIN,
        what="the demo user's six accounts in the stream",
    )
    yield client
    client.close()
