"""The account streamer websocket (the SDK's `AlertStreamer`).

Clients send `{"auth-token","action","request-id","value"}`; every request is
acked with the same request-id and no `type` key. After `connect` with account
numbers, the socket receives `{"type","data","timestamp"}` pushes of
AccountBalance, CurrentPosition and Order for those accounts, in the order the
brokerage produced them (a bounded queue per socket keeps that order).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import orjson
from starlette.websockets import WebSocket

from sandbox.core.credentials import AuthError
from sandbox.core.hub import WsSession
from sandbox.core.simulation import Simulation
from sandbox.tastytrade import record_wire

ACTIONS = {"connect", "heartbeat", "public-watchlists-subscribe", "quote-alerts-subscribe"}
#: Pushes a socket may have waiting before the server gives up on it, as a real server would.
MAX_PENDING = 10_000


class StreamerSession(WsSession):
    """One account-streamer connection."""

    kind = "streamer"

    def __init__(self, websocket: WebSocket, sandbox: Simulation) -> None:
        super().__init__(websocket, sandbox)
        self.accounts: set[str] = set()
        self.events_sent = 0
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()

    async def _background(self) -> None:
        await self._send_loop()

    def _cleanup(self) -> None:
        for account in self.accounts:
            self.sandbox.hub.unwatch_account(account, self)

    async def _receive_loop(self) -> None:
        while not self.closed:
            text = await self.websocket.receive_text()
            self.messages_received += 1
            try:
                message = orjson.loads(text)
                if not isinstance(message, dict):
                    raise ValueError
            except ValueError:
                self._queue({"status": "error", "message": "invalid-json"})
                continue
            self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        request_id = message.get("request-id")
        action = message.get("action")
        ack: dict[str, Any] = {"action": action, "web-socket-session-id": self.id}
        if request_id is not None:
            ack["request-id"] = request_id
        if action not in ACTIONS:
            self._queue({**ack, "status": "error", "message": "invalid-action"})
            return
        try:
            credential = self.sandbox.credentials.check(message.get("auth-token"))
        except AuthError as exc:
            self._queue({**ack, "status": "error", "message": exc.message})
            return
        if self.credential is None:
            self.credential = credential
        elif credential != self.credential:
            self._queue({**ack, "status": "error", "message": "token-mismatch"})
            return
        if action == "connect":
            requested = message.get("value") or []
            if not isinstance(requested, list) or not all(isinstance(a, str) for a in requested):
                self._queue({**ack, "status": "error", "message": "invalid-value"})
                return
            brokerage = self.sandbox.brokerage
            foreign = [a for a in requested if brokerage.owner(a) != credential]
            if foreign:
                self._queue({**ack, "status": "error", "message": "account-not-authorized"})
                return
            for account in requested:
                self.accounts.add(account)
                self.sandbox.hub.watch_account(account, self)
            ack["value"] = requested
        if self.sandbox.faults.hang_acks:
            return
        self._queue({**ack, "status": "ok"})

    def push(self, event: Any) -> None:
        """Queue one account event (called by the hub, in brokerage order)."""
        self._queue(
            {
                "type": event.kind,
                "data": record_wire.render_event(event),
                "timestamp": int(time.time() * 1000),
            },
            is_event=True,
        )

    def _queue(self, message: dict[str, Any], is_event: bool = False) -> None:
        if self.closed:
            return
        if self._outbox.qsize() >= MAX_PENDING:
            # The client is not reading: drop the connection, never the events silently.
            asyncio.get_running_loop().create_task(self.close(1011, "client too slow"))
            return
        self._outbox.put_nowait(orjson.dumps(message))
        if is_event:
            self.sandbox.counters["streamer_events_queued"] += 1

    async def _send_loop(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while not self.closed:
                payload = await self._outbox.get()
                silent = self.silent
                await self.send_bytes_text(payload)
                if not silent and payload.startswith(b'{"type"'):
                    self.events_sent += 1
                    self.sandbox.counters["streamer_events_sent"] += 1

    def state(self) -> dict[str, Any]:
        data = super().state()
        data["accounts"] = sorted(self.accounts)
        data["events_sent"] = self.events_sent
        data["pending"] = self._outbox.qsize()
        return data


async def streamer_endpoint(websocket: WebSocket) -> None:
    """ASGI websocket route for /streamer."""
    await StreamerSession(websocket, websocket.app.state.sandbox).run()
