"""What a page costs the Chromium that shows it, in CPU seconds of its whole process tree
(browser, renderers, GPU and utility processes), for the full browser and its headless
shell: a new context and page, the login page, the login to the dashboard's first live
quote, then the live dashboard idle. The test suite drives the cheaper one
(tests/support/browsers.py); docs/performance.md, "Test suite wall time".

    python -m bench.chromium_pages                      # both browsers, 3 runs, 5 s idle
    python -m bench.chromium_pages --browsers shell --runs 1 --idle 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, expect, sync_playwright

from sandbox.core.config import SandboxConfig
from sandbox.server import SandboxServer
from tests.support.browsers import BROWSERS, launch
from tests.support.live import DEMO_USER, LiveApp

STEPS = ("context and page", "login page", "login → live dashboard", "idle dashboard")


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of `root` and every process under it, ended ones too."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(name))
        # its own time and its ended children's (a renderer of a closed page still counts)
        times[int(name)] = sum(int(f) for f in fields[11:15]) / tick
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack.extend(children.get(pid, ()))
    return total


def driver_pid() -> int:
    """Playwright's driver (node), the parent of the browser: the tree measured."""
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if int(fields[1]) == os.getpid() and "playwright" in Path(
                f"/proc/{name}/cmdline"
            ).read_text(errors="replace"):
                return int(name)
    raise RuntimeError("no Playwright driver under this process")


def measure(browser: Browser, base: str, idle: float, root: int) -> dict[str, float]:
    """One pass of the steps: CPU seconds of the browser's tree for each."""
    out: dict[str, float] = {}

    def step(name: str, action: Callable[[], object]) -> None:
        before = tree_cpu(root)
        action()
        out[name] = tree_cpu(root) - before

    holder: dict[str, object] = {}

    def new_page() -> None:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        holder["context"], holder["page"] = context, context.new_page()

    step(STEPS[0], new_page)
    page = holder["page"]
    step(STEPS[1], lambda: page.goto(f"{base}/login/"))  # type: ignore[attr-defined]

    def log_in() -> None:
        page.fill("input[name=username]", DEMO_USER[0])  # type: ignore[attr-defined]
        page.fill("input[name=password]", DEMO_USER[1])  # type: ignore[attr-defined]
        page.click("button[type=submit]")  # type: ignore[attr-defined]
        live = page.locator("#conn-state")  # type: ignore[attr-defined]
        expect(live).to_have_attribute("data-state", "live", timeout=30_000)

    step(STEPS[2], log_in)
    step(STEPS[3], lambda: time.sleep(idle))
    out[STEPS[3]] /= idle  # per second
    holder["context"].close()  # type: ignore[attr-defined]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browsers", nargs="+", default=list(BROWSERS), choices=list(BROWSERS))
    parser.add_argument("--runs", type=int, default=3, help="passes per browser; medians")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds on the live dashboard")
    parser.add_argument(
        "--flags",
        nargs="*",
        default=[],
        help="Chromium flags added to the suite's (e.g. =--in-process-gpu)",
    )
    parser.add_argument(
        "--tick-rate", type=float, default=4.0, help="the sandbox's quote ticks per second"
    )
    args = parser.parse_args()
    config = SandboxConfig(
        tick_rate=args.tick_rate, alpaca_heartbeat_interval=2, demo_order_interval=0
    )
    rows: dict[str, dict[str, float]] = {}
    with SandboxServer(config) as sandbox, tempfile.TemporaryDirectory() as tmp:
        app = LiveApp(sandbox.url, Path(tmp)).start()
        try:
            for which in args.browsers:
                with sync_playwright() as pw:
                    browser = launch(pw, BROWSERS[which](), *args.flags)
                    root = driver_pid()
                    passes = [measure(browser, app.url, args.idle, root) for _ in range(args.runs)]
                    browser.close()
                rows[which] = {s: statistics.median(p[s] for p in passes) for s in STEPS}
        finally:
            app.stop()
    print(f"CPU seconds of the browser's processes, median of {args.runs}")
    print("| browser | " + " | ".join(STEPS[:3]) + " | idle dashboard (per s) |")
    print("|---|---|---|---|---|")
    for which, row in rows.items():
        print(f"| {which} | " + " | ".join(f"{row[s]:.2f}" for s in STEPS) + " |")


if __name__ == "__main__":
    main()
