"""Alpaca's Trading API (what an individual trader's paper or live keys reach) in the
sandbox: routes only.

Mounted under `/alpaca` next to the Broker API, as paper-api.alpaca.markets serves it:
`TradingClient(key, secret, url_override=<sandbox>/alpaca)` calls `/alpaca/v2/...`. The
paths cannot collide: the Broker API lives under `/v1/...` plus `/v2/events/...`. One
mount also means the "alpaca" faults (http_error, delay, blackout) and the Alpaca error
shape apply here without a new broker name.

A key (`APCA-API-KEY-ID` / `APCA-API-SECRET-KEY` headers) is a customer with ONE account
(see `customers.py`); the endpoint families are the shared ones (`endpoints.py`), and its
trade events go out on the `trade_updates` socket (`trade_events/trade_updates.py`).
"""

from __future__ import annotations

from sandbox.alpaca import endpoints
from sandbox.alpaca.customers import TRADING

__all__ = ["routes"]

routes = [
    *endpoints.account_routes("/alpaca/v2", TRADING),
    *endpoints.activity_routes("/alpaca/v2/account", TRADING),
    *endpoints.position_routes("/alpaca/v2/positions", TRADING),
    *endpoints.order_routes("/alpaca/v2/orders", TRADING),
    *endpoints.market_routes("/alpaca/v2", TRADING),
    *endpoints.watchlist_routes("/alpaca/v2/watchlists", TRADING),
    *endpoints.option_contract_routes("/alpaca/v2", TRADING),
]
