"""Each daphne's own `/metrics` over a phase's measured window (docs/operations.md): how its
event loop kept up (the adaptive flush's readings), and its order frames' latency by stage
(the server's part of the account latency)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import httpx

from bench.cluster.servers import METRICS_TOKEN

PACING = (
    "streamdesk_event_loop_lag_seconds_count",
    "streamdesk_event_loop_lag_seconds_bucket:0.05",
    "streamdesk_quote_frames_merged_total",
    "streamdesk_event_loop_lag_seconds_sum",
    "streamdesk_streams_paced",
)
#: The merged quotes frames (a counter) and the streams paced now (a gauge), by their keys.
MERGED, PACED = PACING[2], PACING[4]


#: The owner's order frames by broker time -> hand-over to its tabs (a cumulative
#: histogram per bucket bound): the server's part of the account latency.
HANDOVER = "handover:"


#: ... and by broker time -> a stage in the owner before it (`numbered`, `logged`:
#: docs/operations.md), where the owner is a daphne (not in the workers layout).
STAGE = "stage:"


async def pacing_counts(ports: list[int], answer_within: float = 10.0) -> list[dict[str, float]]:
    """Each daphne's adaptive-flush metrics (docs/operations.md): loop-lag ticks, those
    within 50 ms, quotes frames merged (summed over reasons), streams paced; and its order
    frames' latency buckets by stage; {} where /metrics failed or did not answer within
    `answer_within` s (the daphnes are asked at once)."""
    async with httpx.AsyncClient(timeout=answer_within) as client:
        return list(await asyncio.gather(*(one_daphne(client, port) for port in ports)))


async def one_daphne(client: httpx.AsyncClient, port: int) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, float] = {}
    with contextlib.suppress(httpx.HTTPError):
        response = await client.get(
            f"http://127.0.0.1:{port}/metrics",
            headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        )
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                key = sample.name
                if key.endswith("_bucket"):
                    key += ":" + sample.labels.get("le", "")
                if key in PACING:
                    pass
                elif sample.labels.get("kind") != "order":
                    continue
                elif sample.name == "streamdesk_account_latency_seconds_bucket":
                    key = HANDOVER + sample.labels["le"]
                elif sample.name == "streamdesk_account_stage_seconds_bucket":
                    key = f"{STAGE}{sample.labels['stage']}:{sample.labels['le']}"
                else:
                    continue
                found[key] = found.get(key, 0.0) + sample.value
    return found


def order_p99(before: list[dict[str, float]], after: list[dict[str, float]]) -> str:
    """The bucket bounds (ms) under which 99 % of the window's order frames were numbered,
    logged and handed to their tabs, over every daphne ('-' where none were)."""
    return " / ".join(
        bucket_p99(before, after, prefix)
        for prefix in (f"{STAGE}numbered:", f"{STAGE}logged:", HANDOVER)
    )


def bucket_p99(before: list[dict[str, float]], after: list[dict[str, float]], prefix: str) -> str:
    """The bucket bound (ms) under which 99 % of the window's observations of one
    histogram (its keys: `prefix` + bound) fall, over every daphne; '-' without any."""
    buckets: Counter[float] = Counter()
    for b, a in zip(before, after, strict=True):
        for key, value in a.items():
            if key.startswith(prefix):
                buckets[float(key[len(prefix) :])] += value - b.get(key, 0.0)
    total = buckets.get(float("inf"), 0.0)
    if not total:
        return "-"
    for bound in sorted(buckets):
        if buckets[bound] >= 0.99 * total:
            return "≤ " + ("∞" if bound == float("inf") else f"{bound * 1000:.0f}")
    return "-"


def pacing_row(
    before: list[dict[str, float]], after: list[dict[str, float]], elapsed: float
) -> tuple[list[float | None], list[float | None], list[float | None]]:
    """Per daphne over the window: % of loop-lag ticks over 50 ms, quotes frames merged/s,
    the mean loop lag (ms)."""
    late: list[float | None] = []
    merged: list[float | None] = []
    mean_lag: list[float | None] = []
    for b, a in zip(before, after, strict=True):
        if not b or not a:
            late.append(None)
            merged.append(None)
            mean_lag.append(None)
            continue
        # a counter no frame was merged for (or no tick measured) is not in /metrics yet
        ticks = a.get(PACING[0], 0.0) - b.get(PACING[0], 0.0)
        within = a.get(PACING[1], 0.0) - b.get(PACING[1], 0.0)
        late.append(100 * (ticks - within) / ticks if ticks else None)
        merged.append((a.get(PACING[2], 0.0) - b.get(PACING[2], 0.0)) / elapsed)
        lag = a.get(PACING[3], 0.0) - b.get(PACING[3], 0.0)
        mean_lag.append(1000 * lag / ticks if ticks else None)
    return late, merged, mean_lag


def summed(counts: list[dict[str, float]], key: str) -> float | None:
    """One metric summed over every daphne's reading (0 where it was not exported yet);
    None if a daphne's /metrics did not answer."""
    if not all(counts):
        return None
    return sum(c.get(key, 0.0) for c in counts)
