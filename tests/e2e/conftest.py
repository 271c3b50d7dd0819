from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.live import LiveApp


@pytest.fixture(scope="module")
def live_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(
        SandboxConfig(tick_rate=10, alpaca_heartbeat_interval=2, demo_order_interval=0)
    ) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def live_app(live_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(live_sandbox.url, tmp_path_factory.mktemp("live")).start()
    yield app
    app.stop()
