"""A phase's tabs: spread over the daphne processes and the load-generator processes
(bench/cluster/loadgen.py, spoken to with one JSON line each way), connected (every tab has
its hello and snapshot) and warm (every tab receives quotes), their statuses merged."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.cluster.processes import ROOT, Processes, log, tail
from bench.cluster.servers import Cluster, Servers


class LoadProc:
    """One load-generator process, spoken to with one JSON line each way."""

    def __init__(self, procs: Processes, index: int, config_path: Path, log_path: Path) -> None:
        self.index = index
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = procs.add(
            f"loadgen-{index}",
            subprocess.Popen(
                [sys.executable, "-m", "bench.cluster.loadgen", str(config_path)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                text=True,
                bufsize=1,
            ),
        )
        self.replies: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def reader() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                loop.call_soon_threadsafe(self.replies.put_nowait, line)
            loop.call_soon_threadsafe(self.replies.put_nowait, "")

        threading.Thread(target=reader, daemon=True).start()

    async def ask(self, op: str, wait: float = 30) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op}) + "\n")
            self.proc.stdin.flush()
            line = await asyncio.wait_for(self.replies.get(), wait)
        except (BrokenPipeError, TimeoutError) as exc:
            raise RuntimeError(
                f"load generator {self.index} did not answer {op!r} ({type(exc).__name__}):\n"
                + tail(self.log_path)
            ) from exc
        if not line:
            raise RuntimeError(f"load generator {self.index} exited:\n{tail(self.log_path)}")
        return json.loads(line)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._log.close()


async def ask_all(loads: list[LoadProc], op: str, wait: float = 30) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(lp.ask(op, wait) for lp in loads)))


def merge_status(statuses: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = Counter()
    errors: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    sample = None
    for s in statuses:
        for key in ("tabs", "hello", "snapshots", "open", "live", "drops"):
            merged[key] += s[key]
        errors.update(s["errors"])
        codes.update(s["close_codes"])
        sample = sample or s["error_sample"]
    out = dict(merged)
    out["errors"] = dict(errors)
    out["close_codes"] = dict(codes)
    out["errors_total"] = sum(errors.values())
    out["error_sample"] = sample
    return out


def tab_specs(
    users: list[dict[str, Any]], ports: list[int], args: argparse.Namespace
) -> tuple[list[list[dict[str, Any]]], Counter[int]]:
    """Each load generator's tabs, and how many tabs each daphne serves. With --route tabs,
    tab k goes to daphne (global tab index) % N (round robin: a user's tabs spread over the
    processes, frames cross the layer); with --route sessions, every tab of user u goes to
    daphne u % N (nginx's sticky `hash $cookie_sessionid consistent`,
    deploy/nginx/streamdesk.conf); users split by loadgen."""
    specs: list[list[dict[str, Any]]] = [[] for _ in range(args.load_procs)]
    tab_index = 0
    per_daphne: Counter[int] = Counter()
    for u in users:
        for _ in range(args.tabs):
            which = (tab_index if args.route == "tabs" else u["index"]) % args.daphne
            port = ports[which]
            per_daphne[which] += 1
            specs[u["index"] % args.load_procs].append(
                {
                    "tab": tab_index,
                    "user": u["index"],
                    "url": f"ws://127.0.0.1:{port}/ws/stream/",
                    "origin": f"http://127.0.0.1:{port}",
                    "sessionid": u["sessionid"],
                    "symbols": u["symbols"],
                }
            )
            tab_index += 1
    return specs, per_daphne


def start_loads(
    loads: list[LoadProc], cluster: Cluster, phase: str, specs: list[list[dict[str, Any]]]
) -> None:
    """A load generator for each non-empty list of tabs, added to `loads` as it starts."""
    args = cluster.args
    for i, tabs in enumerate(specs):
        if not tabs:
            continue
        config_path = cluster.workdir / f"loadgen-{phase}-{i}.json"
        config_path.write_text(
            json.dumps(
                {
                    "tabs": tabs,
                    "connect_concurrency": args.connect_concurrency,
                    "open_timeout": 60,
                    "reconnect": not args.no_reconnect,
                    "seed": args.seed + i,
                }
            )
        )
        loads.append(
            LoadProc(cluster.procs, i, config_path, cluster.workdir / f"loadgen-{phase}-{i}.log")
        )


async def connect(
    loads: list[LoadProc], servers: Servers, total_tabs: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Every tab connects and must get hello + snapshot (bounded): the row's connect time,
    clients and connect failures."""
    started = time.monotonic()
    await ask_all(loads, "connect")
    status: dict[str, Any] = {}
    while True:
        await asyncio.sleep(1.0)
        statuses = await ask_all(loads, "status")
        status = merge_status(statuses)
        done = status["snapshots"]
        if args.no_reconnect:  # nobody retries: a failed tab is final
            done += status["errors_total"] + status["drops"]
        servers.check_daphnes()
        if done >= total_tabs or time.monotonic() - started > args.connect_timeout:
            break
    connect_s = time.monotonic() - started
    log(
        f"  {status['snapshots']}/{total_tabs} tabs have their snapshot "
        f"({status['hello']} got hello) after "
        f"{connect_s:.1f} s (errors {status['errors']}, closes {status['close_codes']})"
    )
    if status["errors_total"]:
        log(f"  first connect error: {status['error_sample']}")
    return {
        "connect_s": round(connect_s, 1),
        "clients": status["snapshots"],
        "connect_failures": total_tabs - status["snapshots"],
    }


async def warm_up(loads: list[LoadProc], clients: int, args: argparse.Namespace) -> dict[str, Any]:
    """Quotes flowing to every connected tab (bounded): the row's warm tabs and the drops and
    close codes so far."""
    await ask_all(loads, "mark")
    deadline = time.monotonic() + args.warmup_timeout
    while True:
        await asyncio.sleep(1.0)
        status = merge_status(await ask_all(loads, "status"))
        if status["live"] >= clients or time.monotonic() > deadline:
            break
    log(
        f"  {status['live']}/{clients} tabs receive quotes; {status['drops']} drops "
        f"so far {status['close_codes'] or ''}; measuring"
    )
    return {
        "warm_tabs": status["live"],
        "warmup_drops": status["drops"],
        "warmup_codes": status["close_codes"],
    }
