"""Every Tradier route (all under `/tradier`), in match order: what `app.py` mounts."""

from __future__ import annotations

from starlette.routing import BaseRoute

from sandbox.tradier import (
    api,
    history,
    markets,
    orders,
    securities,
    stream,
    user,
    watchlists,
)

routes: list[BaseRoute] = [
    *markets.routes,
    *securities.routes,
    *watchlists.routes,
    *orders.routes,
    *history.routes,
    *user.routes,
    *api.routes,
    *stream.routes,
]
