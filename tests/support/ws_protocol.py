"""daphne's WebSocket protocol over an in-memory Twisted transport: the real HTTP channel,
daphne's upgrade and our `BoundedWebSocketProtocol`; only the server around them (daphne's
`Server`: the application, its access log) is the test's, so it can see the scope and the
log."""

from __future__ import annotations

import weakref
from typing import Any

from daphne.http_protocol import HTTPFactory, WebRequest
from daphne.ws_protocol import WebSocketFactory
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from streaming.tabs.socket import BoundedWebSocketProtocol

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


def masked_text(payload: bytes) -> bytes:
    """One final, masked text frame as a browser sends it (a short payload)."""
    mask = b"\x01\x02\x03\x04"
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + body
