"""The sandbox as one ASGI app on one port: REST, two websockets, control API, simulation."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox import control
from sandbox.alpaca import market_data as alpaca_market_data
from sandbox.alpaca import news as alpaca_news
from sandbox.alpaca.facade import AlpacaSandbox
from sandbox.alpaca.routes import routes as alpaca_routes
from sandbox.alpaca.wire import alpaca_error
from sandbox.core.config import SandboxConfig
from sandbox.core.credentials import credential_id
from sandbox.core.faults import DEFAULT_ERROR_BODIES, HttpFault, broker_of_path
from sandbox.core.simulation import Simulation
from sandbox.tastytrade import orders as tastytrade_orders
from sandbox.tastytrade import record_wire, rest
from sandbox.tastytrade.routes import routes as tastytrade_routes
from sandbox.tradier.api import TradierSandbox
from sandbox.tradier.routes import routes as tradier_routes
from sandbox.tradier.wire import render as tradier_render

log = logging.getLogger(__name__)


class Sandbox(Simulation):
    """One sandbox: the simulation plus the façades of the brokers that are not the root."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        super().__init__(config)
        #: The other brokers' façades over the same market and brokerage.
        self.tradier = TradierSandbox(self)
        #: Alpaca's Broker and Trading API keys, orders and trade events.
        self.alpaca = AlpacaSandbox(self)
        alpaca_market_data.attach(self.alpaca)  # keys seen by market data only, in state()
        alpaca_news.attach(self.alpaca)  # its market data news sockets hear the newsroom
        self.credential_reporters += [self.tradier.credential_states, self.alpaca.credential_states]


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
            for name, key_id in scope.get("headers") or ():
                if name == b"apca-api-key-id" and key_id:  # the Trading API's key header
                    return credential_id(key_id.decode("latin-1"))
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
        return control.control_error(status, code, message, **headers)
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
            *control.routes,
            *tastytrade_routes,
            *tradier_routes,
            *alpaca_routes,
        ],
        middleware=[Middleware(FaultMiddleware, sandbox=sandbox)],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    app.state.order_codec = control.OrderCodec(
        tastytrade_orders.order_request, record_wire.render_placed
    )
    app.state.tradier = sandbox.tradier
    app.state.alpaca = sandbox.alpaca
    return app
