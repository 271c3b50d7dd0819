"""permessage-deflate on the stream (docs/streaming-contract.md, "Connecting"): a browser
that offers it gets every larger frame compressed with no context taken over (each frame
inflates on its own, so a process compresses a frame once for all its sockets); one that
does not offer it gets plain frames. Read off a raw socket: the bytes on the wire."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import zlib

from tests.support.live import DEMO_USER, LiveApp

#: A frame this large is compressed (streaming/tabs/socket.py COMPRESS_FROM).
LARGE = 128


def handshake(app: LiveApp, extensions: str | None) -> tuple[socket.socket, str, bytes]:
    """A raw WebSocket handshake as the demo trader; the socket, the response's
    Sec-WebSocket-Extensions and whatever arrived after the headers."""
    client = app.login(*DEMO_USER)
    cookie = app.cookie_header(client)
    client.close()
    sock = socket.create_connection(("127.0.0.1", app.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /ws/stream/ HTTP/1.1",
        f"Host: 127.0.0.1:{app.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
        f"Origin: {app.url}",
        f"Cookie: {cookie}",
    ]
    if extensions:
        lines.append(f"Sec-WebSocket-Extensions: {extensions}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed during the handshake"
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    ext = ""
    for line in head.decode().split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "sec-websocket-extensions":
            ext = value.strip()
    return sock, ext, rest


def frames(sock: socket.socket, buffered: bytes, count: int) -> list[tuple[bool, bytes]]:
    """The next `count` server frames: (RSV1 set, payload as sent)."""
    data = buffered
    out: list[tuple[bool, bytes]] = []

    def need(n: int) -> None:
        nonlocal data
        while len(data) < n:
            chunk = sock.recv(65536)
            assert chunk, "the server closed the socket"
            data += chunk

    while len(out) < count:
        need(2)
        first, second = data[0], data[1]
        assert first & 0x80, "one frame per message (FIN)"
        size, at = second & 0x7F, 2
        if size == 126:
            need(4)
            size, at = struct.unpack("!H", data[2:4])[0], 4
        elif size == 127:
            need(10)
            size, at = struct.unpack("!Q", data[2:10])[0], 10
        need(at + size)
        out.append((bool(first & 0x40), data[at : at + size]))
        data = data[at + size :]
    return out


def inflate_alone(payload: bytes) -> bytes:
    """A compressed message with a fresh inflater: works only without context takeover."""
    return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")


def test_frames_are_compressed_alone_when_offered(live_app: LiveApp):
    sock, ext, rest = handshake(live_app, "permessage-deflate; client_max_window_bits")
    try:
        assert ext.startswith("permessage-deflate")
        assert "server_no_context_takeover" in ext
        got = frames(sock, rest, 12)
    finally:
        sock.close()
    texts = [inflate_alone(p) if rsv1 else p for rsv1, p in got]
    kinds = [json.loads(t)["type"] for t in texts]
    assert kinds[0] == "hello" and kinds[1] in ("snapshot", "resumed")
    compressed = [(rsv1, p, t) for (rsv1, p), t in zip(got, texts, strict=True) if len(t) >= LARGE]
    assert compressed, "large frames arrived"
    assert all(rsv1 for rsv1, _, _ in compressed)
    snapshot = next(p for rsv1, p, t in compressed if json.loads(t)["type"] == "snapshot")
    assert len(snapshot) * 2 < len(inflate_alone(snapshot))  # at least halved on the wire


def test_frames_are_plain_without_an_offer(live_app: LiveApp):
    sock, ext, rest = handshake(live_app, None)
    try:
        got = frames(sock, rest, 4)
    finally:
        sock.close()
    assert ext == ""
    assert not any(rsv1 for rsv1, _ in got)
    assert json.loads(got[0][1])["type"] == "hello"
