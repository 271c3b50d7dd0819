"""What carries a tab's frames to its browser: a WebSocket consumer (tabs/consumers.py) or
an SSE response (tabs/sse.py). Not tabs/socket.py's TCP transport, which both read
their backlog through. A carrier hands its tab the process's parts the tabs share
(`TabParts`: its scope's or request's node, streaming/node.py).

`CarrierCounts` adds what a tab sent to the metrics under its carrier's label ("ws",
"sse"): per heartbeat, not per frame (the path is hot).
"""

from __future__ import annotations

from typing import Protocol

from streaming import metrics
from streaming.cluster.agents import Agents
from streaming.runtime.heap import Lifetimes
from streaming.tabs.adaptive_flush import AdaptiveFlusher
from streaming.tabs.heartbeat import Heartbeat
from streaming.tabs.slow_client import TakenWatch


class Carrier(Protocol):
    """What a tab session needs of the connection that carries it."""

    async def emit(self, text: str, seq: int | None = None, epoch: str | None = None) -> None:
        """Send one serialized frame (`seq`/`epoch`: an account frame's position)."""

    async def end(self, code: int) -> None:
        """End the tab with a contract close code (1012, 4409, ...)."""

    def backlog(self) -> int:
        """Bytes sent that the network has not taken yet (0 if unknown)."""

    def written(self) -> int | None:
        """The connection's offset after everything sent so far (None if unknown)."""

    def taken(self) -> int | None:
        """Bytes the client has acknowledged (None if unknown)."""


class TabParts(Protocol):
    """What a tab shares with the process's other tabs (the process's node has them)."""

    @property
    def agents(self) -> Agents: ...

    @property
    def heartbeat(self) -> Heartbeat: ...

    @property
    def taken_watch(self) -> TakenWatch: ...

    @property
    def flusher(self) -> AdaptiveFlusher: ...

    @property
    def lifetimes(self) -> Lifetimes: ...


class CarrierCounts:
    """One tab's open stream and what it sent since the last publish, for the metrics."""

    __slots__ = ("_bytes", "_frames", "_open", "label")

    def __init__(self, carrier: Carrier) -> None:
        #: The metrics' label: the carrier's `carrier_name` ("ws", "sse").
        self.label: str = getattr(carrier, "carrier_name", "other")
        self._open = False
        self._frames = 0
        self._bytes = 0

    def opened(self) -> None:
        if not self._open:
            self._open = True
            metrics.STREAMS_OPEN.labels(self.label).inc()

    def closed(self) -> None:
        self.publish()
        if self._open:
            self._open = False
            metrics.STREAMS_OPEN.labels(self.label).dec()

    def sent(self, text: str) -> None:
        self._frames += 1
        self._bytes += len(text)

    def publish(self) -> None:
        """Frames and bytes sent since the last call, into the metrics."""
        if self._frames:
            metrics.FRAMES_OUT.labels(self.label).inc(self._frames)
            metrics.BYTES_OUT.labels(self.label).inc(self._bytes)
            self._frames = self._bytes = 0
