"""Every tastytrade route, in match order: what `app.py` mounts at the root."""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute

from sandbox.tastytrade import (
    balance_snapshots,
    complex_orders,
    customer,
    history,
    market_time,
    metrics,
    oauth,
    orders,
    rest,
    watchlists,
)
from sandbox.tastytrade.account_streamer import streamer_endpoint
from sandbox.tastytrade.dxlink import dxlink_endpoint
from sandbox.tastytrade.instruments.routes import routes as instrument_routes

routes: list[BaseRoute] = [
    *oauth.routes,
    *rest.routes,
    *orders.routes,
    *history.routes,
    *instrument_routes,
    *metrics.routes,
    *watchlists.routes,
    *customer.routes,
    *balance_snapshots.routes,
    *market_time.routes,
    *complex_orders.routes,
    WebSocketRoute("/dxlink", dxlink_endpoint),
    WebSocketRoute("/streamer", streamer_endpoint),
]
