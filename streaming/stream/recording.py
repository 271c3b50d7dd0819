"""The process's recorder of its users' streams: what their links report, by day.

Every user's stream records by default (`STREAM_RECORD_DIR`; empty: off): each quote,
greeks, account event and link status its adapters report, as they report it, with the time
it was received (docs/streaming.md "Recording a day"; the file: `day_file.py`). The stream
never waits for the disk: a record is serialized where it is reported (on the stream's loop:
6 to 10 µs, bench/recorder.py) and queued; a thread writes the queue every `WRITE_EVERY` s,
one gzip member per user and day (level 1: a third of level 6's CPU for 30 % more bytes).
Account events and statuses are never left out. Quotes and greeks are: when
more than `QUOTE_ROOM` wait (the disk behind, a burst), the newest are left out and the file
says how many (a `sampled` record), as the stream itself conflates quotes. Days older than
`keep_days` are removed once an hour.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streaming.brokers.values import now_ms
from streaming.stream.day_file import (
    append_batch,
    day_path,
    market_date,
    record_line,
    remove_before,
)

log = logging.getLogger(__name__)

#: How often the writer empties the queue (s): a crash loses at most this much.
WRITE_EVERY = 0.5
#: Quotes and greeks waiting beyond this many are left out (and counted).
QUOTE_ROOM = 200_000
#: How often days past their keep are looked for (s).
SWEEP_EVERY = 3600.0

#: A queued record: (its order, the user, its received time, its line).
Queued = tuple[int, int, int, bytes]


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
        self._order = itertools.count()
        self._account: deque[Queued] = deque()
        self._market: deque[Queued] = deque()
        self._left_out: dict[int, int] = {}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._swept_at = float("-inf")
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
        """Queue a record; `market` (a quote, greeks) may be left out under pressure."""
        t = self.clock()
        record["t"] = t
        item = (next(self._order), user_id, t, record_line(record))
        if not market:
            self._account.append(item)
        elif len(self._market) < self.quote_room:
            self._market.append(item)
        else:
            with self._lock:
                self._left_out[user_id] = self._left_out.get(user_id, 0) + 1
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

    def _flush(self) -> None:
        assert self.root is not None
        items: list[Queued] = []
        for queue in (self._account, self._market):
            while queue:
                items.append(queue.popleft())
        with self._lock:
            left_out, self._left_out = self._left_out, {}
        now = self.clock()
        for user_id, n in left_out.items():
            line = record_line({"t": now, "k": "sampled", "left_out": n})
            items.append((next(self._order), user_id, now, line))
            self.left_out += n
        items.sort()
        batches: dict[tuple[int, dt.date], list[bytes]] = {}
        for _, user_id, t, line in items:
            batches.setdefault((user_id, market_date(t)), []).append(line)
        for (user_id, day), lines in batches.items():
            try:
                self.bytes += append_batch(day_path(self.root, user_id, day), lines)
                self.written += len(lines)
            except OSError as exc:  # a full or read-only disk: said, the stream goes on
                log.warning("recording user %s's %s failed: %s", user_id, day, exc)
        self._sweep(now)

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
        """Write what waits and stop the writer."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._wake.set()
        thread.join(timeout=10)
        self._thread = None
        self._stop.clear()


class UserRecording:
    """One user's stream's side of the recorder: what its links report, as they report it."""

    __slots__ = ("_recorder", "user_id")

    def __init__(self, recorder: Recorder, user_id: int) -> None:
        self._recorder = recorder
        self.user_id = user_id

    def market(self, kind: str, link_id: int, symbol: str, fields: object) -> None:
        self._recorder.put(
            self.user_id, {"k": kind, "link": link_id, "sym": symbol, "d": fields}, market=True
        )

    def account(self, kind: str, link_id: int, account: str, payload: object) -> None:
        self._recorder.put(
            self.user_id, {"k": kind, "link": link_id, "acct": account, "d": payload}, market=False
        )

    def status(self, link_id: int, state: str, reason: str, kind: str) -> None:
        self._recorder.put(
            self.user_id,
            {"k": "status", "link": link_id, "d": {"state": state, "reason": reason, "kind": kind}},
            market=False,
        )
