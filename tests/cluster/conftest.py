"""Two daphne processes on one database, a real Redis between them, one sandbox broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets

from streaming.contract.frames import ACCOUNT_FRAME_TYPES
from tests.support.cluster import Cluster, SessionWatch, running_cluster
from tests.support.live import LiveApp
from tests.support.trading_http import ORDERS_REST_FAR

__all__ = ["Cluster", "SessionWatch", "Tab"]


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, **ORDERS_REST_FAR) as running:
        yield running


class Tab:
    """One browser tab's socket: collects every frame in the background."""

    def __init__(self, app: LiveApp, cookie: str, since: str | None = None) -> None:
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
        """Every numbered frame: the contract's account types, alerts and limits included
        (a limit crossed by a fill is numbered between two orders)."""
        return [f for f in self.frames if f["type"] in ACCOUNT_FRAME_TYPES]

    def accounts_seen(self) -> set[str]:
        seen = {f["account"] for f in self.account_frames() if f["account"]}  # a limit: ""
        for f in self.frames:
            if f["type"] == "snapshot":
                seen |= {a["number"] for a in f["accounts"]}
        return seen
