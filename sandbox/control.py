"""The loopback-only control API that tests and operators use to steer the sandbox.

`GET /_sandbox/state` reports live sessions and subscriptions per credential;
`POST /_sandbox/faults` injects a fault; `DELETE /_sandbox/faults` clears them;
`POST /_sandbox/config`, `/_sandbox/tick`, `/_sandbox/step`, `/_sandbox/price` and
`/_sandbox/orders` drive the simulation deterministically; `POST /_sandbox/news` publishes an
article and `POST /_sandbox/news/<id>` updates one (same id, a later `updated_at`). The request
and response shapes are documented in docs/sandbox.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.faults import BROKER_KINDS, BROKER_MOUNTS, HttpFault
from sandbox.core.news import NewsArticle
from sandbox.core.records import AccountEvent, OrderRejected, OrderRequest, PlacedOrder
from sandbox.core.simulation import Simulation
from sandbox.core.symbols import classify
from sandbox.http import is_loopback, json_response

#: Live upstream connections the socket faults (drop, silence) can target: tastytrade's
#: two websockets, Tradier's HTTP market stream, Alpaca's SSE trade-event stream and its
#: Trading API `trade_updates` websocket, and its market data news and crypto websockets.
SOCKET_TARGETS = {
    "dxlink",
    "streamer",
    "tradier-stream",
    "alpaca-sse",
    "alpaca-ws",
    "alpaca-news",
    "alpaca-crypto",
    "all",
}
#: Kinds whose request names the credential before it is served (the HTTP streams): only
#: these can be refused for one credential.
CREDENTIAL_REFUSABLE = {"tradier-stream", "alpaca-sse"}
#: Config fields fixed at start (changing them live could break a promise, e.g. hand out
#: an order id again).
START_ONLY_CONFIG = {"order_id_base", "start_time"}


def control_error(status: int, code: str, message: str, **headers: str) -> Response:
    """Every refusal of the control API: `{"error": {"code", "message"}}`."""
    return json_response({"error": {"code": code, "message": message}}, status, headers or None)


@dataclass(frozen=True)
class OrderCodec:
    """How `/_sandbox/orders` reads an order and answers: the tastytrade façade's order
    JSON, handed in by `app.py` (the only module that imports façades)."""

    parse: Callable[[Any], OrderRequest]
    render: Callable[[PlacedOrder], dict[str, Any]]


class ControlError(Exception):
    """A control request that cannot be carried out (400 with the reason)."""


def loopback_only(
    handler: Callable[[Request, Simulation, dict[str, Any]], Awaitable[Any]],
) -> Callable[[Request], Awaitable[Response]]:
    """Refuse anyone not on this machine; parse the JSON body; map errors to 400."""

    async def endpoint(request: Request) -> Response:
        if not is_loopback(request):
            return control_error(403, "forbidden", "The control API is loopback-only")
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ControlError("body must be a JSON object")
            result = await handler(request, request.app.state.sandbox, body)
        except (ControlError, orjson.JSONDecodeError, ValueError, TypeError) as exc:
            return control_error(400, "invalid_control_request", str(exc))
        return json_response(result)

    endpoint.__name__ = handler.__name__
    return endpoint


async def state(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    return sandbox.state()


def _broker(body: dict[str, Any]) -> str | None:
    broker = body.get("broker")
    if broker is not None and broker not in BROKER_KINDS:
        raise ControlError(f"broker must be one of {sorted(BROKER_KINDS)}")
    return broker


def _credential(body: dict[str, Any]) -> str | None:
    credential = body.get("credential")
    if credential is not None and not isinstance(credential, str):
        raise ControlError("credential must be a credential id (a string)")
    return credential or None


def _kinds(body: dict[str, Any]) -> set[str]:
    """The connection kinds a socket fault acts on: `target` within `broker`."""
    target = body.get("target", "all")
    if target not in SOCKET_TARGETS:
        raise ControlError(f"target must be one of {sorted(SOCKET_TARGETS)}")
    kinds = SOCKET_TARGETS - {"all"} if target == "all" else {target}
    broker = _broker(body)
    if broker is not None:
        if target != "all" and target not in BROKER_KINDS[broker]:
            raise ControlError(f"target {target!r} is not one of {broker}'s connections")
        kinds &= set(BROKER_KINDS[broker])
    return kinds


def _seconds(body: dict[str, Any], *, required: bool = False) -> float | None:
    seconds = body.get("seconds")
    if seconds is None:
        if required:
            raise ControlError("seconds is required")
        return None
    value = float(seconds)
    if not value >= 0 or value == float("inf"):
        raise ControlError("seconds must be a finite number >= 0")
    return value


def _path_prefix(body: dict[str, Any], broker: str | None) -> str:
    """A path prefix; with a broker it may be relative to that broker's mount
    (`/v1/accounts/` with broker "tradier" is `/tradier/v1/accounts/`)."""
    prefix = str(body.get("path_prefix", "/"))
    if not prefix.startswith("/"):
        raise ControlError("path_prefix must start with /")
    mount = BROKER_MOUNTS.get(broker or "", "")
    if mount and not (prefix == mount or prefix.startswith(mount + "/")):
        prefix = mount + prefix
    return prefix


async def inject_fault(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    kind = body.get("kind")
    credential = _credential(body)
    faults = sandbox.faults
    if kind == "drop":
        code = int(body.get("code", 1011))
        affected = await sandbox.hub.drop(_kinds(body), credential, code)
        return {"affected": affected}
    if kind == "silence":
        affected = sandbox.hub.silence(_kinds(body), credential, _seconds(body))
        return {"affected": affected}
    if kind == "blackout":
        seconds = _seconds(body, required=True) or 0.0
        broker = _broker(body)
        if seconds == 0:
            return {"affected": faults.end_blackouts(broker, credential), "seconds": 0}
        faults.add_blackout(seconds, broker, credential)
        kinds = BROKER_KINDS[broker] if broker else SOCKET_TARGETS - {"all"}
        affected = len(sandbox.hub.find_kinds(kinds, credential))
        return {"affected": affected, "seconds": seconds}
    if kind == "expire_tokens":
        return {"affected": sandbox.credentials.expire_access_tokens(credential)}
    if kind == "revoke":
        if not credential:
            raise ControlError("revoke needs a credential id")
        sandbox.credentials.revoke(credential, bool(body.get("revoked", True)))
        return {"affected": 1}
    if kind == "http_error":
        status = int(body.get("status", 500))
        if not 400 <= status <= 599:
            raise ControlError("status must be 4xx or 5xx")
        count = body.get("count", 1)
        broker = _broker(body)
        faults.http.append(
            HttpFault(
                status=status,
                path_prefix=_path_prefix(body, broker),
                count=None if count is None else int(count),
                plain_text=bool(body.get("plain_text", False)),
                retry_after=None if body.get("retry_after") is None else int(body["retry_after"]),
                method=body.get("method"),
                broker=broker,
                credential=credential,
            )
        )
        return {"affected": 1}
    if kind == "delay":
        seconds = _seconds(body) or 0.0
        broker = _broker(body)
        if broker is None:
            faults.rest_delay = seconds
        elif seconds:
            faults.broker_delay[broker] = seconds
        else:
            faults.broker_delay.pop(broker, None)
        return {"affected": 1}
    if kind == "refuse_sessions":
        status = int(body.get("status", 503))
        if status and not 400 <= status <= 599:
            raise ControlError("status must be 4xx or 5xx (0 lifts the refusal)")
        kinds = _kinds(body)
        if credential is not None:
            if body.get("target", "all") == "all":
                kinds &= CREDENTIAL_REFUSABLE
            if not kinds or not kinds <= CREDENTIAL_REFUSABLE:
                raise ControlError(
                    "a websocket handshake names no credential: only "
                    f"{sorted(CREDENTIAL_REFUSABLE)} can be refused per credential"
                )
            table = faults.refuse_sessions_by_credential.setdefault(credential, {})
        else:
            table = faults.refuse_sessions
        for target in kinds:
            if status:
                table[target] = status
            else:
                table.pop(target, None)
        if credential is not None and not table:
            faults.refuse_sessions_by_credential.pop(credential, None)
        return {"affected": len(kinds)}
    if kind == "candle_delay":
        faults.candle_delay = _seconds(body) or 0.0
        return {"affected": 1}
    if kind in ("hang_auth", "hang_channels", "hang_acks"):
        setattr(faults, kind, bool(body.get("on", True)))
        return {"affected": 1}
    raise ControlError(f"unknown fault kind: {kind!r}")


async def clear_faults(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    sandbox.faults.clear()
    sandbox.hub.unsilence_all()
    return {"faults": sandbox.faults.as_dict()}


async def update_config(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    fixed = sorted(START_ONLY_CONFIG & body.keys())
    if fixed:
        raise ControlError(f"{', '.join(fixed)} can only be set when the sandbox starts")
    unknown = sandbox.config.update(body)
    if unknown:
        raise ControlError(f"unknown config keys: {unknown}")
    return sandbox.config.as_dict()


async def tick(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    n = int(body.get("n", 1))
    if not 0 < n <= 1_000_000:
        raise ControlError("n must be between 1 and 1000000")
    return {"changed": len(sandbox.tick(n))}


async def set_price(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    symbol, price = body.get("symbol"), body.get("price")
    if not isinstance(symbol, str) or classify(symbol) not in ("equity", "future", "crypto"):
        raise ControlError("symbol must be an equity, future or crypto (BTC/USD:CXTALP) symbol")
    if isinstance(price, bool) or not isinstance(price, int | float) or not 0.01 <= price <= 1e6:
        raise ControlError("price must be a number from 0.01 to 1000000")
    return {"changed": len(sandbox.set_price(symbol, float(price)))}


async def step(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    events = sandbox.brokerage.step()
    sandbox.publish(events)
    return {"events": [{"kind": e.kind, "account_number": e.account_number} for e in events]}


async def place_order(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    number = str(body.get("account_number", ""))
    order = body.get("order")
    if not isinstance(order, dict):
        raise ControlError("order must be an object in the SDK's order JSON shape")
    codec: OrderCodec = request.app.state.order_codec
    try:
        placed = sandbox.brokerage.place_order(number, codec.parse(order))
    except OrderRejected as exc:
        raise ControlError(f"{exc.code}: {exc.message}") from exc
    sandbox.publish([AccountEvent("Order", number, placed.order)])
    return codec.render(placed)


async def push_balances(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    return {"pushed": sandbox.push_balances()}


def _instant(body: dict[str, Any], name: str) -> float | None:
    """An instant given as epoch seconds or ISO 8601 with an offset (`Z` included)."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ControlError(f"{name} must be epoch seconds or an ISO 8601 time")
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            raise ControlError(f"{name} needs a UTC offset (or Z)")
        return parsed.timestamp()
    return float(value)


TEXT_FIELDS = ("summary", "content", "author", "source", "url")


def _article(article: NewsArticle) -> dict[str, Any]:
    return dataclasses.asdict(article)


async def publish_news(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    """A new article: `{"headline", "symbols", "created_at"?, "summary"?, ...}`."""
    symbols = body.get("symbols", [])
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        raise ControlError("symbols must be a list of strings")
    texts = {
        k: str(body[k]) for k in ("summary", "content", "author", "source", "url") if k in body
    }
    article = sandbox.news.publish(
        str(body.get("headline", "")),
        symbols,
        created_at=_instant(body, "created_at"),
        updated_at=_instant(body, "updated_at"),
        **texts,
    )
    return _article(article)


async def update_news(request: Request, sandbox: Simulation, body: dict[str, Any]) -> Any:
    """A new revision of article `id`: same id, a later `updated_at`, the given fields."""
    changes = {k: v for k, v in body.items() if k != "updated_at"}
    try:
        article = sandbox.news.update(
            int(request.path_params["article_id"]),
            updated_at=_instant(body, "updated_at"),
            **changes,
        )
    except KeyError as exc:
        raise ControlError(str(exc)) from exc
    return _article(article)


routes = [
    Route("/_sandbox/state", loopback_only(state), methods=["GET"]),
    Route("/_sandbox/faults", loopback_only(inject_fault), methods=["POST"]),
    Route("/_sandbox/faults", loopback_only(clear_faults), methods=["DELETE"]),
    Route("/_sandbox/config", loopback_only(update_config), methods=["POST"]),
    Route("/_sandbox/tick", loopback_only(tick), methods=["POST"]),
    Route("/_sandbox/step", loopback_only(step), methods=["POST"]),
    Route("/_sandbox/price", loopback_only(set_price), methods=["POST"]),
    Route("/_sandbox/orders", loopback_only(place_order), methods=["POST"]),
    Route("/_sandbox/balances", loopback_only(push_balances), methods=["POST"]),
    Route("/_sandbox/news", loopback_only(publish_news), methods=["POST"]),
    Route("/_sandbox/news/{article_id:int}", loopback_only(update_news), methods=["POST"]),
]
