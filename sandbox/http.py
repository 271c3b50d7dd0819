"""HTTP helpers every façade shares: JSON bodies, the loopback guard, websocket URLs.

Error *shapes* are not here: each broker renders its own (tastytrade/errors in
`tastytrade.rest`, Tradier's in `tradier`, Alpaca's in `alpaca`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import orjson
from starlette.requests import HTTPConnection
from starlette.responses import Response


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """orjson-encoded JSON (numbers as the simulation holds them, no float drift)."""
    return Response(orjson.dumps(payload), status, headers, media_type="application/json")


def is_loopback(conn: HTTPConnection) -> bool:
    """Whether the peer is on this machine (the control API and fault switches only are)."""
    host = conn.client.host if conn.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in {"testclient", "localhost"}


def http_url(conn: HTTPConnection, public_url: str | None, path: str) -> str:
    """A URL back at this sandbox, as it was reached (or at its public address)."""
    return (public_url or f"{conn.url.scheme}://{conn.url.netloc}") + path


def websocket_url(conn: HTTPConnection, public_url: str | None, path: str) -> str:
    """Where a client should connect its websocket: back at this sandbox, as it was reached."""
    url = http_url(conn, public_url, path)
    return url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
