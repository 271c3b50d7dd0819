"""The load generator of bench/cluster/: many real WebSocket tabs in one asyncio process.

    python -m bench.cluster.loadgen CONFIG.json      (started by bench/cluster/)

It reads one JSON command per line on stdin and answers one JSON line on stdout
(`connect`, `status`, `mark`, `start`, `lap`, `stop`, `collect`, `close`). Every tab logs in
with its session cookie, takes `hello` + `snapshot` (or `resumed`), subscribes to its
symbols, and then records, for every frame: its type and size; for `quotes`, per symbol
the latency `now - t` (a histogram in ms, so memory stays bounded) and the newest `t`
(staleness is sampled from it every second); for account frames, whether `seq` is
exactly the previous + 1 (a jump is a loss; a repeat is a harmless duplicate); for
`order` frames with status Filled, the order id and `now - order.updated_at`.

A socket the server closes is counted as dropped (with its code) and, like the browser
client, reconnected with jittered exponential backoff (0.5 s doubling to 30 s, ±30 %)
and `?since=<last seq>`; `--no-reconnect` of bench.cluster turns that off. Imports no
Django: the client CPU is only this process's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import threading
import time
from collections import Counter
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ACCOUNT_TYPES = frozenset({"balance", "positions", "position", "order"})
NO_RETRY = frozenset({4401})  # not logged in: the browser goes to the login page


class Tab:
    """One browser tab: one socket at a time, and what it has seen."""

    __slots__ = (
        "codes",
        "cookie",
        "drops",
        "dups",
        "error",
        "filled",
        "frames",
        "gap_events",
        "gaps",
        "hello",
        "id",
        "live",
        "newest",
        "open",
        "origin",
        "reconnects",
        "resumes",
        "seq",
        "snapshot",
        "symbols",
        "url",
        "user",
        "ws",
    )

    def __init__(self, spec: dict[str, Any]) -> None:
        self.id: int = spec["tab"]
        self.user: int = spec["user"]
        self.url: str = spec["url"]
        self.origin: str = spec["origin"]
        self.cookie: str = spec["sessionid"]
        self.symbols: list[str] = spec["symbols"]
        self.ws: ClientConnection | None = None
        self.hello = False
        self.snapshot = False  # ever had a snapshot (the tab is up)
        self.open = False  # the current socket has its snapshot or resume
        self.live = False
        self.seq: int | None = None
        self.gaps = 0
        self.gap_events = 0
        self.dups = 0
        self.frames = 0
        self.drops = 0
        self.reconnects = 0
        self.resumes = 0
        self.codes: Counter[str] = Counter()
        self.newest: dict[str, int] = {}
        self.filled: set[int] = set()
        self.error: str | None = None


class LoadGen:
    def __init__(self, config: dict[str, Any]) -> None:
        self.tabs = [Tab(spec) for spec in config["tabs"]]
        self.concurrency = int(config.get("connect_concurrency", 20))
        self.open_timeout = float(config.get("open_timeout", 60))
        self.reconnect = bool(config.get("reconnect", True))
        self.rng = random.Random(config.get("seed", 1))
        self.measuring = False
        self.recording = False
        self.closing = False
        self.quote_hist: Counter[int] = Counter()
        #: only entries whose t is newer than any t seen before for the symbol
        self.fresh_hist: Counter[int] = Counter()
        #: fresh entries split at the frame's `t` (the owner's clock when the batch was
        #: made): broker -> batch (aggregation, the batch period, the owner's queues) and
        #: batch -> client (fan-out, pacing, the socket, this client)
        self.fresh_before_hist: Counter[int] = Counter()
        self.fresh_after_hist: Counter[int] = Counter()
        #: entries whose t is older than a t already received for the symbol
        self.t_regressions = 0
        self.stale_hist: Counter[int] = Counter()
        self.account_ms: list[int] = []
        self.frame_types: Counter[str] = Counter()
        self.frame_bytes = 0
        self.quote_entries = 0
        self.window = (0.0, 0.0)
        self.tasks: list[asyncio.Task[None]] = []

    # -- one tab ------------------------------------------------------------------------
    async def run_tab(self, tab: Tab, sem: asyncio.Semaphore) -> None:
        attempt = 0
        while not self.closing:
            code = await self.one_socket(tab, sem)
            if self.closing or not self.reconnect or code in NO_RETRY:
                return
            attempt = 0 if code is not None and tab.open else attempt + 1
            delay = min(30.0, 0.5 * 2 ** min(attempt, 6)) * self.rng.uniform(0.7, 1.3)
            await asyncio.sleep(delay)
            tab.reconnects += 1

    async def one_socket(self, tab: Tab, sem: asyncio.Semaphore) -> int | None:
        """One connection, until it closes; returns the close code (None: never opened)."""
        await sem.acquire()
        held = True
        tab.open = False
        url = tab.url if tab.seq is None else f"{tab.url}?since={tab.seq}"
        try:
            try:
                ws = await connect(
                    url,
                    additional_headers={"Cookie": f"sessionid={tab.cookie}"},
                    origin=tab.origin,  # type: ignore[arg-type]
                    open_timeout=self.open_timeout,
                    ping_interval=None,  # the server pings; a busy client must not hang up
                    close_timeout=5,
                    max_size=2**22,
                )
            except Exception as exc:
                tab.error = f"{type(exc).__name__}: {str(exc)[:120]}"
                return None
            tab.ws = ws
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    self.on_frame(tab, raw, time.time())
                    if held and tab.open:
                        sem.release()  # the ramp waits for the server, not a fixed rate
                        held = False
                        subscribe = {"type": "subscribe", "symbols": tab.symbols}
                        await ws.send(orjson.dumps(subscribe).decode())
            code = ws.close_code if ws.close_code is not None else 1006
            if not self.closing:
                tab.drops += 1
                tab.codes[str(code)] += 1
            return code
        except Exception as exc:  # a bug here must show, not hang the run
            tab.error = f"{type(exc).__name__}: {str(exc)[:120]}"
            if not self.closing:
                tab.drops += 1
                tab.codes["client-error"] += 1
            return -1
        finally:
            tab.open = False
            if held:
                sem.release()

    def on_frame(self, tab: Tab, raw: str | bytes, now: float) -> None:
        msg = orjson.loads(raw)
        kind = msg.get("type")
        tab.frames += 1
        if self.measuring:
            self.frame_types[kind] += 1
            self.frame_bytes += len(raw)
        if kind == "quotes":
            tab.live = True
            now_ms = now * 1000
            newest = tab.newest
            hist = self.quote_hist if self.measuring else None
            frame_t = msg.get("t")
            for prefix, group in (("", msg.get("quotes")), ("greeks:", msg.get("greeks"))):
                if not group:
                    continue
                for symbol, fields in group.items():
                    t = fields.get("t")
                    if not t:
                        continue
                    # a quote's and a greeks' `t` are two clocks (an option has both)
                    symbol = prefix + symbol
                    before = newest.get(symbol, 0)
                    if hist is not None:
                        latency = int(now_ms - t)
                        latency = latency if latency > 0 else 0
                        hist[latency] += 1
                        self.quote_entries += 1
                        if t > before:
                            self.fresh_hist[latency] += 1
                            if frame_t:
                                self.fresh_before_hist[max(0, int(frame_t - t))] += 1
                                self.fresh_after_hist[max(0, int(now_ms - frame_t))] += 1
                        elif t < before:
                            self.t_regressions += 1
                    if t > before:
                        newest[symbol] = t
        elif kind in ACCOUNT_TYPES:
            seq = msg.get("seq")
            if tab.seq is not None and isinstance(seq, int):
                if seq == tab.seq + 1:
                    tab.seq = seq
                elif seq <= tab.seq:
                    tab.dups += 1
                else:
                    tab.gaps += seq - tab.seq - 1
                    tab.gap_events += 1
                    tab.seq = seq
            if kind == "order":
                order = msg.get("order") or {}
                if order.get("status") == "Filled":
                    tab.filled.add(order.get("id"))
                    updated = order.get("updated_at")
                    if self.recording and updated:
                        self.account_ms.append(int(now * 1000 - updated))
        elif kind == "snapshot":
            tab.seq = int(msg.get("seq") or 0)  # the snapshot is the truth from here on
            tab.snapshot = tab.open = True
            for order in msg.get("orders") or ():
                if order.get("status") == "Filled":
                    tab.filled.add(order.get("id"))
            for prefix, group in (("", msg.get("quotes")), ("greeks:", msg.get("greeks"))):
                for symbol, fields in (group or {}).items():
                    t = fields.get("t")
                    if t and t > tab.newest.get(prefix + symbol, 0):
                        tab.newest[prefix + symbol] = t
        elif kind == "resumed":
            tab.resumes += 1
            tab.snapshot = tab.open = True  # the missed account frames follow, in order
        elif kind == "hello":
            tab.hello = True

    async def sample_staleness(self) -> None:
        """Once a second: now - newest t, per open tab and per symbol it asked for."""
        while True:
            await asyncio.sleep(1.0)
            if not self.measuring:
                continue
            now_ms = time.time() * 1000
            hist = self.stale_hist
            for tab in self.tabs:
                if not tab.open:
                    continue
                newest = tab.newest
                for symbol in tab.symbols:
                    t = newest.get(symbol)
                    if t:
                        hist[int(now_ms - t)] += 1

    # -- commands -----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        errors = Counter(t.error.split(":")[0] for t in self.tabs if t.error and not t.snapshot)
        codes: Counter[str] = Counter()
        for tab in self.tabs:
            codes.update(tab.codes)
        return {
            "tabs": len(self.tabs),
            "hello": sum(1 for t in self.tabs if t.hello),
            "snapshots": sum(1 for t in self.tabs if t.snapshot),
            "open": sum(1 for t in self.tabs if t.open),
            "live": sum(1 for t in self.tabs if t.live and t.open),
            "drops": sum(t.drops for t in self.tabs),
            "close_codes": dict(codes),
            "errors": dict(errors),
            "error_sample": next((t.error for t in self.tabs if t.error), None),
        }

    def results(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "quote_hist": {str(k): v for k, v in self.quote_hist.items()},
            "fresh_hist": {str(k): v for k, v in self.fresh_hist.items()},
            "fresh_before_hist": {str(k): v for k, v in self.fresh_before_hist.items()},
            "fresh_after_hist": {str(k): v for k, v in self.fresh_after_hist.items()},
            "t_regressions": self.t_regressions,
            "stale_hist": {str(k): v for k, v in self.stale_hist.items()},
            "account_ms": list(self.account_ms),  # a copy: `lap` clears the list
            "frame_types": dict(self.frame_types),
            "frame_bytes": self.frame_bytes,
            "quote_entries": self.quote_entries,
            "tabs": [
                {
                    "tab": t.id,
                    "user": t.user,
                    "snapshot": t.snapshot,
                    "open": t.open,
                    "drops": t.drops,
                    "codes": dict(t.codes),
                    "reconnects": t.reconnects,
                    "resumes": t.resumes,
                    "error": t.error,
                    "gaps": t.gaps,
                    "gap_events": t.gap_events,
                    "dups": t.dups,
                    "frames": t.frames,
                    "filled": sorted(i for i in t.filled if i is not None),
                }
                for t in self.tabs
            ],
        }

    def begin_window(self) -> None:
        """A measured window starts: every count and histogram from zero."""
        self.quote_hist.clear()
        self.fresh_hist.clear()
        self.fresh_before_hist.clear()
        self.fresh_after_hist.clear()
        self.t_regressions = 0
        self.stale_hist.clear()
        self.account_ms.clear()
        self.frame_types.clear()
        self.frame_bytes = self.quote_entries = 0
        for tab in self.tabs:  # losses and drops count from the window's start
            tab.gaps = tab.gap_events = tab.dups = tab.drops = 0
            tab.codes.clear()
        self.window = (time.time(), 0.0)
        self.measuring = self.recording = True

    async def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd.get("op")
        if op == "connect":
            sem = asyncio.Semaphore(self.concurrency)
            self.tasks = [asyncio.create_task(self.run_tab(t, sem)) for t in self.tabs]
            self.tasks.append(asyncio.create_task(self.sample_staleness()))
            return {"ok": True}
        if op == "status":
            return self.status()
        if op == "mark":
            for tab in self.tabs:
                tab.live = False
            return {"ok": True}
        if op == "start":
            self.begin_window()
            return {"ok": True}
        if op == "lap":  # the window so far, and the next one begins at once (bench --burst)
            self.window = (self.window[0], time.time())
            results = self.results()
            self.begin_window()
            return results
        if op == "stop":
            self.measuring = False
            self.window = (self.window[0], time.time())
            return {"ok": True}
        if op == "collect":
            self.recording = False
            return self.results()
        if op == "close":
            self.closing = True
            open_sockets = [t.ws for t in self.tabs if t.ws is not None]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(ws.close() for ws in open_sockets), return_exceptions=True),
                    20,
                )
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            return {"ok": True, "bye": True}
        return {"error": f"unknown op {op!r}"}


async def main_async(config: dict[str, Any]) -> None:
    gen = LoadGen(config)
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read_stdin() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line)
        loop.call_soon_threadsafe(commands.put_nowait, "")  # the orchestrator went away

    threading.Thread(target=read_stdin, daemon=True).start()
    while True:
        line = await commands.get()
        if not line:
            await gen.handle({"op": "close"})
            return
        reply = await gen.handle(json.loads(line))
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if reply.get("bye"):
            return


def main() -> None:
    with open(sys.argv[1]) as f:
        config = json.load(f)
    asyncio.run(main_async(config))


if __name__ == "__main__":
    main()
