"""The opening every Alpaca market data socket shares (news, crypto): `connected`, then
the key in an `auth` message, then `authenticated` or an error.

Errors arrive as `[{"T":"error","code","msg"}]`: 401, 402 and 403 refuse the key itself
(CredentialRejected: retrying soon cannot help); anything else (406, one connection per
key, above all) is a connection failure that a backoff retries.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

import orjson
from websockets.asyncio.client import ClientConnection

from streaming.brokers.alpaca.payloads import AlpacaMarketMessage
from streaming.brokers.errors import CredentialRejected

#: The error codes that refuse the key (not the connection).
KEY_REFUSED = (401, 402, 403)


async def receive(ws: ClientConnection, within: float) -> list[AlpacaMarketMessage]:
    """The next frame's messages (Alpaca sends a JSON list per frame)."""
    raw = await asyncio.wait_for(ws.recv(), within)
    messages = orjson.loads(raw)
    if not isinstance(messages, list):
        raise ValueError(f"unexpected market data message: {raw!r:.200}")
    # the edge: the frame's JSON as the messages it holds
    return [cast(AlpacaMarketMessage, m) for m in messages if isinstance(m, dict)]


async def receive_or(
    ws: ClientConnection, changed: asyncio.Event, within: float | None = None
) -> str | bytes | None:
    """The next frame, or None if `changed` is set (or `within` seconds pass) first: a
    subscription change is sent between two frames. A receive cut short is cancelled,
    which loses nothing (the frame stays queued for the next one)."""
    waiting = asyncio.ensure_future(changed.wait())
    received = asyncio.ensure_future(ws.recv())
    try:
        await asyncio.wait({waiting, received}, timeout=within, return_when="FIRST_COMPLETED")
    finally:
        waiting.cancel()
        if not received.done():
            received.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await received
    return received.result() if received.done() and not received.cancelled() else None


async def authenticate(
    ws: ClientConnection, key_id: str, secret_key: str, *, within: float, what: str
) -> None:
    """Wait for `connected`, send the key, and return once it is `authenticated` (each
    answer within `within` seconds). `what` names the data in errors ("news", "crypto
    market data")."""
    first = await receive(ws, within)
    if not first or first[0].get("T") != "success" or first[0].get("msg") != "connected":
        raise ValueError(f"no 'connected' from the {what} socket: {first!r:.200}")
    await ws.send(orjson.dumps({"action": "auth", "key": key_id, "secret": secret_key}).decode())
    answer = await receive(ws, within)
    for message in answer:
        if message.get("T") == "error":
            code, text = message.get("code"), message.get("msg", "")
            if code in KEY_REFUSED:
                raise CredentialRejected(f"Alpaca rejected the key for {what} ({code} {text})")
            raise ConnectionError(f"{what} socket refused: {code} {text}")
        if message.get("T") == "success" and message.get("msg") == "authenticated":
            return
    raise ValueError(f"unexpected auth answer: {answer!r:.200}")
