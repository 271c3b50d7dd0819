"""What a WebSocket keeps of its handshake (streaming/transport.py): the real Twisted
HTTP channel, daphne's upgrade and our `BoundedWebSocketProtocol` over an in-memory
transport; only the server around them (daphne's `Server`: the application, its access
log) is this test's, so it can see the scope and the log.

Once open, a socket keeps what the app and daphne read afterwards (the scope's path and
headers, `request.path` for daphne's log) and lets go of the rest: the HTTP request that
did the upgrade, autobahn's copies of the request and response, the parsed header dict.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.ws_protocol import WebSocketFactory
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python import failure

from streaming.transport import BoundedWebSocketProtocol

HANDSHAKE = (
    b"GET /ws/stream/?since=e1:5 HTTP/1.1\r\n"
    b"Host: desk.example:8000\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"Origin: http://desk.example:8000\r\n"
    b"Cookie: sessionid=0123456789abcdefghijklmnopqrstuv; csrftoken=" + b"c" * 32 + b"\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36\r\n"
    b"\r\n"
)


class AppSide:
    """daphne's `Server` as its protocols use it: makes the application (records its
    scope and messages) and writes the access log (records it)."""

    root_path = ""
    proxy_forwarded_address_header = None

    def __init__(self) -> None:
        self.http_factory = HTTPFactory(self)
        self.ws_factory = WebSocketFactory(self, server="Daphne")
        self.ws_factory.setProtocolOptions(allowNullOrigin=True, openHandshakeTimeout=0)
        self.ws_factory.protocol = BoundedWebSocketProtocol
        self.scopes: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.log: list[tuple[str, str, dict[str, Any]]] = []
        self.connected: set[Any] = set()

    def protocol_connected(self, protocol: Any) -> None:
        self.connected.add(protocol)

    def protocol_disconnected(self, protocol: Any) -> None:
        self.connected.discard(protocol)

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        self.scopes.append(scope)
        return self  # the application's queue

    def put_nowait(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    def log_action(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        self.log.append((protocol, action, details))


def upgrade(app: AppSide) -> tuple[BoundedWebSocketProtocol, StringTransport, Any]:
    """A connection through the HTTP channel and daphne's upgrade, accepted by the app;
    returns the socket's protocol, its transport and a weak reference to the HTTP
    request that did the upgrade."""
    transport = StringTransport(
        hostAddress=IPv4Address("TCP", "127.0.0.1", 8000),
        peerAddress=IPv4Address("TCP", "127.0.0.1", 50000),
    )
    channel = app.http_factory.buildProtocol(transport.getPeer())
    channel.makeConnection(transport)
    channel.dataReceived(HANDSHAKE)
    # the HTTP channel stays the transport's producer (flow control): it held the request
    (request,) = [r for r in transport.producer.requests if isinstance(r, WebRequest)]
    protocol = transport.protocol
    assert isinstance(protocol, BoundedWebSocketProtocol)
    protocol.handle_reply({"type": "websocket.accept"})
    assert transport.value().startswith(b"HTTP/1.1 101 ")
    return protocol, transport, weakref.ref(request)


def test_an_open_socket_keeps_path_and_headers_and_lets_go_of_the_upgrade():
    app = AppSide()
    protocol, _transport, request = upgrade(app)
    (scope,) = app.scopes
    # what the app reads (routing, origin check, cookies, the resume position)...
    assert scope["path"] == "/ws/stream/"
    assert scope["query_string"] == b"since=e1:5"
    headers = dict(scope["headers"])
    assert headers[b"origin"] == b"http://desk.example:8000"
    assert headers[b"cookie"].startswith(b"sessionid=0123456789abcdefghijklmnopqrstuv;")
    assert headers[b"host"] == b"desk.example:8000"
    assert app.messages == [{"type": "websocket.connect"}]
    # ...and daphne's log: the path, still there once the handshake's leftovers are gone
    assert protocol.request.path == "/ws/stream/"
    assert app.log[-1] == (
        "websocket",
        "connected",
        {"path": "/ws/stream/", "client": "127.0.0.1:50000"},
    )

    gc.collect()
    assert request() is None, "the HTTP request that did the upgrade is still held"
    assert not protocol.http_headers and not protocol.http_request_data
    assert not protocol.http_response_data and not protocol.http_request_params

    # the socket still works: a client message reaches the app, the close is logged
    protocol.dataReceived(masked_text(b'{"type":"ping","id":1}'))
    assert app.messages[-1] == {"type": "websocket.receive", "text": '{"type":"ping","id":1}'}
    protocol.connectionLost(failure.Failure(ConnectionDone()))
    assert app.messages[-1]["type"] == "websocket.disconnect"
    assert app.log[-1] == (
        "websocket",
        "disconnected",
        {"path": "/ws/stream/", "client": "127.0.0.1:50000"},
    )


def test_a_socket_the_app_refuses_is_logged_with_its_path():
    """Before the handshake ends nothing is trimmed: a refused socket is logged as before."""
    app = AppSide()
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 50001))
    channel = app.http_factory.buildProtocol(transport.getPeer())
    channel.makeConnection(transport)
    channel.dataReceived(HANDSHAKE)
    transport.protocol.handle_reply({"type": "websocket.close"})
    assert transport.value().startswith(b"HTTP/1.1 403 ")
    assert app.log[-1][:2] == ("websocket", "rejected")
    assert app.log[-1][2]["path"] == "/ws/stream/"


def masked_text(payload: bytes) -> bytes:
    """One final, masked text frame as a browser sends it (a short payload)."""
    mask = b"\x01\x02\x03\x04"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body
