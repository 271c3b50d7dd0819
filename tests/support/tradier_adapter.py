"""The app's Tradier adapter streaming a fresh sandbox customer into a RecordingSink, for
the adapter tests of order types (tests/streaming/conftest.py offers the fixture)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from django.conf import settings

from streaming.brokers.base import StreamConfig
from streaming.brokers.tradier.adapter import TradierAdapter
from tests.support.brokers import TRADIER_FAST
from tests.support.order_entry import margin_account
from tests.support.recording import RecordingSink, running

#: The symbol the tests trade, held at `PRICE` until a test moves it.
SYMBOL = "AAPL"
PRICE = 200.0


@pytest.fixture
async def tradier_streaming(
    broker_at_sandbox, control
) -> AsyncIterator[tuple[TradierAdapter, RecordingSink, str, str]]:
    """A connected adapter (orders polled every 0.2 s), its sink, token and margin account."""
    control.configure(tick_rate=0.0)  # quotes hold still: only set_price moves them
    control.set_price(SYMBOL, PRICE)
    token = f"tradier-token-{uuid.uuid4().hex[:12]}"
    adapter = TradierAdapter(
        link_id=3,
        access_token=token,
        api_url=settings.TRADIER_API_URL,
        stream_url=settings.TRADIER_STREAM_URL,
        config=StreamConfig(**TRADIER_FAST),
    )
    sink = RecordingSink()
    async with running(adapter, sink):
        await sink.wait_for(lambda: sink.state("account") == "live")
        yield adapter, sink, token, margin_account(sink)
