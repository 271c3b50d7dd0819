"""The loopback-only control API that tests and operators use to steer the sandbox.

`GET /_sandbox/state` reports live sessions and subscriptions per credential;
`POST /_sandbox/faults` injects a fault; `DELETE /_sandbox/faults` clears them;
`POST /_sandbox/config`, `/_sandbox/tick`, `/_sandbox/step` and `/_sandbox/orders`
drive the simulation deterministically. The request and response shapes are
documented in docs/sandbox.md.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .brokerage import AccountEvent, OrderRejected
from .faults import HttpFault
from .rest import error_response, json_response

if TYPE_CHECKING:
    from .app import Sandbox

#: Live upstream connections the socket faults (drop, silence) can target: tastytrade's
#: two websockets, Tradier's HTTP market stream and Alpaca's SSE trade-event stream.
SOCKET_TARGETS = {"dxlink", "streamer", "tradier-stream", "alpaca-sse", "all"}


class ControlError(Exception):
    """A control request that cannot be carried out (400 with the reason)."""


def loopback_only(
    handler: Callable[[Request, Sandbox, dict[str, Any]], Awaitable[Any]],
) -> Callable[[Request], Awaitable[Response]]:
    """Refuse anyone not on this machine; parse the JSON body; map errors to 400."""

    async def endpoint(request: Request) -> Response:
        host = request.client.host if request.client else ""
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host in {"testclient", "localhost"}
        if not loopback:
            return error_response(403, "forbidden", "The control API is loopback-only")
        raw = await request.body()
        try:
            body = orjson.loads(raw) if raw else {}
            if not isinstance(body, dict):
                raise ControlError("body must be a JSON object")
            result = await handler(request, request.app.state.sandbox, body)
        except (ControlError, orjson.JSONDecodeError, ValueError, TypeError) as exc:
            return error_response(400, "invalid_control_request", str(exc))
        return json_response(result)

    endpoint.__name__ = handler.__name__
    return endpoint


async def state(request: Request, sandbox: Sandbox, body: dict[str, Any]) -> Any:
    return sandbox.state()


def _target(body: dict[str, Any]) -> str:
    target = body.get("target", "all")
    if target not in SOCKET_TARGETS:
        raise ControlError(f"target must be one of {sorted(SOCKET_TARGETS)}")
    return target


async def inject_fault(request: Request, sandbox: Sandbox, body: dict[str, Any]) -> Any:
    kind = body.get("kind")
    credential = body.get("credential")
    faults = sandbox.faults
    if kind == "drop":
        code = int(body.get("code", 1011))
        affected = await sandbox.hub.drop(_target(body), credential, code)
        return {"affected": affected}
    if kind == "silence":
        seconds = body.get("seconds")
        affected = sandbox.hub.silence(
            _target(body), credential, None if seconds is None else float(seconds)
        )
        return {"affected": affected}
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
        faults.http.append(
            HttpFault(
                status=status,
                path_prefix=str(body.get("path_prefix", "/")),
                count=None if count is None else int(count),
                plain_text=bool(body.get("plain_text", False)),
                retry_after=None if body.get("retry_after") is None else int(body["retry_after"]),
                method=body.get("method"),
            )
        )
        return {"affected": 1}
    if kind == "delay":
        faults.rest_delay = max(0.0, float(body.get("seconds", 0)))
        return {"affected": 1}
    if kind == "refuse_sessions":
        status = int(body.get("status", 503))
        targets = SOCKET_TARGETS - {"all"} if _target(body) == "all" else {body["target"]}
        for target in targets:
            if status:
                faults.refuse_sessions[target] = status
            else:
                faults.refuse_sessions.pop(target, None)
        return {"affected": 1}
    if kind in ("hang_auth", "hang_channels", "hang_acks"):
        setattr(faults, kind, bool(body.get("on", True)))
        return {"affected": 1}
    raise ControlError(f"unknown fault kind: {kind!r}")


async def clear_faults(request: Request, sandbox: Sandbox, body: dict[str, Any]) -> Any:
    sandbox.faults.clear()
    sandbox.hub.unsilence_all()
    return {"faults": sandbox.faults.as_dict()}


async def update_config(request: Request, sandbox: Sandbox, body: dict[str, Any]) -> Any:
    unknown = sandbox.config.update(body)
    if unknown:
        raise ControlError(f"unknown config keys: {unknown}")
    return sandbox.config.as_dict()


async def tick(request: Request, sandbox: Sandbox, body: dict[str, Any]) -> Any:
    n = int(body.get("n", 1))
    if not 0 < n <= 1_000_000:
        raise ControlError("n must be between 1 and 1000000")
    return {"changed": len(sandbox.tick(n))}


async def step(request: Request, sandbox: Sandbox, body: dict[str, Any]) -> Any:
    events = sandbox.brokerage.step()
    sandbox.publish(events)
    return {"events": [{"kind": e.kind, "account_number": e.account_number} for e in events]}


async def place_order(request: Request, sandbox: Sandbox, body: dict[str, Any]) -> Any:
    number = str(body.get("account_number", ""))
    order = body.get("order")
    if not isinstance(order, dict):
        raise ControlError("order must be an object in the SDK's order JSON shape")
    try:
        result = sandbox.brokerage.place_order(number, order)
    except OrderRejected as exc:
        raise ControlError(f"{exc.code}: {exc.message}") from exc
    sandbox.publish([AccountEvent("Order", number, result["order"])])
    return result


async def push_balances(request: Request, sandbox: Sandbox, body: dict[str, Any]) -> Any:
    return {"pushed": sandbox.push_balances()}


routes = [
    Route("/_sandbox/state", loopback_only(state), methods=["GET"]),
    Route("/_sandbox/faults", loopback_only(inject_fault), methods=["POST"]),
    Route("/_sandbox/faults", loopback_only(clear_faults), methods=["DELETE"]),
    Route("/_sandbox/config", loopback_only(update_config), methods=["POST"]),
    Route("/_sandbox/tick", loopback_only(tick), methods=["POST"]),
    Route("/_sandbox/step", loopback_only(step), methods=["POST"]),
    Route("/_sandbox/orders", loopback_only(place_order), methods=["POST"]),
    Route("/_sandbox/balances", loopback_only(push_balances), methods=["POST"]),
]
