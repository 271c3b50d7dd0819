"""A user's recorded day, ready to play: its records split into the runs of the stream.

A live stream starts again after its idle grace (the last tab closed), so a day may hold
several runs; each begins with a `start` record (docs/streaming.md, "Recording a day").
Whatever is wrong with what was asked gets a `ReplayError` whose message is a sentence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, overload

import orjson

from streaming.stream.day_file import day_path, read_day, recorded_days
from streaming.stream.state import LinkInfo


class ReplayError(Exception):
    """What was asked cannot be replayed; the message says why, in a sentence."""


class Records(Sequence[dict[str, Any]]):
    """A run's records as their JSON lines, each read into a dict when it is played: a
    day held while a replay page is open weighs what its lines do (as dicts, ~4.6 times
    that: ~800 MB for a day of the bench's size)."""

    def __init__(self) -> None:
        self._lines: list[bytes] = []

    def append_line(self, line: bytes) -> None:
        self._lines.append(line)

    def __len__(self) -> int:
        return len(self._lines)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [orjson.loads(line) for line in self._lines[index]]
        record: dict[str, Any] = orjson.loads(self._lines[index])
        return record

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for line in self._lines:
            yield orjson.loads(line)


@dataclass
class Run:
    """One run of the stream: its links and watchlist when it started, and what came."""

    links: list[LinkInfo]
    watchlist: list[str]
    version: int
    started_ms: int
    records: Records = field(default_factory=Records)


@dataclass
class RecordedDay:
    """A day's runs, in order, and where its file stops being readable (None: whole)."""

    day: dt.date
    runs: list[Run]
    damage: str | None = None
    #: Records before the first `start` (a file begun before starts were recorded).
    unplayable: int = 0

    @property
    def first_ms(self) -> int:
        return self.runs[0].started_ms

    @cached_property
    def last_ms(self) -> int:
        last = self.runs[-1]
        return int(last.records[-1]["t"]) if last.records else last.started_ms


def load_day(root: Path, user_id: int, username: str, day: dt.date) -> RecordedDay:
    """The day `user_id` recorded under `root`, split into runs; a `ReplayError` if there
    is none, or nothing in it can be played."""
    path = day_path(root, user_id, day)
    if not path.is_file():
        days = recorded_days(root, user_id)
        listed = ", ".join(d.isoformat() for d in days[-10:]) if days else "none"
        raise ReplayError(
            f"{username} has no recording of {day.isoformat()}; the days recorded are: {listed}."
        )
    runs: list[Run] = []
    unplayable = 0

    def keep(record: dict[str, Any], line: bytes) -> None:
        nonlocal unplayable
        if record.get("k") == "start":
            runs.append(_run(record))
        elif runs:
            runs[-1].records.append_line(line)
        else:
            unplayable += 1

    read = read_day(path, keep)
    if not runs:
        why = f" {read.damage}" if read.damage else ""
        raise ReplayError(
            f"{username}'s recording of {day.isoformat()} has no start of the stream in it "
            f"(it was recorded before starts were, or it is damaged before its first one)"
            f", so there is nothing to build the stream from.{why}"
        )
    return RecordedDay(day, runs, read.damage, unplayable)


def _run(record: dict[str, Any]) -> Run:
    d = record.get("d") or {}
    links = [
        LinkInfo(
            id=int(link["id"]),
            broker=str(link["broker"]),
            label=str(link.get("label", "")),
            simulated=bool(link.get("simulated", False)),
            streams_quotes=bool(link.get("streams_quotes", True)),
            quotes_coins=bool(link.get("quotes_coins", True)),
        )
        for link in d.get("links", [])
    ]
    return Run(
        links=links,
        watchlist=[str(s) for s in d.get("watchlist", [])],
        version=int(d.get("version", 0)),
        started_ms=int(record["t"]),
    )
