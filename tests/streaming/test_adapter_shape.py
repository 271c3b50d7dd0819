"""Every broker adapter has the one shape (docs/streaming.md, "Inside streaming/brokers/"):
it IS its supervised lifecycle (`SupervisedAdapter`, its only base class) and it HOLDS
its parts — the streams of its two kinds, its reads and its order entry — which are not
base classes of it; `SupportsOrders` is implemented by the order-entry part and forwarded."""

from __future__ import annotations

import pytest

from streaming.brokers.alpaca.adapter import AlpacaAdapter
from streaming.brokers.alpaca.trading import AlpacaTradingAdapter
from streaming.brokers.base import MemoryCheckpoint
from streaming.brokers.orders.entry import SupportsOrders
from streaming.brokers.supervised import SupervisedAdapter
from streaming.brokers.tastytrade.adapter import TastytradeAdapter
from streaming.brokers.tradier.adapter import TradierAdapter

URL = "http://127.0.0.1:9"  # never connected: the adapters are only built


def adapters() -> list[SupervisedAdapter]:
    return [
        TastytradeAdapter(link_id=1, provider_secret="s", refresh_token="r"),
        TradierAdapter(link_id=2, access_token="t", api_url=URL, stream_url=URL),
        AlpacaAdapter(
            link_id=3, key_id="k", secret_key="s", api_url=URL, checkpoint=MemoryCheckpoint()
        ),
        AlpacaTradingAdapter(link_id=4, key_id="k", secret_key="s", api_url=URL),
    ]


@pytest.mark.parametrize("adapter", adapters(), ids=lambda a: type(a).__name__)
def test_an_adapter_is_supervised_and_holds_its_parts(adapter: SupervisedAdapter) -> None:
    """One base; the streams, the reads and the order entry are held, each a part of its
    own class that is no adapter; what the manager runs is the streams' connections."""
    assert type(adapter).__bases__ == (SupervisedAdapter,)
    parts = {name: getattr(adapter, name) for name in ("quotes", "account", "reads", "orders")}
    for name, part in parts.items():
        assert not isinstance(part, SupervisedAdapter), name
        assert type(part) not in type(adapter).__mro__, name
    assert callable(parts["quotes"].once) and callable(parts["account"].once)
    assert isinstance(parts["orders"], SupportsOrders)
    assert isinstance(adapter, SupportsOrders)  # forwarded to the part
