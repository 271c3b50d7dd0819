"""Every tastytrade route, in match order: what `app.py` mounts at the root."""

from __future__ import annotations

from starlette.routing import BaseRoute, WebSocketRoute

from . import history, instruments, metrics, orders, rest, watchlists
from .account_streamer import streamer_endpoint
from .dxlink import dxlink_endpoint

routes: list[BaseRoute] = [
    *rest.routes,
    *orders.routes,
    *history.routes,
    *instruments.routes,
    *metrics.routes,
    *watchlists.routes,
    WebSocketRoute("/dxlink", dxlink_endpoint),
    WebSocketRoute("/streamer", streamer_endpoint),
]
