"""The process's recorder of its users' streams: what their links report, by day.

Every user's stream records by default (`STREAM_RECORD_DIR`; empty: off): each quote,
greeks, account event and link status its adapters report, as they report it, with the time
it was received (docs/streaming.md "Recording a day"; the file: `day_file.py`). The stream
never waits for the disk: a record is serialized where it is reported (on the stream's loop:
~2 µs, bench/recorder.py) and queued; a thread writes the queue every `WRITE_EVERY` s,
one gzip member per user and day (level 1: a third of level 6's CPU for 30 % more bytes).
Account events and statuses are never left out. Quotes and greeks are: while
`QUOTE_ROOM` records wait (the disk behind, a burst), new ones are left out and the file says
how many (a `sampled` record), as the stream itself conflates quotes. Days older than
`keep_days` are removed once an hour.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from streaming.brokers.values import now_ms
from streaming.instruments.symbols import NEW_YORK
from streaming.stream.day_file import (
    DayFiles,
    day_path,
    market_date,
    record_line,
    remove_before,
)
from streaming.stream.state import LinkInfo, UserState

log = logging.getLogger(__name__)

#: How often the writer empties the queue (s): a crash loses at most this much.
WRITE_EVERY = 0.5
#: Quotes and greeks waiting beyond this many are left out (and counted).
QUOTE_ROOM = 200_000
#: How often days past their keep are looked for (s).
SWEEP_EVERY = 3600.0

#: A queued record: (the user, its received time, its line).
Queued = tuple[int, int, bytes]


class Recorder:
    """Records the streams of a process's users (a part of the process's node)."""

    def __init__(
        self,
        root: Path | None,
        *,
        keep_days: int = 30,
        quote_room: int = QUOTE_ROOM,
        clock: Callable[[], int] = now_ms,
        writer: bool = True,
    ) -> None:
        """`writer`: a thread writes the queue (False: only `flush` does, e.g. a bench
        timing it)."""
        self.root = root
        self._writer = writer
        self.keep_days = keep_days
        self.quote_room = quote_room
        self.clock = clock
        #: Every record waiting, in the order reported.
        self._queue: deque[Queued] = deque()
        self._left_out: dict[int, int] = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._swept_at = float("-inf")
        self._day_of = DayOf()
        #: Each user's day file of the day being written (the writer's; a new day replaces it).
        self._paths: dict[int, tuple[dt.date, Path]] = {}
        #: The day files being written, open between writes until `close` (the writer's).
        self._files = DayFiles()
        self._closed = False
        #: Totals, for the bench and the tests: records and bytes written, quotes left out.
        self.written = 0
        self.bytes = 0
        self.left_out = 0

    @classmethod
    def from_settings(cls) -> Recorder:
        from django.conf import settings

        folder = getattr(settings, "STREAM_RECORD_DIR", "")
        return cls(
            Path(folder) if folder else None,
            keep_days=int(getattr(settings, "STREAM_RECORD_KEEP_DAYS", 30)),
        )

    @property
    def on(self) -> bool:
        return self.root is not None

    def for_user(self, user_id: int) -> UserRecording | None:
        """What a user's stream reports into (None: recording is off)."""
        return UserRecording(self, user_id) if self.on else None

    # -- the stream's side (its event loop) -------------------------------------------------
    def put(self, user_id: int, record: dict[str, Any], *, market: bool) -> None:
        """Queue a record; `market` (a quote, greeks) is left out while `quote_room`
        records wait (an account event or a status never is)."""
        if market and len(self._queue) >= self.quote_room:
            with self._lock:
                self._left_out[user_id] = self._left_out.get(user_id, 0) + 1
            return
        t = record["t"] = self.clock()
        self._queue.append((user_id, t, record_line(record)))
        if self._thread is None and self._writer:
            self._start()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._thread.start()

    # -- the writer's side (its thread) -----------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(WRITE_EVERY)
            self._wake.clear()
            self.flush()
        self.flush()

    def flush(self) -> None:
        """Write what waits (the writer's turn; a test's or a bench's, to read at once):
        one flush at a time."""
        with self._flushing:
            self._flush()
            if self._closed:  # a flush after `close`: nothing stays open
                self._files.close()

    def _flush(self) -> None:
        assert self.root is not None
        queue = self._queue
        items = [queue.popleft() for _ in range(len(queue))]
        with self._lock:
            left_out, self._left_out = self._left_out, {}
        now = self.clock()
        for user_id, n in left_out.items():
            items.append((user_id, now, record_line({"t": now, "k": "sampled", "left_out": n})))
            self.left_out += n
        batches: dict[tuple[int, dt.date], list[bytes]] = {}
        day_of = self._day_of
        if items and day_of(items[0][1]) == day_of(items[-1][1]):  # in order: one day
            day = day_of(items[0][1])
            by_user: dict[int, list[bytes]] = {}
            for user_id, _t, line in items:
                lines = by_user.get(user_id)
                if lines is None:
                    lines = by_user[user_id] = []
                lines.append(line)
            batches = {(user_id, day): lines for user_id, lines in by_user.items()}
        else:  # around midnight
            for user_id, t, line in items:
                batches.setdefault((user_id, day_of(t)), []).append(line)
        for (user_id, day), lines in batches.items():
            try:
                self.bytes += self._files.append(self._path(user_id, day), lines)
                self.written += len(lines)
            except OSError as exc:  # a full or read-only disk: said, the stream goes on
                log.warning("recording user %s's %s failed: %s", user_id, day, exc)
        self._files.close_idle()
        self._sweep(now)

    def _path(self, user_id: int, day: dt.date) -> Path:
        known = self._paths.get(user_id)
        if known is not None and known[0] == day:
            return known[1]
        path = day_path(self._root(), user_id, day)
        self._paths[user_id] = (day, path)
        return path

    def _root(self) -> Path:
        assert self.root is not None
        return self.root

    def _sweep(self, now: int) -> None:
        if now / 1000 - self._swept_at < SWEEP_EVERY:
            return
        self._swept_at = now / 1000
        assert self.root is not None
        oldest = market_date(now) - dt.timedelta(days=self.keep_days - 1)
        try:
            for path in remove_before(self.root, oldest):
                log.info("recording %s removed: older than %s days", path, self.keep_days)
        except OSError as exc:
            log.warning("removing old recordings failed: %s", exc)

    def close(self) -> None:
        """Write what waits, stop the writer and close the day files."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout=10)
            self._thread = None
            self._stop.clear()
        with self._flushing:
            self._closed = True
            self._files.close()


class DayOf:
    """The trading day of each time in a batch, worked out once per day (a time zone's
    date costs a µs; a batch's records are of one day but around midnight)."""

    __slots__ = ("_day", "_from", "_until")

    def __init__(self) -> None:
        self._from = self._until = 0
        self._day = dt.date.min

    def __call__(self, t: int) -> dt.date:
        if not self._from <= t < self._until:
            self._day = market_date(t)
            start = dt.datetime.combine(self._day, dt.time(), NEW_YORK)
            end = dt.datetime.combine(self._day + dt.timedelta(days=1), dt.time(), NEW_YORK)
            self._from, self._until = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        return self._day


class UserRecording:
    """One user's stream's side of the recorder: what its links report, as they report it."""

    __slots__ = ("_recorder", "_wanted", "user_id")

    def __init__(self, recorder: Recorder, user_id: int) -> None:
        self._recorder = recorder
        self.user_id = user_id
        self._wanted: set[str] | None = None

    def market(self, kind: str, link_id: int, symbol: str, fields: object) -> None:
        self._recorder.put(
            self.user_id, {"k": kind, "link": link_id, "sym": symbol, "d": fields}, market=True
        )

    def account(self, kind: str, link_id: int, account: str, payload: object) -> None:
        self._recorder.put(
            self.user_id, {"k": kind, "link": link_id, "acct": account, "d": payload}, market=False
        )

    def status(
        self, link_id: int, state: str, reason: str, kind: str, extra: dict[str, Any]
    ) -> None:
        d: dict[str, Any] = {"state": state, "reason": reason, "kind": kind}
        if extra:
            d["extra"] = extra
        self._recorder.put(self.user_id, {"k": "status", "link": link_id, "d": d}, market=False)

    def fresh(self, link_id: int, kind: str) -> None:
        """An adapter confirmed its data of `kind` current (a heartbeat, a poll round)."""
        self._recorder.put(self.user_id, {"k": "fresh", "link": link_id, "d": kind}, market=False)

    def started(self, links: Iterable[LinkInfo], state: UserState) -> None:
        """The stream (re)started: its links and watchlist, what a replay builds it from."""
        d = {
            "links": [dataclasses.asdict(info) for info in links],
            "watchlist": list(state.watchlist),
            "version": state.watchlist_version,
        }
        self._recorder.put(self.user_id, {"k": "start", "d": d}, market=False)

    def wanted(self, symbols: set[str]) -> None:
        """What the stream is subscribed to (the pages', the listeners'), when it changed:
        a replay wants the same, so its quotes go stale only where the day's did."""
        if symbols == self._wanted:
            return
        self._wanted = set(symbols)
        self._recorder.put(self.user_id, {"k": "wanted", "d": sorted(symbols)}, market=False)

    def stopped(self) -> None:
        """The stream stopped: where a replay's run ends."""
        self._recorder.put(self.user_id, {"k": "stop"}, market=False)

    def watchlist(self, symbols: list[str], version: int) -> None:
        """The user's watchlist changed."""
        self._recorder.put(
            self.user_id,
            {"k": "watchlist", "d": {"symbols": symbols, "version": version}},
            market=False,
        )
