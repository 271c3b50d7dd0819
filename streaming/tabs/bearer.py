"""`Authorization: Bearer <token>`: personal API tokens on HTTP and on the WebSocket.

A request with a `Bearer` header is authenticated by the token alone: the session
cookie is ignored, and there is no Origin check (that check stops another site from
using a browser's cookie; a browser never sends a bearer token by itself). Other
`Authorization` schemes (e.g. `Basic` added by a proxy) are not ours and pass through.

- HTTP (`BearerTokenMiddleware`): only views marked with `token_readable(kind)` serve a
  token (the stream and the snapshot); anything else with a valid token is a 403
  `token_read_only`, but a view marked `public` (it needs no caller: health, the API's
  description) is served whatever the Authorization says. A bad token is a 401, a token
  over its limit a 429 with `Retry-After` (docs/streaming-contract.md, "API tokens on
  HTTP"). On an unmarked view a bearer value that is not shaped like ours (`sdt_…`) is
  left alone: a view may have a bearer secret of its own (an operator's metrics token).
- WebSocket (`BearerWebsocketMiddleware`): a bearer handshake skips the Origin check and
  the session stack; a bad token is closed with 4401, one over its connection limit with
  4429 after an `error` frame saying when to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from channels.db import database_sync_to_async
from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from accounts.models import ApiToken
from accounts.tokens import TOKEN_PREFIX, api_token_authenticate, api_token_touch
from streaming.api import errors
from streaming.contract.close_codes import CLOSE_TOKEN_RATE_LIMITED, CLOSE_UNAUTHENTICATED
from streaming.runtime.ratelimit import token_rate_hit

log = logging.getLogger(__name__)

#: The view attribute `token_readable` sets: which rate limit a token's request counts to.
VIEW_ATTRIBUTE = "api_token_kind"
#: The view attribute `public` sets: the view needs no caller.
PUBLIC_ATTRIBUTE = "api_public"
#: Where the authenticated token is kept: `request.api_token`, `scope["api_token"]`.
SCOPE_KEY = "api_token"
#: Longest Authorization value looked at (a token is 58 characters).
MAX_CREDENTIALS = 200


def token_readable(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a view as readable with an API token; its requests count to the token's
    `kind` limit (`connect` for streams, `snapshot` for the snapshot)."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        setattr(view, VIEW_ATTRIBUTE, kind)
        return view

    return mark


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that needs no caller (a health check, the API's description): a
    request to it is served whatever its Authorization says, a script's token unread."""
    setattr(view, PUBLIC_ATTRIBUTE, True)
    return view


def bearer_credentials(authorization: str | None) -> str | None:
    """The credentials of a `Bearer` Authorization value (`""` if malformed); None when
    there is no such header or it is another scheme."""
    if not authorization:
        return None
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    rest = rest.strip()
    if not rest or " " in rest or len(rest) > MAX_CREDENTIALS:
        return ""
    return rest


@dataclass(frozen=True)
class Admission:
    """What a bearer request gets: its token, or a refusal (`invalid`, `rate_limited`)."""

    token: ApiToken | None
    refused: str | None = None
    retry_after: int = 0


def api_token_admit(*, raw: str, kind: str | None) -> Admission:
    """Authenticate `raw`, count a hit of `kind` (if any) against its limit, and record
    its use (at most once a minute). Sync: run it off the event loop."""
    token = api_token_authenticate(raw=raw) if raw else None
    if token is None:
        if not raw:
            log.info("API token refused: malformed Authorization header")
        return Admission(None, "invalid")
    if kind is not None:
        verdict = token_rate_hit(token_id=token.pk, kind=kind)
        if not verdict.allowed:
            log.info("API token %s: %s rate limit reached", token.prefix, kind)
            return Admission(token, "rate_limited", verdict.retry_after)
    api_token_touch(token=token)
    return Admission(token)


def _invalid() -> HttpResponse:
    return errors.error_response(
        401,
        "invalid_token",
        "This API token is malformed, unknown, expired or revoked: make a new one on "
        "/settings/tokens.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


class BearerTokenMiddleware(MiddlewareMixin):
    """HTTP side (after `AuthenticationMiddleware`, before `CsrfViewMiddleware`: a token
    POST gets its own 403, not the CSRF page). Costs nothing without a Bearer header."""

    async def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: Mapping[str, object],
    ) -> HttpResponse | None:
        raw = bearer_credentials(request.headers.get("Authorization"))
        if raw is None or getattr(view_func, PUBLIC_ATTRIBUTE, False):
            return None
        kind = getattr(view_func, VIEW_ATTRIBUTE, None)
        if kind is None and not raw.startswith(TOKEN_PREFIX):
            return None  # another view's own bearer secret (e.g. a metrics token): not ours
        admission = await database_sync_to_async(api_token_admit)(raw=raw, kind=kind)
        if admission.token is None:
            return _invalid()
        if kind is None:
            return errors.token_read_only()
        if admission.refused == "rate_limited":
            seconds = admission.retry_after
            return errors.error_response(
                429,
                "rate_limited",
                f"Too many requests with this token this minute; try again in {seconds} s.",
                headers={"Retry-After": str(seconds)},
                retry_after=seconds,
            )
        user = admission.token.user
        setattr(request, SCOPE_KEY, admission.token)
        request.user = user

        async def auser() -> Any:
            return user

        request.auser = auser
        return None


ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict]], Callable[[dict], Awaitable]], Awaitable
]


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    values = [v.decode("latin1") for k, v in scope.get("headers", ()) if k.lower() == name]
    if len(values) != 1:
        return "Bearer " if len(values) > 1 else None  # two Authorizations: malformed
    return values[0]


class BearerWebsocketMiddleware:
    """WebSocket side: a handshake with a `Bearer` header goes to `token_app` (no
    Origin check, no session) as the token's user; any other to `cookie_app`."""

    def __init__(self, token_app: ASGIApp, cookie_app: ASGIApp) -> None:
        self.token_app = token_app
        self.cookie_app = cookie_app

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict]],
        send: Callable[[dict], Awaitable],
    ) -> Any:
        raw = bearer_credentials(_header(scope, b"authorization"))
        if raw is None:
            return await self.cookie_app(scope, receive, send)
        admission = await database_sync_to_async(api_token_admit)(raw=raw, kind="connect")
        if admission.token is None:
            return await _close(receive, send, CLOSE_UNAUTHENTICATED)
        if admission.refused == "rate_limited":
            seconds = admission.retry_after
            error = {
                "type": "error",
                "code": "rate_limited",
                "message": f"Too many connection attempts with this token; retry in {seconds} s",
                "ref": None,
            }
            return await _close(receive, send, CLOSE_TOKEN_RATE_LIMITED, error)
        scope = {**scope, "user": admission.token.user, SCOPE_KEY: admission.token}
        return await self.token_app(scope, receive, send)


async def _close(
    receive: Callable[[], Awaitable[dict]],
    send: Callable[[dict], Awaitable],
    code: int,
    frame: Mapping[str, object] | None = None,
) -> None:
    """Accept, then close with a contract code (so the client sees the code, not 1006)."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            if frame is not None:
                await send({"type": "websocket.send", "text": orjson.dumps(frame).decode()})
            await send({"type": "websocket.close", "code": code})
        elif message["type"] == "websocket.disconnect":
            return
