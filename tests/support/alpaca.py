"""Fixtures the Alpaca sandbox tests share (import them into a test module to use them):
a sandbox whose orders advance only on `control.step()`, and a fresh key per test."""

from __future__ import annotations

import uuid

import pytest

from sandbox.core.config import SandboxConfig


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    """Orders advance only on control.step(); idle SSE streams beat every 0.2 s."""
    return SandboxConfig(tick_rate=20.0, order_step_interval=0, alpaca_heartbeat_interval=0.2)


@pytest.fixture
def key_id() -> str:
    """A key no other test has used (a new customer)."""
    return f"AK{uuid.uuid4().hex[:14].upper()}"
