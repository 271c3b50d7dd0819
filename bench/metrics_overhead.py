"""What recording a metric costs, single-process and in multiprocess mode.

    python -m bench.metrics_overhead [N]

Runs itself once per mode in a fresh interpreter (prometheus-client picks its value
class when it is imported, from PROMETHEUS_MULTIPROC_DIR) and prints ns per operation
for: a Counter.inc, a labelled Counter.inc (`.labels()` looked up each time, as the
stream does), a Gauge inc+dec (livesum), a Histogram.observe, the plain int add the hot
paths do instead (per tick, per frame), and a /metrics exposition of the stream's
metrics. docs/performance.md, "Metrics overhead", has the numbers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000


def _time(label: str, n: int, fn) -> None:
    started = time.perf_counter()
    fn(n)
    took = time.perf_counter() - started
    print(f"  {label:<44} {took / n * 1e9:8.0f} ns/op")


def measure(n: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from operations.metrics import exposition
    from streaming import metrics

    counter = metrics.ACCOUNT_EVENTS_LOGGED
    frames = metrics.FRAMES_OUT
    gauge = metrics.STREAMS_OPEN.labels("ws")
    histogram = metrics.QUOTE_LATENCY

    def plain(n: int) -> None:
        box = [0]
        for _ in range(n):
            box[0] += 1

    def inc(n: int) -> None:
        for _ in range(n):
            counter.inc()

    def labelled(n: int) -> None:
        for _ in range(n):
            frames.labels("ws").inc()

    def gauge_up_down(n: int) -> None:
        for _ in range(n // 2):
            gauge.inc()
            gauge.dec()

    def observe(n: int) -> None:
        for i in range(n):
            histogram.observe((i % 400) / 1000)

    def scrape(n: int) -> None:
        for _ in range(n):
            exposition()

    _time("plain int add (the hot paths)", n, plain)
    _time("Counter.inc()", n, inc)
    _time("Counter.labels('ws').inc()", n, labelled)
    _time("Gauge inc/dec (livesum)", n, gauge_up_down)
    _time("Histogram.observe()", n, observe)
    _time("/metrics exposition (this process)", 200, scrape)


def main() -> None:
    if os.environ.get("_METRICS_BENCH_CHILD"):
        measure(N)
        return
    print(f"N = {N}")
    for mode in ("single-process", "multiprocess"):
        env = {**os.environ, "_METRICS_BENCH_CHILD": "1"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with tempfile.TemporaryDirectory() as directory:
            if mode == "multiprocess":
                env["PROMETHEUS_MULTIPROC_DIR"] = directory
            print(f"{mode}:", flush=True)
            subprocess.run(
                [sys.executable, "-m", "bench.metrics_overhead", str(N)], env=env, check=True
            )


if __name__ == "__main__":
    main()
