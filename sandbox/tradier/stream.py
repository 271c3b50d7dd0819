"""Tradier's HTTP market stream (`/v1/markets/events`): one long response body of JSON
payloads, written as the market ticks, per session id from `/v1/markets/events/session`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sandbox.core.hub import Session
from sandbox.tradier.api import TradierSandbox
from sandbox.tradier.wire import PREFIX, STREAM_TYPES, params

__all__ = ["StreamEndpoint", "TradierStream", "routes"]


class TradierStream(Session):
    """One open HTTP market stream, listed, dropped and silenced like any session."""

    kind = "tradier-stream"

    def __init__(
        self,
        facade: TradierSandbox,
        credential: str,
        symbols: dict[str, str],
        types: tuple[str, ...],
        linebreak: bool,
    ) -> None:
        super().__init__(credential, facade.sandbox.faults)
        self.facade = facade
        self.symbols = symbols  # market symbol -> the symbol as the client spelled it
        self.types = types
        self.linebreak = linebreak
        self.dirty: set[str] = set()
        self.wake = asyncio.Event()
        self.last_sent: dict[tuple[str, str], Any] = {}
        self.close_reason = ""

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """End the response body (a dropped connection, as the client sees it)."""
        self._closed = True
        self.close_reason = reason
        self.wake.set()

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "symbols": sorted(self.symbols.values()),
            "filter": list(self.types),
            "linebreak": self.linebreak,
        }

    # -- market routing -------------------------------------------------------------------
    def mark(self, symbol: str) -> None:
        self.dirty.add(symbol)
        self.wake.set()

    def _take_dirty(self) -> set[str]:
        dirty, self.dirty = self.dirty, set()
        return dirty

    def payloads(self, names: set[str] | list[str], *, force: bool = False) -> list[bytes]:
        """What changed for these symbols since this stream last sent them."""
        out = []
        market = self.facade.sandbox.market
        for name in names:
            symbol = self.symbols.get(name)
            if symbol is None:
                continue
            q = market.quote(name)
            t = market.trade(name)
            s = market.summary(name)
            keys = {
                "quote": (q["bidPrice"], q["askPrice"], q["bidSize"], q["askSize"]),
                "trade": (t["sequence"], t["time"]),
                "tradex": (t["sequence"], t["time"]),
                "timesale": (t["sequence"], t["time"]),
                "summary": (
                    s["dayOpenPrice"],
                    s["dayHighPrice"],
                    s["dayLowPrice"],
                    s["prevDayClosePrice"],
                ),
            }
            for kind in self.types:
                key = keys[kind]
                if not force and self.last_sent.get((kind, name)) == key:
                    continue
                self.last_sent[(kind, name)] = key
                payload = self.facade.encoded(kind, name, symbol)
                if payload is not None:
                    out.append(payload)
        return out

    async def body(self, send: Send) -> None:
        """Send payloads until closed, idle too long, or the client goes away."""
        config = self.facade.sandbox.config
        separator = b"\n" if self.linebreak else b""
        last_data = time.monotonic()
        pending = self.payloads(list(self.symbols))
        while not self._closed:
            if self.facade.sandbox.faults.blackouts and await self.hold():
                last_data = time.monotonic()  # frozen, not idle
                if self._closed:
                    break
                pending += self.payloads(self._take_dirty())
            if pending:
                if self.silent:
                    self.messages_suppressed += len(pending)
                else:
                    self.messages_sent += len(pending)
                    self.facade.sandbox.counters["tradier_events_sent"] += len(pending)
                    chunk = b"".join(p + separator for p in pending)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    last_data = time.monotonic()
            idle_close = config.tradier_idle_close
            repeat = config.tradier_idle_repeat
            timeout = max(0.05, idle_close - (time.monotonic() - last_data))
            if repeat > 0:
                timeout = min(timeout, max(0.05, repeat - (time.monotonic() - last_data)))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.wake.wait()
            self.wake.clear()
            idle = time.monotonic() - last_data
            if idle_close > 0 and idle >= idle_close:
                break
            pending = self.payloads(self._take_dirty())
            if not pending and repeat > 0 and idle >= repeat:
                quotes = [k for k in self.types if k == "quote"]
                pending = [
                    p
                    for name, symbol in self.symbols.items()
                    for k in quotes
                    if (p := self.facade.encoded(k, name, symbol)) is not None
                ]
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _json_error(send: Send, status: int, payload: Any, plain: bool = False) -> None:
    body = payload.encode() if plain else orjson.dumps(payload)
    media = b"text/plain" if plain else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", media), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


class StreamEndpoint:
    """`GET|POST /v1/markets/events` as a raw ASGI app: the body is written as ticks come,
    and a client that goes away is noticed (its session leaves the hub at once)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        facade: TradierSandbox = request.app.state.tradier
        sandbox = facade.sandbox
        refused = sandbox.faults.refusal(TradierStream.kind)  # the gateway, before auth
        if refused:
            await _json_error(send, refused, "Service Unavailable", plain=True)
            return
        customer = facade.authenticate(request)
        if customer is None:
            await _json_error(send, 401, "Invalid Access Token", plain=True)
            return
        refused = sandbox.faults.refusal(TradierStream.kind, customer.cid)
        if refused:
            await _json_error(send, refused, "Service Unavailable", plain=True)
            return
        values = await params(request)
        session = facade.sessions.get(values.get("sessionid", ""))
        ttl = sandbox.config.tradier_session_ttl
        if (
            session is None
            or session.cid != customer.cid
            or session.used
            or time.monotonic() - session.created > ttl
        ):
            customer.sessions_rejected += 1
            sandbox.counters["tradier_sessions_rejected"] += 1
            await _json_error(send, 400, {"error": "session not found"})
            return
        requested = [s.strip().upper() for s in values.get("symbols", "").split(",") if s.strip()]
        symbols = {}
        for symbol in requested:
            name = facade.market_symbol(symbol)
            if name is not None:
                symbols[name] = symbol
        if not symbols:
            bad = requested[0] if requested else "''"
            await _json_error(send, 400, {"error": f"{bad} is not a valid symbol"})
            return
        wanted = [t.strip().lower() for t in values.get("filter", "").split(",") if t.strip()]
        types = tuple(t for t in STREAM_TYPES if not wanted or t in wanted)
        linebreak = values.get("linebreak", "false").lower() not in ("false", "0", "")
        others = sandbox.hub.find("tradier-stream", customer.cid)
        if others and sandbox.config.tradier_second_session == "reject":
            customer.sessions_rejected += 1
            await _json_error(send, 400, {"error": "too many sessions requested"})
            return
        for other in others:
            await other.close(1000, "kicked by a newer session")
        session.used = True
        customer.streams_started += 1
        sandbox.counters["tradier_streams_started"] += 1
        stream = TradierStream(facade, customer.cid, symbols, types, linebreak)
        hub = sandbox.hub
        hub.add(stream)
        for name in symbols:
            hub.watch_symbol(name, stream)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await _until_disconnect(stream.body(send), receive)
        finally:
            for name in symbols:
                hub.unwatch_symbol(name, stream)
            stream._closed = True
            hub.remove(stream)


async def _until_disconnect(body: Awaitable[None], receive: Receive) -> None:
    """Run the body until it ends or the client disconnects, whichever is first."""
    sender = asyncio.ensure_future(body)

    async def watch() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    watcher = asyncio.ensure_future(watch())
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
        await asyncio.gather(sender, watcher, return_exceptions=True)
    if sender.done() and not sender.cancelled() and sender.exception() is not None:
        exc = sender.exception()
        if not isinstance(exc, OSError):
            raise exc  # type: ignore[misc]


routes = [Route(f"{PREFIX}/v1/markets/events", StreamEndpoint(), methods=["GET", "POST"])]
