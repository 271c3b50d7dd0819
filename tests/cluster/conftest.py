"""Two daphne processes on one database, a real Redis between them, one sandbox broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import websockets

from streaming.sandbox.config import SandboxConfig
from streaming.sandbox.server import SandboxControl, SandboxServer
from tests.support.live import LiveApp
from tests.support.redis_server import RedisServer

FAST_CLUSTER = {
    "STREAM_LEASE_TTL": "3",
    "STREAM_LEASE_RENEW": "0.5",
    "STREAM_HANDOVER_DELAY": "1",
    "STREAM_IDLE_GRACE": "3",
}


@dataclass
class Cluster:
    redis: RedisServer
    sandbox: SandboxServer
    a: LiveApp
    b: LiveApp

    @property
    def apps(self) -> list[LiveApp]:
        return [self.a, self.b]


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    redis_server = RedisServer()
    sandbox = SandboxServer(SandboxConfig(tick_rate=10, order_step_interval=0.3)).start()
    env = {"REDIS_URL": redis_server.url, **FAST_CLUSTER}
    a = LiveApp(sandbox.url, tmp_path, **env).start()
    b = LiveApp(sandbox.url, tmp_path, seed=False, SQLITE_PATH=a.env["SQLITE_PATH"], **env).start()
    try:
        yield Cluster(redis_server, sandbox, a, b)
    finally:
        for app in (a, b):
            app.stop()
        sandbox.stop()
        redis_server.stop()


class Tab:
    """One browser tab's socket: collects every frame in the background."""

    def __init__(self, app: LiveApp, cookie: str, since: int | None = None) -> None:
        self.app = app
        self.cookie = cookie
        self.since = since
        self.frames: list[dict[str, Any]] = []
        self.received_at: list[float] = []
        self.closed_code: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._ws: Any = None

    async def open(self) -> Tab:
        url = self.app.ws_url + (f"?since={self.since}" if self.since is not None else "")
        headers = {"Cookie": self.cookie, "Origin": self.app.url}
        self._ws = await websockets.connect(url, additional_headers=headers)
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                self.frames.append(json.loads(raw))
                self.received_at.append(time.monotonic())
        except websockets.ConnectionClosed:
            pass
        finally:
            self.closed_code = self._ws.close_code

    async def send(self, message: dict[str, Any]) -> None:
        await self._ws.send(json.dumps(message))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._ws.close()
        if self._task is not None:
            await self._task

    async def wait_for(self, predicate, within: float = 15.0, start: int = 0) -> dict[str, Any]:
        """The first frame (from index `start`) matching `predicate`, waiting for it."""
        deadline = time.monotonic() + within
        index = start
        while True:
            while index < len(self.frames):
                if predicate(self.frames[index]):
                    return self.frames[index]
                index += 1
            if time.monotonic() > deadline:
                kinds = [f["type"] for f in self.frames[-20:]]
                raise AssertionError(f"no matching frame within {within} s; last: {kinds}")
            await asyncio.sleep(0.05)

    def account_frames(self) -> list[dict[str, Any]]:
        return [
            f for f in self.frames if f["type"] in ("balance", "positions", "position", "order")
        ]

    def accounts_seen(self) -> set[str]:
        seen = {f["account"] for f in self.account_frames()}
        for f in self.frames:
            if f["type"] == "snapshot":
                seen |= {a["number"] for a in f["accounts"]}
        return seen


class SessionWatch:
    """Polls the sandbox's state API in a thread: the most live sessions a credential had."""

    def __init__(self, control: SandboxControl, credential: str) -> None:
        self.control = control
        self.credential = credential
        self.max_dxlink = 0
        self.max_streamer = 0
        self.max_alpaca = 0
        self.max_tradier = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            entry = self.control.state()["credentials"].get(self.credential)
            if entry:
                self.max_dxlink = max(self.max_dxlink, len(entry.get("dxlink", [])))
                self.max_streamer = max(self.max_streamer, len(entry.get("streamer", [])))
                self.max_alpaca = max(self.max_alpaca, len(entry.get("alpaca-sse", [])))
                self.max_tradier = max(self.max_tradier, len(entry.get("tradier-stream", [])))
            self.samples += 1
            self._stop.wait(0.05)

    def __enter__(self) -> SessionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
