"""The Trading API's `trade_updates` WebSocket (`/alpaca/stream`), as paper-api serves it.

Handshake: the client authenticates in-band (`{"action":"authenticate","data":{"key_id",
"secret_key"}}`, alpaca-py's form, or the flat `{"action":"auth","key","secret"}`), then
listens (`{"action":"listen","data":{"streams":["trade_updates"]}}`). Every server message
is UTF-8 JSON in a **binary** frame, as Alpaca's paper endpoint sends them (clients that
assume text frames break here as they would there). Updates are the façade's trade events
(`feed.py`) of the key's account, reshaped: `{"stream":"trade_updates","data":{"event",
"execution_id","order","timestamp"[,"price","qty","position_qty"]}}`. No replay: a client
that was away missed what happened meanwhile (it reconciles over REST).

Guesses (UNCONFIRMED): a second authenticated socket of the same key closes the older one
(1008; Alpaca allows one per account and is reported to refuse the newer with 429 at the
upgrade, which an in-band-authenticated socket cannot be told apart at); a message that
is not JSON or names an unknown action gets `{"stream":"error","data":{"error_message"}}`;
MessagePack is not spoken.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from sandbox.alpaca.customers import TRADING, Customer, StoredEvent
from sandbox.alpaca.facade import AlpacaSandbox
from sandbox.alpaca.wire import NS
from sandbox.core.hub import WsSession

__all__ = ["TradeUpdatesSession", "routes"]

STREAMS = ("trade_updates",)


class TradeUpdatesSession(WsSession):
    """One `trade_updates` socket: listed, dropped, silenced and blacked out like any."""

    kind = "alpaca-ws"

    def __init__(self, websocket: WebSocket, facade: AlpacaSandbox) -> None:
        super().__init__(websocket, facade.sandbox)
        self.facade = facade
        self.customer: Customer | None = None
        self.listening = False
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()

    # -- inbound -------------------------------------------------------------------------
    async def _receive_loop(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            self.messages_received += 1
            raw = message.get("bytes") or message.get("text") or b""
            try:
                msg = orjson.loads(raw)
            except orjson.JSONDecodeError:
                msg = None
            if not isinstance(msg, dict):
                self.reply("error", {"error_message": "invalid syntax"})
                continue
            await self._handle(msg)

    async def _handle(self, msg: dict[str, Any]) -> None:
        action = msg.get("action")
        given = msg.get("data")
        data: dict[str, Any] = given if isinstance(given, dict) else {}
        if action in ("authenticate", "auth"):
            if action == "auth":
                key, secret = msg.get("key"), msg.get("secret")
            else:
                key, secret = data.get("key_id"), data.get("secret_key")
            customer = self.facade.keys.authenticate(TRADING, str(key or ""), str(secret or ""))
            if customer is None:
                self.reply("authorization", {"status": "unauthorized", "action": "authenticate"})
                return
            await self._authorized(customer)
            return
        if action == "listen":
            if self.customer is None:
                self.reply("authorization", {"status": "unauthorized", "action": "listen"})
                return
            asked = data.get("streams")
            streams: list[object] = asked if isinstance(asked, list) else []
            known = [name for name in streams if name in STREAMS]
            self.reply("listening", {"streams": known})  # queued before any update
            self._listen("trade_updates" in known)
            return
        self.reply("error", {"error_message": f"unrecognized action {action!r}"})

    async def _authorized(self, customer: Customer) -> None:
        for old in self.sandbox.hub.find(self.kind, customer.cid):
            if old is not self:
                await old.close(1008, "replaced by a newer connection")
        if self.customer is not None and self.customer is not customer:
            self._listen(False)
        self.customer = customer
        self.credential = customer.cid
        self.reply("authorization", {"status": "authorized", "action": "authenticate"})

    def _listen(self, on: bool) -> None:
        assert self.customer is not None
        streams = self.facade.events.streams
        if on:
            streams.setdefault(self.customer.cid, set()).add(self)
        else:
            streams.get(self.customer.cid, set()).discard(self)
        self.listening = on

    def _cleanup(self) -> None:
        if self.customer is not None:
            self._listen(False)

    # -- outbound ------------------------------------------------------------------------
    def reply(self, stream: str, data: dict[str, Any]) -> None:
        self._outbox.put_nowait(orjson.dumps({"stream": stream, "data": data}))

    def offer(self, event: StoredEvent) -> None:
        """A trade event of the key's account (called by the façade's event tracking)."""
        if self._closed or not self.listening or self.customer is None:
            return
        self._outbox.put_nowait(
            orjson.dumps({"stream": "trade_updates", "data": self.update(event)})
        )

    def update(self, event: StoredEvent) -> dict[str, Any]:
        """A stored trade event as Trading API `trade_updates` data."""
        body = event.body
        data: dict[str, Any] = {
            "event": body["event"],
            "execution_id": body.get("execution_id") or str(uuid.uuid5(NS, f"ev:{event.ulid}")),
            "order": body["order"],
            "timestamp": body["timestamp"],
        }
        for key in ("price", "qty", "position_qty"):
            if key in body:
                data[key] = body[key]
        return data

    async def _background(self) -> None:
        """Send the outbox in order, each message one binary frame."""
        while True:
            payload = await self._outbox.get()
            await self.send_binary(payload)

    async def send_binary(self, payload: bytes) -> None:
        """One binary frame (see `WsSession.may_send`)."""
        if await self.may_send():
            await self.websocket.send_bytes(payload)

    def state(self) -> dict[str, Any]:
        return {**super().state(), "listening": self.listening}


async def trade_stream_endpoint(websocket: WebSocket) -> None:
    await TradeUpdatesSession(websocket, websocket.app.state.alpaca).run()


routes = [WebSocketRoute("/alpaca/stream", trade_stream_endpoint)]
