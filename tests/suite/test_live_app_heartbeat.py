"""LiveApp refuses a sandbox whose Alpaca heartbeat outlasts the app's watchdog: the idle
trade-event stream would be dropped and replayed every few seconds, and an order placed
meanwhile would reach the page late (what bench.orders' Alpaca tail measured)."""

from __future__ import annotations

import pytest

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.live import ALPACA_HEARTBEAT, LiveApp


def test_a_heartbeat_beyond_the_watchdog_is_refused_in_words(tmp_path):
    with SandboxServer(SandboxConfig(tick_rate=0)) as sandbox:  # the default: 15 s
        app = LiveApp(sandbox.url, tmp_path, seed=False)
        with pytest.raises(RuntimeError) as refused:
            app.spawn()
        assert str(refused.value) == (
            "the sandbox's Alpaca heartbeat (15 s) is not within the app's watchdog (5 s): "
            "the trade-event stream would be dropped whenever it is idle; start the sandbox "
            f"with alpaca_heartbeat_interval={ALPACA_HEARTBEAT:g}"
        )
        assert app._proc is None  # nothing started
