"""Origin checks for the stream (docs/streaming-contract.md: "Connecting", "The SSE fallback").

A WebSocket is not covered by CSRF or CORS: any page can open one to this server, and the
browser sends the user's session cookie along. What tells a trader's own page from another
site (or another app on the same host: `http://127.0.0.1:1`) is the handshake's `Origin`.
It must be this site's own origin, exactly as the browser reached it (scheme, host and
port), or one of `CSRF_TRUSTED_ORIGINS`. This mirrors Django's CSRF origin check
(`django.middleware.csrf.CsrfViewMiddleware._origin_verified`):

- own origin: the Origin's scheme is the request's (`ws` ↔ `http`, `wss` ↔ `https`;
  `SECURE_PROXY_SSL_HEADER` says when a proxy terminated TLS), its host the request's
  `Host` (`X-Forwarded-Host` with `USE_X_FORWARDED_HOST`), which must itself be in
  `ALLOWED_HOSTS` (so DNS rebinding, a foreign name resolving to this server, gets
  nothing), and its port the request's (80/443 when not written);
- or a trusted origin: exactly one of `CSRF_TRUSTED_ORIGINS`, or under a wildcard entry
  (`https://*.example.com`: the domain and its subdomains, same scheme and port).

A missing Origin (or `null`) is refused: browsers always send one on a WebSocket
handshake. A local daphne or runserver on `127.0.0.1:8000` or `localhost:8000` needs no
setting: the page's origin is the request's own.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost, ImproperlyConfigured
from django.http import HttpRequest
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

logger = logging.getLogger(__name__)

#: An origin as compared: (scheme, host lowercased — IPv6 in brackets —, port).
Origin = tuple[str, str, int]

DEFAULT_PORTS = {"http": 80, "https": 443}
#: The page scheme a request's own scheme stands for (a socket's `ws` is an `http` page).
PAGE_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
#: `scheme://host[:port]` and nothing else: no user info, path, query or fragment.
_ORIGIN_RE = re.compile(r"^(https?)://([^/?#@\\\s]+)\Z", re.ASCII)

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[dict]], Callable[[dict], Awaitable]], Awaitable
]


@dataclass(frozen=True)
class AllowedOrigins:
    """The trusted origins from `CSRF_TRUSTED_ORIGINS` (the site's own origin is per request)."""

    exact: frozenset[Origin]
    #: Wildcard entries: the host is `.example.com`, matching the domain and its subdomains.
    subdomains: tuple[Origin, ...]

    def allows(self, origin: Origin) -> bool:
        if origin in self.exact:
            return True
        scheme, host, port = origin
        return any(
            scheme == p_scheme and port == p_port and is_same_domain(host, p_host)
            for p_scheme, p_host, p_port in self.subdomains
        )


def parse_origin(value: str, *, wildcard: bool = False) -> Origin | None:
    """`http://Host:8000` → `("http", "host", 8000)`; None for anything but an http(s)
    origin (`null`, `ftp://…`, a path, user info, an invalid host)."""
    match = _ORIGIN_RE.match(value)
    if match is None:
        return None
    scheme, netloc = match.groups()
    if wildcard:
        netloc = netloc.removeprefix("*")  # `*.example.com` → `.example.com`
    host, port = split_domain_port(netloc)
    if not host:
        return None
    return scheme, host, int(port) if port else DEFAULT_PORTS[scheme]


def allowed_origins() -> AllowedOrigins:
    """The trusted origins, computed from the current `settings.CSRF_TRUSTED_ORIGINS`."""
    return _compile(tuple(settings.CSRF_TRUSTED_ORIGINS))


@functools.lru_cache(maxsize=8)
def _compile(trusted: tuple[str, ...]) -> AllowedOrigins:
    exact: set[Origin] = set()
    subdomains: list[Origin] = []
    for entry in trusted:
        wildcard = "*" in entry
        parsed = parse_origin(entry.lower(), wildcard=wildcard)
        if parsed is None:
            logger.warning("CSRF_TRUSTED_ORIGINS entry %r is not an http(s) origin", entry)
        elif wildcard:
            subdomains.append(parsed)
        else:
            exact.add(parsed)
    return AllowedOrigins(frozenset(exact), tuple(subdomains))


def _allowed_hosts() -> list[str]:
    """`ALLOWED_HOSTS`, with Django's local names when it is empty under DEBUG."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        return [".localhost", "127.0.0.1", "[::1]"]
    return allowed


def origin_allowed(origin: str | None, host: str | None, scheme: str | None) -> bool:
    """Whether a request from `origin` may be served.

    `host` is the request's raw Host (`127.0.0.1:8000`), `scheme` its effective scheme
    (`ws`/`wss` for a socket, `http`/`https` for a request; already corrected for
    `SECURE_PROXY_SSL_HEADER`). True if the origin is the request's own (with a host in
    `ALLOWED_HOSTS`) or a trusted one; a missing or `null` origin is False.
    """
    if not origin:
        return False
    parsed = parse_origin(origin)
    if parsed is None:
        return False
    page_scheme = PAGE_SCHEMES.get(scheme) if scheme is not None else None
    if host and page_scheme:
        domain, port = split_domain_port(host)
        if domain and validate_host(domain, _allowed_hosts()):
            own = (page_scheme, domain, int(port) if port else DEFAULT_PORTS[page_scheme])
            if parsed == own:
                return True
    return allowed_origins().allows(parsed)


def _proxy_scheme(header: Callable[[str], str | None]) -> str | None:
    """The scheme `SECURE_PROXY_SSL_HEADER` states (`https`/`http`), None if unset or
    absent; like `HttpRequest.scheme`, only the first of comma-separated values counts."""
    if not settings.SECURE_PROXY_SSL_HEADER:
        return None
    try:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
    except ValueError:
        raise ImproperlyConfigured(
            "The SECURE_PROXY_SSL_HEADER setting must be a tuple containing two values."
        ) from None
    if not meta_name.startswith("HTTP_"):
        return None
    value = header(meta_name.removeprefix("HTTP_").replace("_", "-").lower())
    if value is None:
        return None
    return "https" if value.split(",", 1)[0].strip() == secure_value else "http"


def scope_origin_allowed(scope: dict[str, Any]) -> bool:
    """`origin_allowed` for an ASGI WebSocket scope (its headers, Host and scheme)."""
    headers: dict[str, list[str]] = {}
    for name, value in scope.get("headers", ()):
        headers.setdefault(name.decode("latin1").lower(), []).append(value.decode("latin1"))

    def header(name: str) -> str | None:
        # Repeated headers are joined like Django's ASGIRequest does: two Origins fail.
        values = headers.get(name)
        return ",".join(values) if values else None

    if settings.USE_X_FORWARDED_HOST and "x-forwarded-host" in headers:
        host = header("x-forwarded-host")
    else:
        host = header("host")
    scheme = _proxy_scheme(header) or scope.get("scheme") or "ws"
    return origin_allowed(header("origin"), host, scheme)


def sse_request_allowed(request: HttpRequest) -> bool:
    """Whether the SSE stream may be served for this request.

    `Sec-Fetch-Site: cross-site` is refused; a request with an `Origin` header gets the
    WebSocket's check; one without (a same-origin GET may omit it) passes.
    """
    if request.headers.get("Sec-Fetch-Site", "").strip().lower() == "cross-site":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        host = request.get_host()
    except DisallowedHost:
        host = None
    return origin_allowed(origin, host, request.scheme)


async def _deny(receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable]) -> None:
    """Refuse the handshake: a close before accept is an HTTP 403 (browsers see 1006)."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.close"})
            return
        if message["type"] == "websocket.disconnect":
            return


class OriginValidator:
    """ASGI middleware: a WebSocket whose Origin is not allowed is refused at the handshake.

    Like channels' `OriginValidator`, but with this site's own-origin rule (scheme, host
    in `ALLOWED_HOSTS`, port) instead of a host list, and trusted origins from
    `CSRF_TRUSTED_ORIGINS`. Settings are read per connection.
    """

    def __init__(self, application: ASGIApp) -> None:
        self.application = application

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict]],
        send: Callable[[dict], Awaitable],
    ) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("OriginValidator is for websocket connections only")
        if scope_origin_allowed(scope):
            return await self.application(scope, receive, send)
        logger.info(
            "WebSocket refused: origin %.100r is not this site's (host %.100r)",
            _first(scope.get("headers", ()), b"origin"),
            _first(scope.get("headers", ()), b"host"),
        )
        return await _deny(receive, send)


def _first(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin1")
    return None
