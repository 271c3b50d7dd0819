"""Stream clients that behave like the browser (docs/streaming-contract.md), over a real
WebSocket or real SSE, for the fault suite and the soak benchmark.

A client keeps the state the page would keep (position, orders by link and id, accounts
seen), reconnects the way the page does (with its position after 1012/4408/abnormal
closes, without one after 4409 or a gap, with backoff after 4503, never after 4401), and
records what a test asserts on: every account frame applied (epoch, seq), protocol
violations (a duplicate or a gap the server let through, a frame of another epoch),
foreign accounts, and the longest silence while connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from httpx_sse import aconnect_sse

ACCOUNT_TYPES = ("balance", "positions", "position", "order")
#: What `_until_closed_or_resync` returns when the page itself dropped the connection.
_RESYNC = object()


@dataclass
class Segment:
    """One connection: when it opened and closed, and how it ended."""

    opened: float
    transport: str
    closed: float | None = None
    code: int | None = None
    first_frame: float | None = None
    last_frame: float | None = None
    max_gap: float = 0.0


@dataclass
class StreamClient:
    """The page's view of one user's stream; subclasses carry it over WS or SSE."""

    base_url: str
    cookie: str
    name: str = "tab"
    own_accounts: set[str] = field(default_factory=set)
    frames: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    epoch: str | None = None
    seq: int | None = None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    applied: list[tuple[str | None, int]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    foreign: set[str] = field(default_factory=set)
    seen_accounts: set[str] = field(default_factory=set)
    segments: list[Segment] = field(default_factory=list)
    snapshots: int = 0
    resumes: int = 0
    stopped_by: int | None = None

    def __post_init__(self) -> None:
        self._awaiting = True
        self._pending: list[dict[str, Any]] = []
        self._want_position = True
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._changed = asyncio.Event()
        self._reconnect_now = asyncio.Event()

    # -- what a test uses ----------------------------------------------------------------
    def start(self) -> StreamClient:
        self._task = asyncio.create_task(self._run(), name=f"client-{self.name}")
        return self

    async def stop(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def position(self) -> str | None:
        if not self._want_position or self.seq is None:
            return None
        return f"{self.epoch}:{self.seq}" if self.epoch else str(self.seq)

    @property
    def live(self) -> bool:
        return bool(self.segments) and self.segments[-1].closed is None and not self._awaiting

    async def wait_for(self, predicate: Callable[[], Any], within: float = 20.0) -> Any:
        """Wait until `predicate()` is truthy (checked whenever a frame arrives)."""
        deadline = time.monotonic() + within
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kinds = [f["type"] for _, f in self.frames[-15:]]
                raise AssertionError(f"{self.name}: condition not met in {within} s; {kinds}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.25)):
                    await self._changed.wait()

    async def wait_live(self, within: float = 20.0) -> None:
        await self.wait_for(lambda: self.live, within)

    def order(self, link: int, order_id: Any) -> dict[str, Any] | None:
        return self.orders.get(f"{link}:{order_id}")

    def filled_quantity(self, link: int, order_id: Any) -> float:
        """What this tab shows as filled for an order: the sum of its distinct fills."""
        order = self.order(link, order_id)
        if order is None:
            return 0.0
        total = 0.0
        for leg in order.get("legs", []):
            ids = [f["id"] for f in leg.get("fills", [])]
            if len(ids) != len(set(ids)):
                self.violations.append(f"order {link}:{order_id} lists a fill twice")
            total += sum(float(f["quantity"] or 0) for f in leg.get("fills", []))
        return total

    def quote_frames_since(self, since: float) -> int:
        return sum(1 for t, f in self.frames if t >= since and f["type"] == "quotes")

    def max_silence(self) -> float:
        """The longest time a connection that was live went without any frame."""
        now = time.monotonic()
        worst = 0.0
        for seg in self.segments:
            if seg.last_frame is None:
                continue
            tail = (seg.closed or now) - seg.last_frame
            worst = max(worst, seg.max_gap, tail)
        return worst

    def closes(self) -> list[int | None]:
        return [s.code for s in self.segments if s.closed is not None]

    # -- applying frames, as the page does -----------------------------------------------
    def _apply(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "hello":
            self._awaiting = True
            self._pending = []
        elif kind == "snapshot":
            self.snapshots += 1
            self.epoch = frame.get("epoch")
            self.seq = frame["seq"]
            self._want_position = True
            self.orders = {f"{o['link']}:{o['id']}": o for o in frame.get("orders", [])}
            for account in frame.get("accounts", []):
                self._check_account(account["number"])
            self._awaiting = False
            pending, self._pending = self._pending, []
            for f in sorted(pending, key=lambda f: f["seq"]):
                self._account(f)
        elif kind == "resumed":
            self.resumes += 1
            if frame.get("epoch") is not None and frame.get("epoch") != self.epoch:
                self.violations.append(f"resumed into epoch {frame.get('epoch')} from {self.epoch}")
            self._awaiting = False
            pending, self._pending = self._pending, []
            for f in sorted(pending, key=lambda f: f["seq"]):
                self._account(f)
        elif kind in ACCOUNT_TYPES:
            if self._awaiting:
                self._pending.append(frame)
            else:
                self._account(frame)
        elif kind == "resync":
            self._resync("server asked for a resync")

    def _account(self, f: dict[str, Any]) -> None:
        self._check_account(f["account"])
        epoch, seq = f.get("epoch"), f["seq"]
        if epoch != self.epoch:
            self.violations.append(f"frame of epoch {epoch} while in {self.epoch}")
            self._resync("epoch changed")
            return
        if self.seq is not None and seq <= self.seq:
            self.violations.append(f"duplicate seq {seq} (had {self.seq}) in {epoch}")
            return
        if self.seq is not None and seq > self.seq + 1:
            self.violations.append(f"gap: had {self.seq}, got {seq} in {epoch}")
            self._resync("gap")
            return
        self.seq = seq
        self.applied.append((epoch, seq))
        if f["type"] == "order":
            order = f["order"]
            self.orders[f"{f['link']}:{order['id']}"] = {
                **order,
                "link": f["link"],
                "account": f["account"],
            }

    def own(self, accounts: set[str]) -> None:
        """The tab's user's accounts, where they are known only once every link has
        connected (the sandbox makes a credential's accounts on its first use): what the
        tab saw before counts against them too."""
        self.own_accounts = set(accounts)
        self.foreign |= self.seen_accounts - self.own_accounts

    def _check_account(self, number: str) -> None:
        self.seen_accounts.add(number)
        if self.own_accounts and number not in self.own_accounts:
            self.foreign.add(number)

    def _resync(self, reason: str) -> None:
        self._want_position = False
        self._awaiting = True
        self._reconnect_now.set()

    def _frame(self, frame: dict[str, Any]) -> None:
        now = time.monotonic()
        seg = self.segments[-1]
        if seg.last_frame is not None:
            seg.max_gap = max(seg.max_gap, now - seg.last_frame)
        seg.first_frame = seg.first_frame or now
        seg.last_frame = now
        self.frames.append((now, frame))
        self._apply(frame)
        self._changed.set()

    # -- connecting, as the page does ------------------------------------------------------
    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            self._reconnect_now.clear()
            self.segments.append(Segment(time.monotonic(), self.transport))
            code: int | None = None
            try:
                code = await self._connect_once()
            except asyncio.CancelledError:
                self.segments[-1].closed = time.monotonic()
                raise
            except Exception:  # refused handshake, reset connection: like a 1006
                code = 1006
            seg = self.segments[-1]
            seg.closed, seg.code = time.monotonic(), code
            self._changed.set()
            if code == 4401:
                self.stopped_by = 4401
                return
            if code == 4409:
                self._want_position = False
            if seg.first_frame is not None and not self._awaiting:
                attempt = 0
            delay = 0.1
            if code == 4503 or seg.first_frame is None:
                delay = min(5.0, 0.5 * 2**attempt)
                attempt += 1
            await asyncio.sleep(delay)

    transport = "none"

    async def _connect_once(self) -> int | None:
        raise NotImplementedError

    async def _until_closed_or_resync(self, reading: Any) -> Any:
        """Read until the connection ends (its result) or the page decides to resync."""
        reader = asyncio.create_task(reading)
        resync = asyncio.create_task(self._reconnect_now.wait())
        try:
            await asyncio.wait({reader, resync}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            resync.cancel()
            if not reader.done():
                reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await resync
        if reader.cancelled():
            return _RESYNC
        try:
            return reader.result()
        except Exception:
            return 1006


class WsClient(StreamClient):
    """The page over `/ws/stream/`."""

    transport = "ws"

    async def _connect_once(self) -> int | None:
        url = self.base_url.replace("http://", "ws://") + "/ws/stream/"
        if self.position:
            url += f"?since={self.position}"
        headers = {"Cookie": self.cookie, "Origin": self.base_url}
        async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
            self._ws = ws
            if await self._until_closed_or_resync(self._read(ws)) is _RESYNC:
                await ws.close(4000, "client resync")
            return ws.close_code

    async def _read(self, ws: Any) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                self._frame(json.loads(raw))

    async def send(self, message: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(message))


class SseClient(StreamClient):
    """The page over `/api/events` (EventSource: `Last-Event-ID` on reconnect)."""

    transport = "sse"

    async def _connect_once(self) -> int | None:
        headers = {"Cookie": self.cookie, "Accept": "text/event-stream"}
        if self.position and self.epoch:
            headers["Last-Event-ID"] = self.position
        params = {"since": self.position} if self.position and not self.epoch else {}
        timeout = httpx.Timeout(10.0, read=60.0)
        async with (
            httpx.AsyncClient(base_url=self.base_url, timeout=timeout) as client,
            aconnect_sse(client, "GET", "/api/events", headers=headers, params=params) as source,
        ):
            if source.response.status_code == 403:
                return 4401
            if source.response.status_code != 200:
                return 4503 if source.response.status_code == 503 else 1011
            result = await self._until_closed_or_resync(self._read(source))
            return None if result is _RESYNC else result

    async def _read(self, source: Any) -> int | None:
        async for event in source.aiter_sse():
            if not event.data:  # e.g. the `retry:` hint: no event for a browser
                continue
            if event.event == "close":
                return int(json.loads(event.data)["code"])
            self._frame(json.loads(event.data))
        return 1006
