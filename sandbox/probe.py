"""A minimal raw DXLink client: checks the wire format without the SDK in between.

Tests use it to see the exact frames (sizes, field counts); the benchmark uses it
because it costs far less CPU per event than the SDK's pydantic models.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import websockets

QUOTE_FIELDS = [
    "eventSymbol", "eventTime", "sequence", "timeNanoPart", "bidTime", "bidExchangeCode",
    "askTime", "askExchangeCode", "bidPrice", "askPrice", "bidSize", "askSize",
]  # fmt: skip


async def quote_token(base_url: str, refresh_token: str, client_secret: str = "probe") -> str:
    """OAuth refresh, then an api-quote-token, over plain HTTP."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        grant = {
            "grant_type": "refresh_token",
            "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        response = await client.post("/oauth/token", json=grant)
        response.raise_for_status()
        bearer = {"Authorization": f"Bearer {response.json()['access_token']}"}
        response = await client.get("/api-quote-tokens", headers=bearer)
        response.raise_for_status()
        return response.json()["data"]["token"]


def handshake(
    token: str,
    symbols: list[str],
    *,
    fields: list[str] | None = None,
    period: float = 0.1,
    channel: int = 7,
) -> list[dict[str, Any]]:
    """The messages that open a Quote feed for `symbols`, in protocol order."""
    return [
        {
            "type": "SETUP",
            "channel": 0,
            "version": "probe",
            "keepaliveTimeout": 60,
            "acceptKeepaliveTimeout": 60,
        },
        {"type": "AUTH", "channel": 0, "token": token},
        {
            "type": "CHANNEL_REQUEST",
            "channel": channel,
            "service": "FEED",
            "parameters": {"contract": "AUTO"},
        },
        {
            "type": "FEED_SETUP",
            "channel": channel,
            "acceptAggregationPeriod": period,
            "acceptDataFormat": "COMPACT",
            "acceptEventFields": {"Quote": fields or QUOTE_FIELDS},
        },
        {
            "type": "FEED_SUBSCRIPTION",
            "channel": channel,
            "add": [{"type": "Quote", "symbol": s} for s in symbols],
        },
    ]


async def open_quote_feed(
    dxlink_url: str,
    token: str,
    symbols: list[str],
    *,
    fields: list[str] | None = None,
    period: float = 0.1,
) -> websockets.ClientConnection:
    """Connect and subscribe; the caller reads frames from the returned socket."""
    ws = await websockets.connect(dxlink_url, max_size=2**20)
    for message in handshake(token, symbols, fields=fields, period=period):
        await ws.send(json.dumps(message))
    return ws
