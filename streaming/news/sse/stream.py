"""One `GET /api/news/stream` response: news as Server-Sent Events for scripts and other
tools (docs/streaming-contract.md, "News"; the view is news/sse/view.py).

A `NewsStream` writes `connected` at once, then every article revision stored after the
stream's cursor, read from the store — on each `news.stored` announcement about its
symbols (live.py; one reader per process, news/hub.py, wakes the streams), and every few
seconds regardless — with `id: <cursor>` so `Last-Event-ID` resumes exactly. While open
it holds the user's stream as a tab with its symbols (news/owner.py), so the user's news
feed keeps running. When the client goes (daphne's `http.disconnect`: Django cancels the
response; or the watch sees the connection closed) it stops its task, drops the tab,
gives back its slot and the gauge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from streaming import metrics
from streaming.brokers.values import now_ms
from streaming.cluster.agents import Agents
from streaming.contract.layer import (
    FrameMessage,
    HeadMessage,
    LimitReply,
    OwnerChanged,
    SnapshotReply,
)
from streaming.contract.news import (
    NewsConnectedEvent,
    NewsEndEvent,
    NewsLimitEvent,
    NewsProgressEvent,
    NewsStored,
)
from streaming.models import NewsItem
from streaming.news import owner, quota, store
from streaming.news.hub import NewsHub
from streaming.tabs.heartbeat import SYMBOLS_HEARTBEAT
from streaming.tabs.socket import TransportProbe

log = logging.getLogger(__name__)

#: How long a client waits before reconnecting a dropped stream (ms), sent once.
RETRY_MS = 3000
#: Revisions read from the store at a time (the stream writes each page before the next).
PAGE = 100
#: Bytes written that the client has not taken: beyond this the stream ends (`too_slow`).
TOO_SLOW_BYTES = 1024 * 1024
#: How often the stream looks whether its client is still connected (seconds).
CLIENT_CHECK = 0.25
#: How long the clean-up waits for the stream's cancelled tasks to end (seconds).
TASK_STOP_WAIT = 1.0
#: After a failed store read, the first retry (seconds); it doubles up to NEWS_STREAM_CHECK.
STORE_RETRY = 0.5


def _stopped(task: asyncio.Task[None]) -> None:
    log.info("%s stopped", task.get_name())


def _raise_if_cancelled() -> None:
    """Raise the cancellation someone below swallowed. Django cancels the response when
    the client goes (`http.disconnect`); a library that catches that `CancelledError`
    without `uncancel()` (seen against daphne: a client that left at once kept its stream
    until daphne killed it 10 s later) leaves the task's `cancelling()` count up."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _db(fn: Any, *args: Any) -> Any:
    """A store call in Django's database thread."""
    result = await database_sync_to_async(fn)(*args)
    _raise_if_cancelled()
    return result


def sse_event(event: str, data: Mapping[str, object], event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\n".encode() + b"data: " + orjson.dumps(data) + b"\n\n"


def settled(rows: list[NewsItem], settle: float) -> tuple[list[NewsItem], float | None]:
    """The rows old enough to send, in cursor order, up to the first that is not (a writer
    with a smaller cursor may not have committed yet), and how long until it is."""
    horizon = timezone.now().timestamp() - settle
    for index, row in enumerate(rows):
        age_left = row.stored_at.timestamp() - horizon
        if age_left > 0:
            return rows[:index], age_left
    return rows, None


class NewsStream:
    """One news SSE response: a tab of its user's stream (fanout.Tab) that writes news."""

    def __init__(
        self,
        *,
        user_id: int,
        channel_name: str,
        slot: str,
        symbols: list[str],
        session_key: str | None,
        token_id: int | None,
        probe: TransportProbe,
        agents: Agents,
        hub: NewsHub,
    ) -> None:
        self.user_id: int | None = user_id
        #: The process's agents: the stream is held as one of the user's tabs.
        self.agents = agents
        #: The process's news hub: it wakes the stream when news is stored.
        self.hub = hub
        self.channel_name = channel_name
        self.slot = slot
        self.symbols = symbols
        self.session_key = session_key
        self.token_id = token_id
        self.probe = probe
        self.cursor = 0
        self.sent = 0
        self.end_reason: str | None = None
        self._wake = asyncio.Event()
        self._notes: list[bytes] = []
        self._attached = False
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._cleanup: asyncio.Task[None] | None = None

    # -- the response body ------------------------------------------------------------------
    async def body(
        self, connected: NewsConnectedEvent, cursor: int, backlog: int, duration: float
    ) -> AsyncIterator[bytes]:
        """`connected`, the backlog, then news after `cursor` until the end or the client
        goes; whatever ends it, the finally leaves nothing behind."""
        metrics.NEWS_STREAMS_OPEN.inc()
        log.info(
            "user %s: news stream %s for %s",
            self.user_id,
            self.slot[:8],
            ",".join(self.symbols[:5]),
        )
        started = time.monotonic()
        deadline = started + duration
        self.cursor = cursor
        try:
            # joined (a few ms, no store query) and watched before the first yield: a
            # client may go while the body is parked at any `yield`, and only the watch
            # notices that (see `_close`)
            await self._join()
            _raise_if_cancelled()
            self._tasks = [asyncio.create_task(self._watch(), name=f"news-watch-{self.slot}")]
            yield f"retry: {RETRY_MS}\n\n".encode() + sse_event("connected", connected)
            last_write = time.monotonic()
            next_progress = started + settings.NEWS_STREAM_PROGRESS
            next_check = 0.0  # read at once: the backlog, anything stored since `connected`
            retry = STORE_RETRY
            while self.end_reason is None and not self._closed:
                _raise_if_cancelled()
                now = time.monotonic()
                if now >= deadline:
                    self.end_reason = "duration" if connected["duration_s"] else "max_duration"
                    break
                if self._wake.is_set() or now >= next_check:
                    self._wake.clear()
                    next_check = now + settings.NEWS_STREAM_CHECK
                    try:
                        if backlog:
                            rows, wait = await self._backlog(backlog, cursor), None
                        else:
                            rows, wait = await self._read()
                    except DatabaseError as exc:  # the stream stays; the cursor did not move
                        self._store_failed(exc, first=retry == STORE_RETRY)
                        next_check = time.monotonic() + retry
                        retry = min(retry * 2, settings.NEWS_STREAM_CHECK)
                        continue
                    retry = STORE_RETRY
                    for row in rows:
                        yield self._news(row)
                        last_write = time.monotonic()
                    if backlog:
                        backlog, next_check = 0, 0.0  # then live, at once
                    elif len(rows) == PAGE:
                        next_check = 0.0  # more to read
                    elif wait is not None:  # a revision too young yet: read when it is not
                        next_check = min(next_check, time.monotonic() + wait)
                if self._notes:
                    notes, self._notes = b"".join(self._notes), []
                    yield notes
                    last_write = time.monotonic()
                if self.probe.backlog() > TOO_SLOW_BYTES:
                    self.end_reason = "too_slow"
                    break
                now = time.monotonic()
                if now >= next_progress:
                    next_progress = now + settings.NEWS_STREAM_PROGRESS
                    yield sse_event("progress", self._status(started))
                    last_write = now
                elif now - last_write >= settings.NEWS_STREAM_HEARTBEAT:
                    yield b": heartbeat\n\n"
                    last_write = now
                due = min(
                    next_check,
                    next_progress,
                    last_write + settings.NEWS_STREAM_HEARTBEAT,
                    deadline,
                )
                if due > now and not self._wake.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(due - now):
                            await self._wake.wait()
            if not self._closed:  # else the client is gone
                end: NewsEndEvent = {"reason": self.end_reason, **self._status(started)}
                yield sse_event("end", end)
        finally:
            await self._close()

    async def _close(self) -> None:
        """Stop the tasks, give back the tab, the group, the slot and the gauge: once,
        from whichever sees the end first — the body's finally, or `_watch` when the
        client went while the body was parked at a `yield` (Django then closes only its own
        wrapper generator; this one would wait for the garbage collector). The clean-up
        runs in a task of its own, so a second cancellation of the caller cannot cut it
        short."""
        if self._cleanup is None:
            self._cleanup = asyncio.create_task(self._clean_up(), name=f"news-end-{self.slot}")
        await asyncio.shield(self._cleanup)

    async def _clean_up(self) -> None:
        started = time.monotonic()
        self._closed = True
        self._wake.set()  # a body still running stops at once
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # channels-redis' receive() can take seconds to honour a cancellation (seen:
            # the listener cancelled just as its receive lock was granted): the stream's
            # resources do not wait for it; it is logged, and ends on its own
            _, pending = await asyncio.wait(self._tasks, timeout=TASK_STOP_WAIT)
            for task in pending:
                log.warning("news stream %s: %s still stopping", self.slot[:8], task.get_name())
                task.add_done_callback(_stopped)
        try:
            await self._leave()
        finally:
            metrics.NEWS_STREAMS_OPEN.dec()
            how = self.end_reason or ("client gone" if self.probe.gone() else "cancelled")
            log.info(
                "user %s: news stream %s ended (%s): %d sent, cleaned up in %.0f ms",
                self.user_id,
                self.slot[:8],
                how,
                self.sent,
                (time.monotonic() - started) * 1000,
            )

    def _news(self, row: NewsItem) -> bytes:
        self.cursor = max(self.cursor, row.pk)
        self.sent += 1
        metrics.NEWS_ITEMS_SENT.inc()
        return sse_event("news", store.to_wire(row), row.pk)

    def _status(self, started: float) -> NewsProgressEvent:
        elapsed = int((time.monotonic() - started) * 1000)
        return {
            "cursor": self.cursor,
            "sent": self.sent,
            "elapsed_ms": elapsed,
            "server_time": now_ms(),
        }

    def _store_failed(self, exc: DatabaseError, *, first: bool) -> None:
        metrics.NEWS_STORE_ERRORS.inc()
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "news stream %s: reading the store failed (%s); retrying",
            self.slot[:8],
            exc,
        )

    async def _read(self) -> tuple[list[NewsItem], float | None]:
        rows = await _db(store.news_list_after, self.symbols, self.cursor, PAGE)
        ready, wait = settled(rows, settings.NEWS_STREAM_SETTLE)
        return ready, wait

    async def _backlog(self, count: int, head: int) -> list[NewsItem]:
        """The `count` newest articles stored up to `head` (what is newer comes live),
        in cursor order so that every `id:` is a resume point."""
        rows = await _db(store.news_list_latest, self.symbols, count)
        return sorted((r for r in rows if r.pk <= head), key=lambda r: r.pk)

    # -- the user's stream and the cluster ---------------------------------------------------
    async def _join(self) -> None:
        """Hold the user's stream as a tab with our symbols; hear `news.stored`. Redis
        trouble is not fatal: the periodic check reads the store, `_keepalive` retries."""
        assert self.user_id is not None
        await owner.tab_attach(self.agents, self.user_id, self)
        self._attached = True
        await self.hub.add(self)
        await self._announce()

    async def _announce(self) -> None:
        assert self.user_id is not None
        await owner.tab_symbols_announce(self.user_id, self, self.symbols)

    async def _leave(self) -> None:
        """Everything `_join` and the limits took, given back (each step on its own)."""
        user_id = self.user_id
        assert user_id is not None
        self.hub.remove(self)
        if self._attached:
            self._attached = False
            await owner.tab_detach(self.agents, user_id, self)
        await asyncio.to_thread(quota.release, user_id, self.slot)

    async def _watch(self) -> None:
        """Notice a client that went (closing everything if the body cannot), renew the
        slot, re-send our symbols (the owner forgets a silent tab after 90 s)."""
        assert self.user_id is not None
        last_renew = last_announce = time.monotonic()
        while True:
            await asyncio.sleep(CLIENT_CHECK)
            if self.probe.gone():
                await self._close()
                return
            now = time.monotonic()
            if now - last_renew >= quota.SLOT_RENEW:
                last_renew = now
                await asyncio.to_thread(quota.renew, self.user_id, self.slot)
            if now - last_announce >= SYMBOLS_HEARTBEAT:
                last_announce = now
                await self.hub.rejoin()
                await self._announce()

    # -- layer messages (fanout.Tab, and the news group) -------------------------------------
    async def news_stored(self, message: NewsStored) -> None:
        """Only a hint: wake up and read the store if it may hold something for us."""
        if int(message.get("cursor", 0)) > self.cursor and set(message.get("symbols", ())) & set(
            self.symbols
        ):
            self._wake.set()

    async def stream_limit(self, message: LimitReply) -> None:
        limit: NewsLimitEvent = {
            "symbols": sorted(message.get("symbols", [])),
            "reason": "user_limit_reached",
        }
        self._notes.append(sse_event("limit", limit))
        self._wake.set()

    async def stream_owner_changed(self, message: OwnerChanged) -> None:
        await self._announce()  # the new owner learns of this tab at once

    async def stream_frame(self, message: FrameMessage) -> None:
        """The user's frames are not news: ignored (as are heads and snapshots)."""

    async def stream_head(self, message: HeadMessage) -> None:
        pass

    async def stream_snapshot(self, message: SnapshotReply) -> None:
        pass

    async def session_ended(self) -> None:
        """The login or the API token ended (cluster/sessions.py): end with `unauthenticated`."""
        self.end_reason = "unauthenticated"
        self._wake.set()
