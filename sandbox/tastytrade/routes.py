"""Every tastytrade route, in match order: what `app.py` mounts at the root."""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute

from sandbox.tastytrade import (
    balance_snapshots,
    complex_orders,
    customer,
    history,
    instruments,
    market_time,
    metrics,
    oauth,
    orders,
    rest,
    watchlists,
)
from sandbox.tastytrade.account_streamer import streamer_endpoint
from sandbox.tastytrade.dxlink import dxlink_endpoint

routes: list[BaseRoute] = [
    *oauth.routes,
    *rest.routes,
    *orders.routes,
    *history.routes,
    *instruments.routes,
    *metrics.routes,
    *watchlists.routes,
    *customer.routes,
    *balance_snapshots.routes,
    *market_time.routes,
    *complex_orders.routes,
    WebSocketRoute("/dxlink", dxlink_endpoint),
    WebSocketRoute("/streamer", streamer_endpoint),
]
