"""What a phase's tabs and its servers' logs reported, merged into the phase's row: latency
histograms, frames, fills missed, drops and resumes; the logs' warnings counted by message;
and a histogram's percentile."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from pathlib import Path
from typing import Any


def percentile_hist(hist: Counter[int], q: float) -> float | None:
    total = sum(hist.values())
    if not total:
        return None
    rank = q / 100 * (total - 1)
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen > rank:
            return float(value)
    return float(max(hist))


def summarize(
    results: list[dict[str, Any]], placed: list[dict[str, Any]], elapsed: float, total_tabs: int
) -> dict[str, Any]:
    quote_hist: Counter[int] = Counter()
    fresh_hist: Counter[int] = Counter()
    fresh_before: Counter[int] = Counter()
    fresh_after: Counter[int] = Counter()
    regressions = 0
    stale_hist: Counter[int] = Counter()
    account_ms: list[int] = []
    frames: Counter[str] = Counter()
    frame_bytes = entries = 0
    tabs: list[dict[str, Any]] = []
    for r in results:
        quote_hist.update({int(k): v for k, v in r["quote_hist"].items()})
        fresh_hist.update({int(k): v for k, v in r["fresh_hist"].items()})
        fresh_before.update({int(k): v for k, v in r.get("fresh_before_hist", {}).items()})
        fresh_after.update({int(k): v for k, v in r.get("fresh_after_hist", {}).items()})
        regressions += r["t_regressions"]
        stale_hist.update({int(k): v for k, v in r["stale_hist"].items()})
        account_ms.extend(r["account_ms"])
        frames.update(r["frame_types"])
        frame_bytes += r["frame_bytes"]
        entries += r["quote_entries"]
        tabs.extend(r["tabs"])
    by_user: dict[int, list[dict[str, Any]]] = {}
    for t in tabs:
        if t["snapshot"]:
            by_user.setdefault(t["user"], []).append(t)
    filled = {t["tab"]: set(t["filled"]) for t in tabs}
    missed = 0
    for order in placed:
        for t in by_user.get(order["user"], []):
            if order["id"] not in filled[t["tab"]]:
                missed += 1
    drops: Counter[str] = Counter()
    for t in tabs:
        drops.update(t["codes"])
    return {
        "frames_s": sum(frames.values()) / elapsed,
        "quote_frames_s": frames.get("quotes", 0) / elapsed,
        "mbytes_s": frame_bytes / elapsed / 1e6,
        "entries_per_quote_frame": entries / max(1, frames.get("quotes", 0)),
        "frame_types": dict(frames),
        "quote_hist": quote_hist,
        "fresh_hist": fresh_hist,
        "fresh_before_hist": fresh_before,
        "fresh_after_hist": fresh_after,
        "t_regression_pct": 100 * regressions / max(1, entries),
        "stale_hist": stale_hist,
        "account_hist": Counter(account_ms),
        "orders_placed": len(placed),
        "fills_expected": sum(len(by_user.get(o["user"], [])) for o in placed),
        "fills_missed": missed,
        "seq_gaps": sum(t["gaps"] for t in tabs),
        "seq_gap_events": sum(t["gap_events"] for t in tabs),
        "seq_dups": sum(t["dups"] for t in tabs),
        "resumes": sum(t["resumes"] for t in tabs),
        "reconnects": sum(t["reconnects"] for t in tabs),
        "drops": sum(drops.values()),
        "drop_codes": dict(drops),
        "tabs_total": total_tabs,
    }


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ (WARNING|ERROR|CRITICAL) (.*)$")


def summarize_logs(paths: list[Path]) -> dict[str, Any]:
    """WARNING/ERROR lines of the daphne logs, counted by message (numbers masked)."""
    counts: Counter[str] = Counter()
    levels: Counter[str] = Counter()
    for path in paths:
        with contextlib.suppress(OSError), open(path, errors="replace") as f:
            for line in f:
                match = LOG_LINE.match(line)
                if match:
                    levels[match[1]] += 1
                    message = re.sub(r"\d+(\.\d+)?", "N", match[2])[:160]
                    counts[f"{match[1]} {message}"] += 1
    return {"levels": dict(levels), "top": counts.most_common(8)}
