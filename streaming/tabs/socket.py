"""What the server knows about a client's connection below ASGI: how much it has not
taken yet, and how to cut it.

daphne writes every frame straight into the Twisted transport of the connection and
gives the application no backpressure: a client that stops reading makes the server
buffer without bound (docs/streaming-contract.md, "Slow clients"). What waits is
Twisted's write buffer plus the kernel's send queue, so the tab reads both before each
frame:
`TransportProbe` finds the transport through daphne's `send` callable (a
`functools.partial(server.handle_reply, protocol)`), and `probe_middleware` puts a
probe in every scope. Without daphne (tests with an in-memory communicator) the probe
reports 0 and the tab behaves as for a fast client.

`BoundedWebSocketProtocol` replaces daphne's protocol so that a client message that is
too large is read and discarded (never buffered) and invalid UTF-8 is reported to the
application, instead of autobahn failing the connection (1006 for the client): both
become an `error` frame and the stream goes on. Once open, it also lets go of what the
handshake left behind (`_forget_handshake`: ~4-6 KiB per socket, docs/performance.md
"Memory per socket and per user"); the scope keeps its own path and headers.

It also accepts a browser's permessage-deflate offer (RFC 7692) when
`STREAM_WS_DEFLATE` is on, with **no context takeover** from the server: every message
is compressed on its own, so a frame is compressed once per process and the same bytes
go to every socket that gets it (`deflated_frame`), like the plain frames: no zlib state
per socket, and a quote frame shrinks three to five times (docs/performance.md, "What a
trader's browser pays").
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import socket
import struct
import termios
import zlib
from collections.abc import Mapping
from typing import Any

from autobahn.exception import Disconnected
from autobahn.websocket.compress import (
    PerMessageDeflate,
    PerMessageDeflateOffer,
    PerMessageDeflateOfferAccept,
)
from daphne import ws_protocol
from django.conf import settings
from twisted.internet import tcp
from twisted.web import http

from streaming.validation import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)

#: The scope key holding the connection's probe.
SCOPE_KEY = "streamdesk.transport"
#: The ioctl that reads a socket's unacknowledged send queue (Linux); None elsewhere.
_OUTQ: int | None = getattr(termios, "TIOCOUTQ", None)
#: Set on a `websocket.receive` message whose payload was refused by the protocol.
REFUSED_KEY = "streamdesk.refused"


class TransportProbe:
    """A view of one connection's Twisted transport (or of nothing)."""

    def __init__(self, protocol: Any = None) -> None:
        self._protocol = protocol

    @classmethod
    def from_send(cls, send: Any) -> TransportProbe:
        if isinstance(send, functools.partial) and send.args:
            return cls(send.args[0])
        return cls()

    @property
    def _transport(self) -> Any:
        protocol = self._protocol
        if protocol is None:
            return None
        transport = getattr(protocol, "transport", None)
        if transport is None:  # an HTTP request keeps it on its channel
            transport = getattr(getattr(protocol, "channel", None), "transport", None)
        return transport

    def backlog(self) -> int:
        """Bytes written to the connection that the client has not taken: Twisted's write
        buffer plus the kernel's send queue. The kernel part matters most: Linux grows a
        socket's send buffer up to `tcp_wmem` (4 MiB by default) before Twisted buffers
        anything, so the write buffer alone stays empty while megabytes of stale quotes
        wait in front of a fill."""
        transport = self._transport
        buffered = _buffered(transport)
        if buffered is None:  # no daphne, or a transport without a write buffer
            return 0
        return buffered + _kernel_send_queue(transport)

    def taken(self) -> int | None:
        """Bytes of this connection the client's TCP has acknowledged (Linux TCP_INFO
        `tcpi_bytes_acked`); None where that cannot be asked."""
        return _kernel_bytes_acked(self._transport)

    def written(self) -> int | None:
        """The connection's offset after everything written to it so far (acknowledged,
        in the kernel's queue, or in Twisted's buffer); None where unknown. A frame
        written before this is taken once `taken()` reaches it."""
        taken = self.taken()
        transport = self._transport
        buffered = _buffered(transport)
        if taken is None or buffered is None:
            return None
        return taken + buffered + _kernel_send_queue(transport)

    def send_text(self, text: str) -> bool:
        """Send `text` as one WebSocket message straight through the connection's
        protocol (`BoundedWebSocketProtocol.send_text_frame`): no ASGI message, no encode
        or framing per socket. False where there is no such protocol (an in-memory test,
        an SSE response): the caller sends through ASGI. A frame racing the client's close
        is dropped, as channels' send drops it: the disconnect handler runs next."""
        send = getattr(self._protocol, "send_text_frame", None)
        if send is None:
            return False
        with contextlib.suppress(Disconnected):
            send(text)
        return True

    def gone(self) -> bool:
        """Whether the client's connection is closed (Twisted saw it go); False when
        there is no daphne connection to look at."""
        return bool(getattr(self._protocol, "_disconnected", False))

    def abort(self) -> None:
        """Cut the connection now, dropping whatever is still queued for it."""
        transport = self._transport
        abort = getattr(transport, "abortConnection", None)
        if abort is not None:
            abort()


def _buffered(transport: Any) -> int | None:
    """Bytes in Twisted's write buffer; None without one."""
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except AttributeError:
        return None


def _kernel_send_queue(transport: Any) -> int:
    """Bytes in the socket's kernel send queue, sent or not but not acknowledged by the
    client (Linux SIOCOUTQ, which equals TIOCOUTQ); 0 where that cannot be asked."""
    if _OUTQ is None:
        return 0
    try:
        fd = transport.getHandle().fileno()
        return struct.unpack("i", fcntl.ioctl(fd, _OUTQ, b"\0\0\0\0"))[0]
    except (AttributeError, OSError, ValueError):  # not a socket, or already closed
        return 0


#: struct tcp_info (linux/tcp.h): `tcpi_bytes_acked` is the u64 at byte 120 (Linux 4.1+).
_BYTES_ACKED_AT = 120
_TCP_INFO: int | None = getattr(socket, "TCP_INFO", None)


def _kernel_bytes_acked(transport: Any) -> int | None:
    """Bytes the peer acknowledged on the transport's socket; None where not Linux, not a
    socket, or already closed."""
    if _TCP_INFO is None or transport is None:
        return None
    try:
        info = transport.getHandle().getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 256)
    except (AttributeError, OSError, ValueError):
        return None
    if len(info) < _BYTES_ACKED_AT + 8:
        return None
    return struct.unpack_from("Q", info, _BYTES_ACKED_AT)[0]


def probe_of(scope: Mapping[str, Any]) -> TransportProbe:
    """The probe `probe_middleware` put in the scope (a blind one where there is none)."""
    probe: TransportProbe | None = scope.get(SCOPE_KEY)
    return probe or TransportProbe()


def probe_middleware(app: Any) -> Any:
    """ASGI middleware: every scope gets the probe of its connection."""

    async def with_probe(scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, SCOPE_KEY: TransportProbe.from_send(send)}
        return await app(scope, receive, send)

    return with_probe


def install_bounded_websockets() -> None:
    """Make daphne build `BoundedWebSocketProtocol`s (called when the ASGI app loads,
    which daphne does before it starts listening). daphne has no option for this."""
    ws_protocol.WebSocketFactory.protocol = BoundedWebSocketProtocol


@functools.lru_cache(maxsize=1)
def text_frame(text: str) -> bytes:
    """`text` as one final, unmasked WebSocket text frame (RFC 6455 5.2): the bytes
    autobahn's `sendMessage` builds for it on a server socket, built once for every
    socket that gets the same text (the fan-out hands one frame to every tab of a user in
    turn, so the tabs after the first reuse its bytes)."""
    payload = text.encode()
    size = len(payload)
    if size <= 125:
        header = bytes((0x81, size))
    elif size <= 0xFFFF:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


#: Messages shorter than this go out uncompressed on a deflate socket (RFC 7692 lets each
#: message choose): a pong or a small status gains nothing from it.
COMPRESS_FROM = 128
#: The client's compression window we ask for (bits): our inflater per socket stays small
#: (client messages are a few hundred bytes: subscribe, ping).
CLIENT_WINDOW_BITS = 9


@functools.lru_cache(maxsize=1)
def deflated_frame(text: str, window_bits: int = 15) -> bytes:
    """`text` as one final, compressed (RSV1) WebSocket text frame with no context taken
    over (RFC 7692 7.2.1: deflate with a sync flush, its `00 00 ff ff` tail removed): the
    bytes autobahn's per-socket compressor makes with `server_no_context_takeover`,
    built once for every socket that gets the same text."""
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -window_bits)
    payload = compressor.compress(text.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH)
    payload = payload[:-4]
    size = len(payload)
    if size <= 125:
        header = bytes((0xC1, size))
    elif size <= 0xFFFF:
        header = struct.pack("!BBH", 0xC1, 126, size)
    else:
        header = struct.pack("!BBQ", 0xC1, 127, size)
    return header + payload


class _AcceptNoServerTakeover(PerMessageDeflateOfferAccept):
    """The answer also says `server_no_context_takeover` when the browser did not ask
    (RFC 7692 7.1.1.1 lets a server declare it): what we do, said on the wire."""

    def get_extension_string(self) -> str:
        text = super().get_extension_string()
        if "server_no_context_takeover" in text:
            return text
        name = self.EXTENSION_NAME
        return text.replace(name, f"{name}; server_no_context_takeover", 1)


def accept_deflate(offers: list[Any]) -> PerMessageDeflateOfferAccept | None:
    """The handshake's answer to the browser's compression offers: permessage-deflate
    with no context takeover from the server (every message compressed alone, so one
    compression serves every socket), a small client window where the browser lets us
    choose; None (no compression) for anything else."""
    for offer in offers:
        if isinstance(offer, PerMessageDeflateOffer):
            return _AcceptNoServerTakeover(
                offer,
                request_no_context_takeover=offer.accept_no_context_takeover,
                request_max_window_bits=CLIENT_WINDOW_BITS if offer.accept_max_window_bits else 0,
                no_context_takeover=True,
            )
    return None


class HandshakePath:
    """What daphne reads of the handshake's request once the socket is open: its path
    (for the access log)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


#: autobahn's copies of the handshake, read only while it runs (server side), and the
#: type each is left as (empty).
_HANDSHAKE_LEFTOVERS: tuple[tuple[str, type], ...] = (
    ("http_request_data", bytes),
    ("http_response_data", bytes),
    ("http_headers", dict),
    ("http_status_line", str),
    ("http_request_uri", str),
    ("http_request_params", dict),
)


def _shared_deflate(deflate: Any) -> bool:
    """Whether a socket's negotiated compression lets it take the process's shared
    compressed frames: deflate with no context takeover from the server."""
    return isinstance(deflate, PerMessageDeflate) and bool(deflate.server_no_context_takeover)


class BoundedWebSocketProtocol(ws_protocol.WebSocketProtocol):
    """daphne's protocol, but an oversized message is discarded while it arrives and
    invalid UTF-8 is reported: the application answers both with an error frame."""

    _discarding = False
    #: The handshake's Twisted request (daphne sets it), then just its path (`onOpen`).
    request: Any
    #: autobahn's frames of the message being read.
    message_data: list[bytes]

    def _connectionMade(self) -> None:
        super()._connectionMade()
        # we enforce the size ourselves (discarding, not failing the connection)
        self.maxMessagePayloadSize = 0
        self.maxFramePayloadSize = 0
        self.utf8validateIncoming = False
        if settings.STREAM_WS_DEFLATE:
            self.perMessageCompressionAccept = accept_deflate

    def onOpen(self) -> None:
        super().onOpen()
        try:
            self._forget_handshake()
        except Exception:  # memory only: never the socket's end
            log.exception("could not drop a WebSocket's handshake state")

    def _forget_handshake(self) -> None:
        """After the handshake daphne reads only `request.path` (its log) and autobahn
        none of its copies; the application has its scope (path, headers: their own
        objects). Twisted's HTTP channel stays the transport's producer (it pauses
        reading when the transport backs up) but no longer needs the request it handed
        over: that request (its headers, body buffer, response headers) goes."""
        self.request = HandshakePath(self.request.path)
        for name, kind in _HANDSHAKE_LEFTOVERS:
            if hasattr(self, name):
                setattr(self, name, kind())
        channel = getattr(self.transport, "producer", None)
        if isinstance(channel, http.HTTPChannel) and channel.requests:
            # the upgraded request gave its transport to this protocol (daphne sets its
            # own to None); a request still being served keeps it
            channel.requests = [r for r in channel.requests if r.transport is not None]

    def send_text_frame(self, text: str) -> None:
        """`sendMessage` for a text message, cheaper per socket: the frame is built once
        per process (`text_frame`) and written straight to the socket while nothing waits
        in Twisted's buffer (a write through Twisted registers the socket for writing
        and sends on the reactor's next round: two epoll changes and a callback per
        frame); what the kernel does not take is buffered by Twisted as before. Raises
        `Disconnected` once the socket is closing, as `sendMessage` does."""
        if self.state != self.STATE_OPEN:
            raise Disconnected("Attempt to send on a closed protocol")
        deflate = self._perMessageCompress
        if (
            (deflate is not None and not _shared_deflate(deflate))
            or self.send_state != self.SEND_STATE_GROUND
            or self.send_queue
            or self.autoFragmentSize
            or self.logFrames
            or self.logOctets
        ):
            self.sendMessage(text.encode(), False)  # autobahn's own way for these
            return
        if deflate is not None and len(text) >= COMPRESS_FROM:
            self._write_now(deflated_frame(text, deflate.server_max_window_bits))
        else:
            self._write_now(text_frame(text))

    def _write_now(self, data: bytes) -> None:
        transport = self.transport
        if (
            isinstance(transport, tcp.Connection)
            and not transport.dataBuffer
            and not transport._tempDataLen
            and transport.connected
            and not transport.disconnecting
            and not transport._writeDisconnected
            and not getattr(transport, "TLS", False)
        ):
            try:
                sent = transport.socket.send(data)
            except OSError:  # full, or an error Twisted reports on its own write
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        transport.write(data)

    def onMessageBegin(self, isBinary: bool) -> None:  # autobahn names its hooks
        super().onMessageBegin(isBinary)
        self._discarding = False

    def onMessageFrameBegin(self, length: int) -> None:
        super().onMessageFrameBegin(length)
        if self.message_data_total_length > MAX_MESSAGE_BYTES:
            self._discarding = True
            self.message_data = []

    def onMessageFrameData(self, payload: bytes) -> None:
        if not self._discarding:
            super().onMessageFrameData(payload)

    def onMessageFrameEnd(self) -> None:
        if self._discarding:
            self.frame_data = None
            return
        super().onMessageFrameEnd()

    def onMessageEnd(self) -> None:
        if self._discarding:
            self._refuse("too_large")
            return
        super().onMessageEnd()

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if not isBinary:
            try:
                payload.decode("utf8")
            except UnicodeDecodeError:
                self._refuse("bad_utf8")
                return
        super().onMessage(payload, isBinary)

    def _refuse(self, reason: str) -> None:
        if getattr(self, "muted", False) or not hasattr(self, "application_queue"):
            return
        self.application_queue.put_nowait(
            {"type": "websocket.receive", "bytes": b"", REFUSED_KEY: reason}
        )
