"""Origin checks (docs/streaming-contract.md, "Connecting" and "The SSE fallback").

A socket's Origin must be this site's own origin (scheme, host in ALLOWED_HOSTS, port, as
the browser reached it) or one of CSRF_TRUSTED_ORIGINS; anything else, a missing Origin
included, is refused at the handshake. Mirrors Django's CSRF origin check.
"""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import RequestFactory

from streaming.tabs.origin import (
    OriginValidator,
    allowed_origins,
    origin_allowed,
    scope_origin_allowed,
    sse_request_allowed,
)

HOST = "127.0.0.1:8000"


@pytest.fixture(autouse=True)
def _origin_settings(settings):
    """The development defaults (config/settings.py) plus one deployed host."""
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "desk.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = []
    settings.SECURE_PROXY_SSL_HEADER = None
    settings.USE_X_FORWARDED_HOST = False
    settings.DEBUG = False


# --------------------------------------------------------------------------- origin_allowed


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:1",  # another app on the same host
        "ftp://127.0.0.1",
        "ftp://127.0.0.1:8000",
        "http://localhost:9999",
        "http://localhost:8000",  # same server, another name: another origin
        "http://127.0.0.1",  # port 80, not 8000
        "https://127.0.0.1:8000",  # the socket is ws, so the page was http
        "null",  # sandboxed iframes, file:// pages
        None,
        "",
        "http://127.0.0.1:8000/",
        "http://127.0.0.1:8000\n",
        "http://127.0.0.1:8000\\",
        "http://127.0.0.1:8000/path",
        "http://127.0.0.1:8000?x",
        "http://evil.example@127.0.0.1:8000",
        "http://127.0.0.1:8000.evil.example",
        "http://127.0.0.1:8000, http://127.0.0.1:8000",  # two Origin headers, joined
        "//127.0.0.1:8000",
        "127.0.0.1:8000",
        "http://127.0.0.1:80000",
        "https://evil.example",
    ],
)
def test_foreign_or_missing_origins_are_refused(origin):
    assert origin_allowed(origin, HOST, "ws") is False


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws"),
        ("http://localhost:8000", "localhost:8000", "ws"),
        ("http://LOCALHOST:8000", "localhost:8000", "ws"),
        ("http://[::1]:8000", "[::1]:8000", "ws"),
        ("https://desk.example.com", "desk.example.com", "wss"),
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "http"),  # the SSE view's own scheme
        ("https://desk.example.com", "desk.example.com", "https"),
        # Default ports are the same origin written either way.
        ("http://localhost", "localhost:80", "ws"),
        ("http://localhost:80", "localhost", "ws"),
        ("https://desk.example.com:443", "desk.example.com", "wss"),
        ("https://desk.example.com", "desk.example.com:443", "wss"),
    ],
)
def test_the_sites_own_origin_is_accepted(origin, host, scheme):
    assert origin_allowed(origin, host, scheme) is True


@pytest.mark.parametrize(
    ("origin", "host", "scheme"),
    [
        ("http://desk.example.com", "desk.example.com", "wss"),  # the page was https
        ("https://desk.example.com", "desk.example.com", "ws"),
        ("http://localhost:443", "localhost", "wss"),
        ("https://localhost", "localhost:80", "ws"),
        ("http://localhost:8000", "localhost:8001", "ws"),
    ],
)
def test_scheme_and_port_must_match_too(origin, host, scheme):
    assert origin_allowed(origin, host, scheme) is False


@pytest.mark.parametrize(
    "host", ["evil.example:8000", "evil.example", "", None, "127.0.0.1:8000,evil.example"]
)
def test_a_host_outside_allowed_hosts_is_never_the_sites_own_origin(host):
    """DNS rebinding: evil.example resolving to this server sends a matching Host/Origin."""
    origin = f"http://{host}" if host else "http://evil.example"
    assert origin_allowed(origin, host, "ws") is False


def test_empty_allowed_hosts_in_debug_allow_local_names_like_django(settings):
    settings.ALLOWED_HOSTS = []
    settings.DEBUG = True
    assert origin_allowed("http://localhost:8000", "localhost:8000", "ws")
    assert origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000", "ws")
    assert not origin_allowed("http://evil.example:8000", "evil.example:8000", "ws")
    settings.DEBUG = False
    assert not origin_allowed("http://localhost:8000", "localhost:8000", "ws")


def test_csrf_trusted_origins_are_accepted_exactly(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://desk.example.com", "http://localhost:3000"]
    for origin in ("https://desk.example.com", "https://desk.example.com:443"):
        assert origin_allowed(origin, HOST, "ws"), origin
    assert origin_allowed("http://localhost:3000", HOST, "ws")
    assert origin_allowed("http://localhost:3000", None, "ws")  # no Host at all
    for origin in (
        "http://desk.example.com",
        "https://desk.example.com:8443",
        "https://www.desk.example.com",
        "http://localhost:3001",
        "http://localhost",
    ):
        assert not origin_allowed(origin, HOST, "ws"), origin


def test_wildcard_trusted_origins_match_subdomains_like_django(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.corp.example", "https://*.dev.example:8443"]
    for origin in ("https://a.corp.example", "https://a.b.corp.example", "https://corp.example"):
        assert origin_allowed(origin, HOST, "ws"), origin
    assert origin_allowed("https://x.dev.example:8443", HOST, "ws")
    for origin in (
        "http://a.corp.example",
        "https://a.corp.example:444",
        "https://evilcorp.example",
        "https://corp.example.evil",
        "https://x.dev.example",
    ):
        assert not origin_allowed(origin, HOST, "ws"), origin


def test_allowed_origins_follow_the_settings(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://desk.example.com", "https://*.corp.example"]
    first = allowed_origins()
    assert ("https", "desk.example.com", 443) in first.exact
    assert first.allows(("https", "a.corp.example", 443))
    settings.CSRF_TRUSTED_ORIGINS = []
    assert not allowed_origins().allows(("https", "desk.example.com", 443))


# --------------------------------------------------------------------------- ASGI scopes


def ws_scope(*headers: tuple[str, str], scheme: str | None = None) -> dict:
    scope = {
        "type": "websocket",
        "path": "/ws/stream/",
        "headers": [(k.encode("latin1"), v.encode("latin1")) for k, v in headers],
    }
    if scheme is not None:
        scope["scheme"] = scheme
    return scope


def test_scope_uses_host_origin_and_scheme():
    assert scope_origin_allowed(ws_scope(("host", HOST), ("origin", "http://127.0.0.1:8000")))
    assert scope_origin_allowed(
        ws_scope(("host", HOST), ("origin", "http://127.0.0.1:8000"), scheme="ws")
    )
    assert not scope_origin_allowed(
        ws_scope(("host", HOST), ("origin", "http://127.0.0.1:8000"), scheme="wss")
    )
    assert scope_origin_allowed(
        ws_scope(("host", "desk.example.com"), ("origin", "https://desk.example.com"), scheme="wss")
    )
    assert not scope_origin_allowed(ws_scope(("host", HOST)))  # no Origin
    assert not scope_origin_allowed(ws_scope(("origin", "http://127.0.0.1:8000")))  # no Host
    two_origins = ws_scope(
        ("host", HOST), ("origin", "http://127.0.0.1:8000"), ("origin", "http://evil.example")
    )
    assert not scope_origin_allowed(two_origins)


def test_https_behind_a_proxy_only_with_secure_proxy_ssl_header(settings):
    """The proxy terminates TLS and talks ws to daphne: the page was https."""
    behind_proxy = ws_scope(
        ("host", "desk.example.com"),
        ("origin", "https://desk.example.com"),
        ("x-forwarded-proto", "https"),
        scheme="ws",
    )
    # Without the setting the header is not trusted (anyone can send it).
    assert not scope_origin_allowed(behind_proxy)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert scope_origin_allowed(behind_proxy)
    plain = ws_scope(
        ("host", "desk.example.com"),
        ("origin", "https://desk.example.com"),
        ("x-forwarded-proto", "http"),
        scheme="wss",
    )
    assert not scope_origin_allowed(plain)  # the header wins, as in Django
    listed = ws_scope(
        ("host", "desk.example.com"),
        ("origin", "https://desk.example.com"),
        ("x-forwarded-proto", "https, http"),
    )
    assert scope_origin_allowed(listed)  # the first value counts, as in Django


def test_x_forwarded_host_only_with_use_x_forwarded_host(settings):
    scope = ws_scope(
        ("host", "127.0.0.1:8001"),
        ("x-forwarded-host", "desk.example.com"),
        ("origin", "http://desk.example.com"),
    )
    assert not scope_origin_allowed(scope)
    settings.USE_X_FORWARDED_HOST = True
    assert scope_origin_allowed(scope)


# --------------------------------------------------------------------------- the middleware


async def accepting(scope, receive, send):
    """A trivial consumer: accepts every socket (a raw ASGI app: no channel layer and no
    database, so the middleware is all that is under test)."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.disconnect":
            return


def communicator(*headers: tuple[bytes, bytes]) -> WebsocketCommunicator:
    return WebsocketCommunicator(OriginValidator(accepting), "/ws/stream/", headers=list(headers))


async def test_middleware_lets_the_sites_own_origin_through():
    comm = communicator((b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000"))
    connected, _ = await comm.connect()
    assert connected
    await comm.disconnect()


@pytest.mark.parametrize(
    "origin",
    [b"http://127.0.0.1:1", b"ftp://127.0.0.1", b"http://localhost:9999", b"null", None],
)
async def test_middleware_refuses_the_handshake(origin):
    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin))
    comm = communicator(*headers)
    connected, _ = await comm.connect()
    assert not connected
    await comm.wait(timeout=1)  # the denier has finished: nothing left running


async def test_middleware_accepts_a_trusted_origin(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://desk.example.com"]
    comm = communicator((b"host", b"127.0.0.1:8000"), (b"origin", b"https://desk.example.com"))
    connected, _ = await comm.connect()
    assert connected
    await comm.disconnect()


async def test_middleware_accepts_https_behind_a_proxy(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    comm = communicator(
        (b"host", b"desk.example.com"),
        (b"origin", b"https://desk.example.com"),
        (b"x-forwarded-proto", b"https"),
    )
    connected, _ = await comm.connect()
    assert connected
    await comm.disconnect()


async def test_middleware_is_for_websockets_only():
    async def app(scope, receive, send):
        raise AssertionError("not reached")

    with pytest.raises(ValueError, match="websocket"):
        await OriginValidator(app)({"type": "http"}, None, None)


# --------------------------------------------------------------------------- SSE requests

rf = RequestFactory()


def sse(**headers: str):
    return rf.get("/api/events", headers={"Host": HOST, **headers})


def test_sse_without_origin_is_allowed_unless_cross_site():
    """Same-origin EventSource GETs may carry no Origin; Sec-Fetch-Site then decides."""
    assert sse_request_allowed(sse())
    assert sse_request_allowed(sse(**{"Sec-Fetch-Site": "same-origin"}))
    assert sse_request_allowed(sse(**{"Sec-Fetch-Site": "none"}))  # typed in the address bar
    assert not sse_request_allowed(sse(**{"Sec-Fetch-Site": "cross-site"}))


def test_sse_with_origin_gets_the_websocket_check(settings):
    assert sse_request_allowed(sse(Origin="http://127.0.0.1:8000"))
    for origin in ("http://127.0.0.1:1", "null", "http://localhost:8000", "https://127.0.0.1:8000"):
        assert not sse_request_allowed(sse(Origin=origin)), origin
    assert not sse_request_allowed(
        sse(Origin="http://127.0.0.1:8000", **{"Sec-Fetch-Site": "cross-site"})
    )
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = rf.get(
        "/api/events",
        headers={
            "Host": "desk.example.com",
            "Origin": "https://desk.example.com",
            "X-Forwarded-Proto": "https",
        },
    )
    assert sse_request_allowed(proxied)
    evil_host = rf.get(
        "/api/events", headers={"Host": "evil.example", "Origin": "http://evil.example"}
    )
    assert not sse_request_allowed(evil_host)
