"""Every Alpaca route (all under `/alpaca`), in match order: what `app.py` mounts."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sandbox.alpaca import (
    broker_api,
    crypto_data,
    crypto_stream,
    news,
    trading_api,
)
from sandbox.alpaca.trade_events import trade_updates

routes: list[BaseRoute] = [
    *news.routes,
    *crypto_data.routes,
    *crypto_stream.routes,
    *broker_api.routes,
    *trading_api.routes,
    *trade_updates.routes,
]
