"""One user's recorded day on disk: JSON lines in gzip members, read up to any damage.

A day is `<root>/<user id>/<YYYY-MM-DD>.jsonl.gz`, the date the market's (New York). Each
batch the recorder writes is one gzip member appended to the file (a gzip file may hold many:
`gzip` and `zcat` read them as one stream), so a crash mid-write loses at most the batch being
written, and every earlier batch stays readable. One JSON object per line
(docs/streaming.md "Recording a day"): `t` the time it was received (epoch ms), `k` its kind
(`quote`, `greeks`, `balance`, `position`, `positions`, `order`, `status`, `sampled`), `link`,
`sym` or `acct`, and `d` what the adapter reported (a quote's own `t` is the broker's time).
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from streaming.instruments.symbols import NEW_YORK

#: A day file's name.
DAY_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.jsonl\.gz$")


def market_date(epoch_ms: int) -> dt.date:
    """The trading day an instant belongs to (New York's date)."""
    return dt.datetime.fromtimestamp(epoch_ms / 1000, NEW_YORK).date()


def day_path(root: Path, user_id: int, day: dt.date) -> Path:
    """Where a user's day is recorded."""
    return root / str(user_id) / f"{day.isoformat()}.jsonl.gz"


def record_line(record: dict[str, Any]) -> bytes:
    """A record as its line in a day file (a value JSON has no type for, e.g. a Decimal, as
    its text)."""
    return orjson.dumps(
        record, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
    )


class DayFiles:
    """The day files a writer appends to, kept open between its writes: opening and closing
    a user's file for each half second's batch was a fifth of the recorder's CPU in place
    (bench.cluster). Each batch is one gzip member in one `write` (O_APPEND: it lands whole
    at the end whoever else appends). A file not written for `idle_close` s is closed; one
    removed meanwhile (a sweep, a person) is made again at the next batch."""

    def __init__(self, idle_close: float = 60.0) -> None:
        self.idle_close = idle_close
        #: path -> (its descriptor, when it was last written: time.monotonic())
        self._open: dict[Path, tuple[int, float]] = {}
        self._checked = time.monotonic()

    def append(self, path: Path, lines: Iterable[bytes]) -> int:
        """Append `lines` (`record_line`s) as one gzip member; the bytes written."""
        text = b"".join(lines)
        if not text:
            return 0
        member = gzip.compress(text, compresslevel=1, mtime=0)  # level 1: a third of 6's CPU
        known = self._open.get(path)
        fd = known[0] if known is not None else None
        if fd is not None and os.fstat(fd).st_nlink == 0:  # removed while open
            self._forget(path)
            fd = None
        if fd is None:
            fd = _open_for_append(path)
        self._open[path] = (fd, time.monotonic())
        view = memoryview(member)
        while view:
            view = view[os.write(fd, view) :]
        return len(member)

    def close_idle(self) -> None:
        """Close the files not written for `idle_close` s (a user whose stream stopped)."""
        now = time.monotonic()
        if now - self._checked < self.idle_close / 4:
            return
        self._checked = now
        for path, (_fd, written) in list(self._open.items()):
            if now - written >= self.idle_close:
                self._forget(path)

    def close(self) -> None:
        for path in list(self._open):
            self._forget(path)

    def _forget(self, path: Path) -> None:
        fd, _ = self._open.pop(path)
        os.close(fd)


def _open_for_append(path: Path) -> int:
    """A descriptor appending to `path`; the user's folder is made when the file cannot be
    opened for want of it, not looked for each time."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
    try:
        return os.open(path, flags, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags, 0o644)


@dataclass
class DayRead:
    """A day's records, and where the file stops being readable (None: it is whole)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    damage: str | None = None


def read_day(path: Path, keep: Callable[[dict[str, Any], bytes], object] | None = None) -> DayRead:
    """Every record of a day file up to the first damage (a truncated member, bytes that
    are not gzip, a line that is not JSON): what precedes it is kept, and `damage` says
    where the file stops in a sentence. `keep`: handed each record and its line instead
    of `records` (a replay keeps the lines: replay/day.py)."""
    read = DayRead()
    data = memoryview(path.read_bytes())
    offset = 0
    while offset < len(data):
        try:
            text, used = _member(data, offset)
        except (OSError, EOFError, zlib.error) as exc:
            read.damage = f"{path.name} is damaged at byte {offset:,} of {len(data):,} ({exc})."
            return read
        for n, line in enumerate(_lines(text), 1):
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                record = None
            if not isinstance(record, dict):
                read.damage = (
                    f"{path.name} is damaged at byte {offset:,} of {len(data):,} "
                    f"(line {n} of its batch is not a record)."
                )
                return read
            if keep is None:
                read.records.append(record)
            else:
                keep(record, line)
        offset += used
    return read


def _member(data: memoryview, offset: int) -> tuple[bytes, int]:
    """The text of the gzip member at `offset` and its length in bytes."""
    inflate = zlib.decompressobj(wbits=31)  # one gzip member, header and trailer checked
    text = inflate.decompress(data[offset:])
    if not inflate.eof:
        raise EOFError("the batch ends before its end")
    return text, len(data) - offset - len(inflate.unused_data)


def _lines(text: bytes) -> Iterator[bytes]:
    for line in io.BytesIO(text):
        line = line.rstrip(b"\n")
        if line:
            yield line


def recorded_days(root: Path, user_id: int) -> list[dt.date]:
    """The days a user has recorded, oldest first."""
    folder = root / str(user_id)
    if not folder.is_dir():
        return []
    days = []
    for entry in folder.iterdir():
        m = DAY_NAME.match(entry.name)
        if m:
            try:
                days.append(dt.date.fromisoformat(m.group(1)))
            except ValueError:
                continue
    return sorted(days)


def remove_before(root: Path, oldest_kept: dt.date) -> list[Path]:
    """Remove every user's day files older than `oldest_kept`; the paths removed."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for folder in root.iterdir():
        if not folder.is_dir() or not folder.name.isdigit():
            continue
        for day in recorded_days(root, int(folder.name)):
            if day < oldest_kept:
                path = day_path(root, int(folder.name), day)
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed
