"""Frames written straight to the socket (streaming/tabs/socket.py): the bytes autobahn
would write, built once per text, in order behind whatever Twisted still buffers."""

from __future__ import annotations

import socket

import pytest
from autobahn.exception import Disconnected
from twisted.internet import tcp
from twisted.internet.error import ConnectionDone
from twisted.python import failure

from streaming.tabs.socket import BoundedWebSocketProtocol, TransportProbe, text_frame
from tests.support.ws_protocol import AppSide, upgrade


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_a_built_frame_is_what_autobahn_writes(size):
    protocol, transport, _ = upgrade(AppSide())
    text = ("é" * size)[: max(0, size // 2)] + "x" * (size - size // 2)
    transport.clear()
    protocol.sendMessage(text.encode(), False)
    assert text_frame(text) == transport.value()
    transport.clear()
    protocol.send_text_frame(text)  # no socket under it: Twisted's write, same bytes
    assert transport.value() == text_frame(text)


def test_the_same_text_is_framed_once():
    text = "{" + "a" * 500 + "}"
    assert text_frame(text) is text_frame(text)
    other = "{" + "a" * 500 + "}"  # equal, not the same object: the same bytes
    assert text_frame(other) == text_frame(text)


def test_a_closing_socket_refuses_a_frame_and_the_probe_drops_it():
    protocol, transport, _ = upgrade(AppSide())
    protocol.connectionLost(failure.Failure(ConnectionDone()))
    with pytest.raises(Disconnected):
        protocol.send_text_frame("{}")
    transport.clear()
    assert TransportProbe(protocol).send_text("{}") is True  # dropped quietly
    assert transport.value() == b""
    assert TransportProbe(None).send_text("{}") is False  # no daphne: the caller sends


class Reactor:
    """What a Twisted connection asks of its reactor while writing: recorded."""

    def __init__(self) -> None:
        self.writers: list[object] = []

    def addWriter(self, writer: object) -> None:  # Twisted's names
        self.writers.append(writer)

    def removeWriter(self, writer: object) -> None:
        self.writers.remove(writer)


def a_connection() -> tuple[BoundedWebSocketProtocol, tcp.Connection, socket.socket, Reactor]:
    """Our protocol's write path over a real TCP socket pair (the client end returned)."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    reactor = Reactor()
    protocol = BoundedWebSocketProtocol.__new__(BoundedWebSocketProtocol)
    connection = tcp.Connection(server, protocol, reactor)
    connection.connected = 1
    protocol.transport = connection
    return protocol, connection, client, reactor


def read_exactly(client: socket.socket, size: int) -> bytes:
    client.settimeout(5)
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))
        assert chunk, "the connection closed"
        data += chunk
    return data


def test_a_frame_to_an_idle_socket_is_sent_at_once_without_the_reactor():
    protocol, connection, client, reactor = a_connection()
    frame = text_frame('{"type":"order","seq":1}')
    protocol._write_now(frame)
    assert read_exactly(client, len(frame)) == frame
    assert reactor.writers == []  # no writer registration, no reactor round
    assert connection._tempDataLen == 0 and not connection.dataBuffer
    client.close()
    connection.socket.close()


def test_what_the_kernel_does_not_take_waits_in_twisted_and_order_is_kept():
    """A client that stopped reading: the rest of a frame waits in Twisted's buffer (the
    backlog the slow-client rules read) and every later frame queues behind it."""
    protocol, connection, client, reactor = a_connection()
    big = b"A" * 4_000_000
    protocol._write_now(big)
    buffered = connection._tempDataLen
    assert 0 < buffered < len(big)  # the kernel took part of it
    assert reactor.writers == [connection]  # Twisted writes the rest when it can
    protocol._write_now(b"B" * 10)
    assert connection._tempDataLen == buffered + 10  # behind it, not ahead of it
    received = b""
    client.settimeout(5)
    while len(received) < len(big) + 10:
        received += client.recv(1 << 20)
        connection.doWrite()  # what the reactor does when the socket is writable
    assert received == big + b"B" * 10
    client.close()
    connection.socket.close()
