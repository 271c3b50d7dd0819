"""The sandbox as one ASGI app on one port: REST, two websockets, control API, simulation."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from . import control, rest
from .account_streamer import streamer_endpoint
from .alpaca import AlpacaSandbox, alpaca_error
from .alpaca import routes as alpaca_routes
from .brokerage import AccountEvent, Brokerage
from .config import SandboxConfig
from .credentials import Credentials, credential_id
from .dxlink import dxlink_endpoint
from .faults import DEFAULT_ERROR_BODIES, Faults, HttpFault, broker_of_path
from .hub import Hub
from .market import Market
from .symbols import classify
from .tradier import TradierSandbox
from .tradier import render as tradier_render
from .tradier import routes as tradier_routes

log = logging.getLogger(__name__)


class Sandbox:
    """All state of one sandbox: market, brokerage, credentials, faults and live sockets."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        # this run's own copy: what is derived here (the order id base) must not leak into
        # the caller's object, which a restart may hand in again
        self.config = dataclasses.replace(config) if config is not None else SandboxConfig()
        self.started_at = time.time()
        if self.config.order_id_base <= 0:  # from the start time: never an id of a past run
            self.config.order_id_base = int(self.started_at * 1_000_000)
        self.market = Market(seed=self.config.seed)
        self.brokerage = Brokerage(
            self.market, seed=self.config.seed, first_order_id=self.config.order_id_base
        )
        self.credentials = Credentials()
        self.faults = Faults()
        self.hub = Hub()
        self.counters: Counter[str] = Counter()
        self.public_url: str | None = None
        self._underlyings = (0, 0)  # (symbols seen, underlyings among them)
        #: Called with every account event the simulation publishes (broker façades
        #: such as the Alpaca one turn them into their own wire events).
        self.account_listeners: list[Callable[[AccountEvent], None]] = []
        #: The other brokers' façades over the same market and brokerage.
        self.tradier = TradierSandbox(self)
        self.alpaca = AlpacaSandbox(self)

    # -- simulation -------------------------------------------------------------
    def underlying_count(self) -> int:
        symbols = self.market.symbols
        if self._underlyings[0] != len(symbols):
            count = sum(1 for s in symbols if classify(s) in ("equity", "future"))
            self._underlyings = (len(symbols), count)
        return self._underlyings[1]

    def tick(self, n: int) -> set[str]:
        """Advance the market n ticks and route the news to subscribed feed channels."""
        changed = self.market.tick(n)
        self.counters["ticks"] += n
        self.hub.on_changed(changed)
        return changed

    def publish(self, events: Iterable[AccountEvent]) -> None:
        """Push account events, in order, to every streamer subscribed to their account."""
        for event in events:
            self.counters["account_events"] += 1
            self.hub.push_account_event(event)
            for listener in self.account_listeners:
                try:
                    listener(event)
                except Exception:
                    log.exception("sandbox account listener failed")

    def push_balances(self) -> int:
        accounts = self.hub.watched_accounts()
        self.publish(
            AccountEvent("AccountBalance", number, self.brokerage.balance(number))
            for number in accounts
        )
        return len(accounts)

    async def _every(self, interval_name: str, action: Any) -> None:
        """Run `action` every `config.<interval_name>` seconds (0 pauses it); log, never die."""
        while True:
            interval = getattr(self.config, interval_name)
            await asyncio.sleep(interval if interval > 0 else 1.0)
            if interval > 0:
                try:
                    action()
                except Exception:
                    log.exception("sandbox %s failed", interval_name)

    async def _ticker(self) -> None:
        """Tick every active underlying `tick_rate` times a second, spread evenly."""
        carry = 0.0
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.config.tick_interval)
            now = time.monotonic()
            carry += self.config.tick_rate * self.underlying_count() * (now - last)
            last = now
            n = int(carry)
            if n:
                carry -= n
                try:
                    self.tick(n)
                except Exception:
                    log.exception("sandbox ticker failed")

    def _step_orders(self) -> None:
        self.publish(self.brokerage.step())

    def _demo_orders(self) -> None:
        for number in self.hub.watched_accounts():
            self.publish(self.brokerage.demo_order(number))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(self._ticker()),
            asyncio.create_task(self._every("order_step_interval", self._step_orders)),
            asyncio.create_task(self._every("balance_push_interval", self.push_balances)),
            asyncio.create_task(self._every("demo_order_interval", self._demo_orders)),
        ]
        try:
            yield
        finally:
            self.faults.end_blackouts()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(
                *(s.close(1001, "sandbox shutting down") for s in list(self.hub.sessions.values())),
                return_exceptions=True,
            )

    # -- addressing and reporting -----------------------------------------------
    def websocket_url(self, request: Request, path: str) -> str:
        """Where the SDK should connect: back at this sandbox, as it was reached."""
        base = self.public_url or f"{request.url.scheme}://{request.url.netloc}"
        return base.replace("https://", "wss://").replace("http://", "ws://") + path

    def state(self) -> dict[str, Any]:
        per_credential: dict[str, dict[str, Any]] = {}
        for cred_id, cred in self.credentials.known().items():
            per_credential[cred_id] = {
                "revoked": cred.revoked,
                "refreshes": cred.refreshes,
                "active_access_tokens": self.credentials.active_token_count(cred_id),
                "accounts": [a["account-number"] for a in self.brokerage.accounts(cred_id)],
                "dxlink": [],
                "streamer": [],
            }
        for facade in (self.tradier, self.alpaca):
            per_credential.update(facade.credential_states())
        unauthenticated: list[dict[str, Any]] = []
        for session in self.hub.sessions.values():
            entry = per_credential.get(session.credential or "")
            if entry is None:
                unauthenticated.append(session.state())
            else:
                entry.setdefault(session.kind, []).append(session.state())
        return {
            "config": self.config.as_dict(),
            "faults": self.faults.as_dict(),
            "credentials": per_credential,
            "unauthenticated_sessions": unauthenticated,
            "totals": {
                "dxlink_sessions": len(self.hub.find("dxlink")),
                "streamer_sessions": len(self.hub.find("streamer")),
                "tradier_streams": len(self.hub.find("tradier-stream")),
                "alpaca_streams": len(self.hub.find("alpaca-sse")),
                "closed_sessions": self.hub.closed_sessions,
                "messages_sent": sum(s.messages_sent for s in self.hub.sessions.values()),
                "symbols": len(self.market.symbols),
                **self.counters,
            },
            "uptime": time.time() - self.started_at,
        }


class FaultMiddleware:
    """Apply standing faults before the real handler: a blackout holds new requests and
    websocket handshakes until it ends; then REST delays and injected error statuses, each
    in the shape of the broker whose path it is."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._dispatch(scope, receive, send)
        except ClientDisconnect:
            # The client gave up (say, timed out while a blackout held its request): there
            # is no one to answer, as for a real server, and nothing went wrong here.
            return

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith("/_sandbox/"):
            await self.app(scope, receive, send)
            return
        faults = self.sandbox.faults
        broker = broker_of_path(scope["path"])
        scoped = faults.blackouts or faults.http
        credential = self.credential_of(scope, broker) if scoped else None
        if faults.blackouts:
            await faults.wait_blackout(broker, credential)
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        delay = faults.delay_for(broker)
        if delay:
            await asyncio.sleep(delay)
        fault = (
            faults.take_http(scope["method"], scope["path"], credential) if faults.http else None
        )
        if fault is None:
            await self.app(scope, receive, send)
            return
        self.sandbox.counters["http_faults"] += 1
        await error_for(broker, fault, scope)(scope, receive, send)

    def credential_of(self, scope: Scope, broker: str) -> str | None:
        """The credential id a request is made with, as each broker authenticates."""
        header = ""
        for name, value in scope.get("headers") or ():
            if name == b"authorization":
                header = value.decode("latin-1")
                break
        scheme, _, value = header.partition(" ")
        if broker == "alpaca":
            if scheme.lower() != "basic":
                return None
            try:
                key_id = base64.b64decode(value, validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                return None
            return credential_id(key_id) if key_id else None
        bearer = scheme.lower() == "bearer"
        if broker == "tradier":  # as the façade: only a bearer token is a customer
            return credential_id(value.strip()) if bearer and value.strip() else None
        token = value.strip() if bearer else header.strip()  # tastytrade takes it bare too
        return self.sandbox.credentials.credential_of(token) if token else None


def broker_error(
    broker: str, status: int, code: str, message: str, scope: Scope, headers: dict[str, str]
) -> Response:
    """An error in the broker's own shape: tastytrade `{"error": {"code", "message"}}`,
    Tradier `{"errors": {"error": [...]}}` (JSON or XML, as asked; a bad token is its
    plain `Invalid Access Token`), Alpaca `{"code": <status>10000, "message"}`."""
    if broker == "tradier":
        if status == 401:
            return PlainTextResponse("Invalid Access Token", 401, headers)
        response = tradier_render(Request(scope), {"errors": {"error": [message]}}, status)
        response.headers.update(headers)
        return response
    if broker == "alpaca":
        text = "request is not authorized" if status == 401 else message.lower()
        return alpaca_error(status, status * 100_000 + 10_000, text, **headers)
    return rest.error_response(status, code, message, **headers)


def error_for(broker: str, fault: HttpFault, scope: Scope) -> Response:
    """An injected error as that broker sends it (or as a proxy would, in plain text)."""
    code, message = DEFAULT_ERROR_BODIES.get(fault.status, ("error", "Injected error"))
    headers = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
    if fault.plain_text:
        return PlainTextResponse(message, fault.status, headers)
    return broker_error(broker, fault.status, code, message, scope, headers)


#: Refusals of the routing itself, as (code, message) for the tastytrade-style bodies.
ROUTING_ERRORS = {
    404: ("not_found", "No such endpoint: {method} {path}"),
    405: ("method_not_allowed", "{method} is not allowed on {path}"),
}


async def http_error(request: Request, exc: Exception) -> Response:
    """An unknown route or method (or any HTTP refusal raised by Starlette) in the
    broker's own JSON shape, never plain text: the SDKs parse error bodies, and a
    non-JSON one reads as a network fault to some of them."""
    status = getattr(exc, "status_code", 500)
    headers = dict(getattr(exc, "headers", None) or {})
    code, template = ROUTING_ERRORS.get(status, DEFAULT_ERROR_BODIES.get(status, ("error", "")))
    message = template.format(method=request.method, path=request.url.path) or str(
        getattr(exc, "detail", "")
    )
    if request.url.path.startswith("/_sandbox"):
        return JSONResponse({"error": message}, status, headers)
    broker = broker_of_path(request.url.path)
    return broker_error(broker, status, code, message, request.scope, headers)


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug in the sandbox still answers in the broker's shape (and is logged)."""
    log.exception("sandbox: %s %s failed", request.method, request.url.path, exc_info=exc)
    code, message = DEFAULT_ERROR_BODIES[500]
    broker = broker_of_path(request.url.path)
    return broker_error(broker, 500, code, message, request.scope, {})


def build_app(sandbox: Sandbox | None = None) -> Starlette:
    """The sandbox ASGI app; its lifespan runs the market ticker and order simulation."""
    sandbox = sandbox or Sandbox()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with sandbox.running():
            yield

    app = Starlette(
        routes=[
            *rest.routes,
            *control.routes,
            *tradier_routes,
            *alpaca_routes,
            WebSocketRoute("/dxlink", dxlink_endpoint),
            WebSocketRoute("/streamer", streamer_endpoint),
        ],
        middleware=[Middleware(FaultMiddleware, sandbox=sandbox)],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return app
