"""Every broker adapter places orders: each implements `SupportsOrders`
(streaming/brokers/orders/entry.py), so the trading feature can ask any link the same way."""

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
def test_every_adapter_places_orders(adapter: SupervisedAdapter) -> None:
    assert isinstance(adapter, SupportsOrders)


def test_the_catalog_has_no_other_adapter() -> None:
    """A new adapter in the catalog must be added above (and implement order entry)."""
    from streaming.brokers import catalog

    built = {type(a) for a in adapters()}
    listed = {
        v
        for v in vars(catalog).values()
        if isinstance(v, type) and issubclass(v, SupervisedAdapter)
    }
    assert listed == built
