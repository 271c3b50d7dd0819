"""Run the sandbox on a loopback port: in the foreground (the `sandbox` command) or
in a background thread (tests, the demo), with a small client for its control API."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

import httpx
import uvicorn

from sandbox.app import Sandbox, build_app
from sandbox.core.config import SandboxConfig


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """Bind first, so the port is known (and free) before the server starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


#: How long an idle keep-alive connection stays open (s): as a broker's API behind its load
#: balancer, and longer than the clients' pools keep one (httpx: 5 s). At uvicorn's 5 s
#: default the server closed a connection as a client sent its next request on it, which
#: then died with "Connection reset by peer".
KEEP_ALIVE = 75


def uvicorn_config(app: Any, log_level: str = "warning") -> uvicorn.Config:
    # websockets-sansio: any close code (1009 included) and custom handshake refusals.
    return uvicorn.Config(
        app,
        ws="websockets-sansio",
        log_level=log_level,
        lifespan="on",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE,
    )


class SandboxServer:
    """A sandbox serving on 127.0.0.1 from a background thread; `with` starts and stops it."""

    def __init__(
        self, config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.sandbox = Sandbox(config)
        self._sock = bind_socket(host, port)
        self.host, self.port = self._sock.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._server = uvicorn.Server(uvicorn_config(build_app(self.sandbox)))
        self._thread = threading.Thread(target=self._run, name="sandbox", daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self._server.serve(sockets=[self._sock])

    def start(self, timeout: float = 10.0) -> SandboxServer:
        self._thread.start()
        for _ in range(int(timeout / 0.02)):
            if self._server.started:
                return self
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.02)
        raise RuntimeError("sandbox did not start")

    def stop(self) -> None:
        if self.loop is not None and not self.loop.is_closed():
            # nothing may stay frozen in a blackout: uvicorn waits for open requests
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self.sandbox.faults.end_blackouts)
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def dxlink_url(self) -> str:
        return f"ws://{self.host}:{self.port}/dxlink"

    @property
    def streamer_url(self) -> str:
        return f"ws://{self.host}:{self.port}/streamer"

    def control(self) -> SandboxControl:
        return SandboxControl(self.url)


class SandboxControl:
    """Typed helpers over the control API (synchronous: tests and commands use it).
    `timeout`: a control call is answered between the sandbox's own ticks, which a
    test may have made heavy (hundreds of symbols at 100 ticks a second) on a busy box."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout)

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._client.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        response = self._client.get("/_sandbox/state")
        response.raise_for_status()
        return response.json()

    def fault(self, kind: str, **params: Any) -> dict[str, Any]:
        return self._post("/_sandbox/faults", {"kind": kind, **params})

    def clear_faults(self) -> dict[str, Any]:
        response = self._client.delete("/_sandbox/faults")
        response.raise_for_status()
        return response.json()

    def configure(self, **values: Any) -> dict[str, Any]:
        return self._post("/_sandbox/config", values)

    def tick(self, n: int = 1) -> dict[str, Any]:
        return self._post("/_sandbox/tick", {"n": n})

    def set_price(self, symbol: str, price: float) -> dict[str, Any]:
        """Jump an underlying's price (quote and a trade at it); the walk goes on from there."""
        return self._post("/_sandbox/price", {"symbol": symbol, "price": price})

    def step(self) -> dict[str, Any]:
        return self._post("/_sandbox/step", {})

    def place_order(self, account_number: str, order: dict[str, Any]) -> dict[str, Any]:
        return self._post("/_sandbox/orders", {"account_number": account_number, "order": order})

    def push_balances(self) -> dict[str, Any]:
        return self._post("/_sandbox/balances", {})

    def publish_news(self, headline: str, symbols: list[str], **fields: Any) -> dict[str, Any]:
        """A new article (times: epoch seconds or ISO 8601 with an offset); its record."""
        return self._post("/_sandbox/news", {"headline": headline, "symbols": symbols, **fields})

    def update_news(self, article_id: int, **fields: Any) -> dict[str, Any]:
        """A new revision of an article (same id, later `updated_at`); its record."""
        return self._post(f"/_sandbox/news/{article_id}", fields)

    def close(self) -> None:
        self._client.close()
