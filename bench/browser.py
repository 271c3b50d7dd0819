"""What a trader's browser pays for a tab: main-thread CPU, WebSocket bytes, heap, load.

    python -m bench.browser                      # dashboard, chain, market; 30 s each
    python -m bench.browser --pages dashboard --measure 60
    python -m bench.browser --soak 600           # + the dashboard's JS heap after 10 min

Starts the sandbox (`--tick-rate` quote ticks per second per symbol, 20 by default; demo
orders every 20 s and news as `scripts/run.sh` has them), one daphne (tests/support/live.py;
static files collected, hashed and compressed, as `scripts/run.sh` serves them) behind a
byte-counting TCP proxy, and Debian's Chromium (Playwright). For each page it
logs the demo trader in from a fresh browser context (cold cache) and reports:

- login → first live quote: from the login form's submit to the first `quotes` frame
  the dashboard drew (the page's `streamdesk:first-live-quote` performance mark);
- first load: bytes transferred for the page and everything it loaded (CDP
  `Network.loadingFinished` encodedDataLength; the WebSocket not counted), and requests;
- main thread, % of one core: CDP `Performance.getMetrics` TaskDuration over `--measure`
  seconds, after `--settle` seconds live (default motion settings, the tab in front);
- WebSocket bytes per minute on the wire (what crossed the proxy from the server, frames
  compressed or not) and as the page's code sees them (CDP payload sizes);
- the JS heap in use at the end (`--soak`: after that many seconds on the dashboard).

The page is 1280x800 (`--viewport`), or a phone (`--phone`: 390x844).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.browsers import BROWSERS, add_browser_option, launch
from tests.support.live import ALPACA_HEARTBEAT, DEMO_USER, LiveApp
from tests.support.redis_server import free_port

PAGES = {
    "dashboard": "/",
    "chain": "/chain/SPY?strikes=40",
    "market": "/market",
}


@dataclass
class Counts:
    """Bytes the proxy carried, per kind of connection (by its first request line)."""

    ws_down: int = 0
    ws_up: int = 0
    http_down: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, n: int) -> None:
        with self.lock:
            setattr(self, kind, getattr(self, kind) + n)

    def read(self) -> tuple[int, int, int]:
        with self.lock:
            return self.ws_down, self.ws_up, self.http_down


class CountingProxy:
    """A TCP proxy on loopback in front of daphne: counts what crosses it, per direction,
    and tells WebSocket connections (`GET /ws/…`) from the rest."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.counts = Counts()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="proxy")

    def start(self) -> CountingProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        self._ready.set()
        async with server:
            await server.serve_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        first = await reader.read(65536)
        ws = first.startswith(b"GET /ws/")
        up_w.write(first)
        if ws:
            self.counts.add("ws_up", len(first))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, kind: str | None):
            try:
                while data := await src.read(65536):
                    if kind:
                        self.counts.add(kind, len(data))
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(
            pipe(reader, up_w, "ws_up" if ws else None),
            pipe(up_r, writer, "ws_down" if ws else "http_down"),
        )


def log_in(page: Any, base: str) -> float:
    """The login form, submitted; returns the browser's Date.now() at the submit."""
    page.goto(f"{base}/login/")
    page.wait_for_load_state("networkidle")  # a person reads the page before typing
    page.fill("input[name=username]", DEMO_USER[0])
    page.fill("input[name=password]", DEMO_USER[1])
    started = page.evaluate("Date.now()")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return started


def first_live_quote_ms(page: Any, since: float, timeout: float = 30.0) -> float | None:
    """ms from `since` (browser Date.now()) to the page's first live quote drawn."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at = page.evaluate(
            "(() => { const m = performance.getEntriesByName('streamdesk:first-live-quote')[0];"
            " return m ? performance.timeOrigin + m.startTime : null; })()"
        )
        if at is not None:
            return at - since
        page.wait_for_timeout(50)
    return None


def measure_page(
    browser: Any, base: str, proxy: CountingProxy, name: str, args: argparse.Namespace
) -> dict[str, Any]:
    viewport = {"width": 390, "height": 844} if args.phone else args.viewport
    context = browser.new_context(
        viewport=viewport, is_mobile=args.phone, has_touch=args.phone, device_scale_factor=1
    )
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    loads: dict[str, int] = {}
    ws_payload = [0]
    dump = open(args.dump + f".{name}.jsonl", "w") if args.dump else None  # noqa: SIM115
    cdp.on(
        "Network.loadingFinished",
        lambda e: loads.__setitem__(e["requestId"], int(e.get("encodedDataLength", 0))),
    )

    def frame_received(e: dict[str, Any]) -> None:
        ws_payload[0] += len(e["response"]["payloadData"].encode())
        if dump is not None:
            dump.write(e["response"]["payloadData"] + "\n")

    cdp.on("Network.webSocketFrameReceived", frame_received)
    out: dict[str, Any] = {"page": name}
    try:
        since = log_in(page, base)
        if name == "dashboard":
            out["first_live_quote_ms"] = first_live_quote_ms(page, since)
            # where that time went: the login's POST and redirect, the page, its modules
            nav = page.evaluate(
                "(() => { const n = performance.getEntriesByType('navigation')[0];"
                " return {origin: performance.timeOrigin, redirect: n.redirectEnd,"
                " response: n.responseEnd, dcl: n.domContentLoadedEventEnd}; })()"
            )
            base_ms = nav["origin"] - since
            out["login_post_ms"] = base_ms + nav["redirect"]
            out["page_ms"] = base_ms + nav["response"]
            out["modules_ms"] = base_ms + nav["dcl"]
            page.wait_for_load_state("networkidle")
            out["first_load_kib"] = sum(loads.values()) / 1024
            out["requests"] = len(loads)
        else:
            loads.clear()
            page.goto(f"{base}{PAGES[name]}")
            page.wait_for_load_state("networkidle")
            out["first_load_kib"] = sum(loads.values()) / 1024
            out["requests"] = len(loads)
        expect(page.locator("#conn-state")).to_have_attribute("data-state", "live", timeout=30_000)
        page.wait_for_timeout(args.settle * 1000)

        def metrics() -> dict[str, float]:
            return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}

        a, wire_a, payload_a, t_a = metrics(), proxy.counts.read(), ws_payload[0], time.monotonic()
        page.wait_for_timeout(args.measure * 1000)
        b, wire_b, payload_b, t_b = metrics(), proxy.counts.read(), ws_payload[0], time.monotonic()
        took = t_b - t_a
        out["main_thread_pct"] = 100 * (b["TaskDuration"] - a["TaskDuration"]) / took
        out["script_pct"] = 100 * (b["ScriptDuration"] - a["ScriptDuration"]) / took
        out["layout_pct"] = (
            100
            * (
                (b["LayoutDuration"] - a["LayoutDuration"])
                + (b["RecalcStyleDuration"] - a["RecalcStyleDuration"])
            )
            / took
        )
        out["ws_wire_kib_min"] = (wire_b[0] - wire_a[0]) / 1024 / took * 60
        out["ws_payload_kib_min"] = (payload_b - payload_a) / 1024 / took * 60
        if args.soak and name == "dashboard":
            page.wait_for_timeout(args.soak * 1000)
        cdp.send("HeapProfiler.collectGarbage")
        out["heap_mib"] = metrics()["JSHeapUsedSize"] / 2**20
        out["page_errors"] = 0
    finally:
        context.close()
        if dump is not None:
            dump.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=list(PAGES))
    parser.add_argument("--measure", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--tick-rate", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=1, help="repeat each page; medians")
    parser.add_argument("--soak", type=float, default=0.0)
    parser.add_argument("--phone", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the raw rows too")
    parser.add_argument("--dump", default="", help="write each page's frames to DUMP.<page>.jsonl")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for daphne")
    add_browser_option(parser)
    args = parser.parse_args()
    args.viewport = {"width": 1280, "height": 800}
    config = SandboxConfig(
        tick_rate=args.tick_rate,
        alpaca_heartbeat_interval=ALPACA_HEARTBEAT,
        demo_order_interval=20,
        news_interval=45,
        news_backfill=12,
    )
    extra = dict(kv.split("=", 1) for kv in args.env)
    with SandboxServer(config) as sandbox, tempfile.TemporaryDirectory() as tmp:
        app = LiveApp(sandbox.url, Path(tmp), **extra)
        app.seed_database()
        app.collect_static()  # as scripts/run.sh serves them: collected, hashed, compressed
        app.spawn().wait_started()
        proxy = CountingProxy(app.port).start()
        base = f"http://127.0.0.1:{proxy.port}"
        try:
            with sync_playwright() as pw:
                browser = launch(pw, BROWSERS[args.browser]())
                rows = [
                    measure_page(browser, base, proxy, name, args)
                    for name in args.pages
                    for _ in range(args.runs)
                ]
                browser.close()
        finally:
            app.stop()
    if args.json:
        print(json.dumps(rows, indent=1))
    keys = [
        ("main_thread_pct", "main thread % core", 1),
        ("script_pct", "script %", 1),
        ("layout_pct", "style+layout %", 1),
        ("ws_wire_kib_min", "WS wire KiB/min", 0),
        ("ws_payload_kib_min", "WS payload KiB/min", 0),
        ("heap_mib", "JS heap MiB", 1),
        ("first_load_kib", "first load KiB", 0),
        ("requests", "requests", 0),
        ("first_live_quote_ms", "login → live quote ms", 0),
    ]
    print("| page | " + " | ".join(label for _, label, _ in keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name in args.pages:
        mine = [r for r in rows if r["page"] == name]
        cells = []
        for key, _, digits in keys:
            values = [r[key] for r in mine if r.get(key) is not None]
            cells.append(f"{statistics.median(values):,.{digits}f}" if values else "—")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
