"""The server processes' event loop (streaming/runtime/loop.py): uvloop unless switched off."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from streaming.runtime import loop


@pytest.fixture
def policy():
    before = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(before)


@pytest.mark.parametrize("value", [None, "true", "1", "on"])
def test_uvloop_unless_switched_off(policy, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("STREAM_UVLOOP", raising=False)
    else:
        monkeypatch.setenv("STREAM_UVLOOP", value)
    assert loop.install() is True
    new = asyncio.new_event_loop()
    try:
        assert isinstance(new, uvloop.Loop)
    finally:
        new.close()


@pytest.mark.parametrize("value", ["false", "0", "no", "off"])
def test_asyncios_own_loop_when_switched_off(policy, monkeypatch, value):
    monkeypatch.setenv("STREAM_UVLOOP", value)
    asyncio.set_event_loop_policy(None)
    assert loop.install() is False
    new = asyncio.new_event_loop()
    try:
        assert not isinstance(new, uvloop.Loop)
    finally:
        new.close()
