"""One day of an Alpaca account's equity from the broker's portfolio history.

`GET /v1/trading/accounts/{id}/account/portfolio/history` (Broker API) or
`GET /v2/account/portfolio/history` (Trading API), `period=1D&timeframe=5Min&date_end=`:
`equity` at each `timestamp` (seconds); null values are dropped and only the points
inside the asked (UTC) day kept (a `date_end` on a closed day answers the trading day
before it). The adapters ask it with their own key (reads.py, `AlpacaReads.balance_history`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from streaming.brokers.alpaca.client import AlpacaClient

#: One point per this window: 78 points over a regular session.
TIMEFRAME = "5Min"


def broker_path(account_id: str) -> str:
    return f"/v1/trading/accounts/{account_id}/account/portfolio/history"


TRADING_PATH = "/v2/account/portfolio/history"


def day_points(body: Mapping[str, Any], day: dt.date) -> list[tuple[int, float]]:
    """(ms, equity) of the answer's points inside `day`, ascending."""
    start = dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
    end = start + 86400
    points = []
    for stamp, equity in zip(body.get("timestamp") or [], body.get("equity") or [], strict=False):
        if equity is not None and start <= float(stamp) < end:
            points.append((int(float(stamp) * 1000), float(equity)))
    return sorted(points)


async def portfolio_history(
    client: AlpacaClient, path: str, day: dt.date
) -> list[tuple[int, float]]:
    """One day of equity from `path` (the Broker or the Trading API's history)."""
    body = await client.get(
        path, {"period": "1D", "timeframe": TIMEFRAME, "date_end": day.isoformat()}
    )
    return day_points(body, day)
