"""What a WebSocket keeps of its handshake (streaming/tabs/socket.py): the real Twisted
HTTP channel, daphne's upgrade and our `BoundedWebSocketProtocol` over an in-memory
transport; only the server around them (daphne's `Server`: the application, its access
log) is this test's, so it can see the scope and the log.

Once open, a socket keeps what the app and daphne read afterwards (the scope's path and
headers, `request.path` for daphne's log) and lets go of the rest: the HTTP request that
did the upgrade, autobahn's copies of the request and response, the parsed header dict.
"""

from __future__ import annotations

import gc

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python import failure

from tests.support.ws_protocol import HANDSHAKE, AppSide, masked_text, upgrade


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
