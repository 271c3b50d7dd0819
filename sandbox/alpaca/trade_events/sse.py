"""The Broker API's SSE trade-event stream (`/v1|v2/events/trades`) of one key.

It sends `data: <one-line JSON>\\n\\n` (no `event:`/`id:` lines, `:heartbeat` comments when
idle), as Alpaca's Broker API documents its event streams; v2 ids are ULIDs, v1 ids integers
(plus `event_ulid`), and `since*`/`until*` query parameters replay what the key retained.

Guesses (UNCONFIRMED at Alpaca) and the switch for each; every switch is a `SandboxConfig`
field `alpaca_<name>`, settable at start or through `POST /_sandbox/config`:

* `alpaca_second_connection`: a second stream of the same key gets HTTP 429 ("reject",
  as reported for trade_updates in alpaca-py #740) or closes the older one ("kick").
* `alpaca_heartbeat_interval`: the `:heartbeat` interval (the spec suggests ~15 s).
* `alpaca_stale_cleanup` (0 s): how long a disconnected client still counts as connected (the
  server-side cleanup delay behind #740's 429 storms).
* `alpaca_stale_since` ("retained"): a `since_id` older than the retained window gets what is
  retained; "error" answers 400 instead.
* `alpaca_honour_last_event_id` (False): a `Last-Event-ID` header acts as `since_id`; Alpaca
  documents only query parameters.
* `alpaca_error_comment` (True): a dropped stream ends with `: internal server error` (the v2
  spec says so for error closes).
* v1 `/v1/events/trades` uses the same events with an integer `event_id` plus
  `event_ulid`, and accepts `since_ulid`/`until_ulid` as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sandbox.alpaca.customers import Customer, StoredEvent
from sandbox.alpaca.trade_events.feed import TradeEvents
from sandbox.alpaca.wire import BAD_INPUT, TOO_MANY, ULID_RE, alpaca_error, ulid_time
from sandbox.core.hub import Session

__all__ = ["SseSession", "open_stream"]

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
#: Events queued for a client that reads too slowly before it gets a warning instead.
_MAX_QUEUED = 10_000


# --------------------------------------------------------------------------- replay


@dataclass
class Replay:
    """A stream's `since*`/`until*` window; which field is compared depends on the version."""

    version: int
    since: Any = None  # date | str (ulid) | int (seq)
    until: Any = None
    field: str = ""  # "date" | "ulid" | "seq"

    def key(self, event: StoredEvent) -> Any:
        if self.field == "date":
            return datetime.fromtimestamp(event.at, UTC).date()
        return event.ulid if self.field == "ulid" else event.seq

    def wants_history(self) -> bool:
        return self.since is not None

    def after_since(self, event: StoredEvent) -> bool:
        if self.field == "date":
            return self.key(event) >= self.since
        return self.key(event) > self.since

    def beyond_until(self, event: StoredEvent) -> bool:
        return self.until is not None and self.key(event) > self.until

    def at_until(self, event: StoredEvent) -> bool:
        return self.until is not None and self.field != "date" and self.key(event) == self.until

    def until_passed(self, latest: StoredEvent | None) -> bool:
        """Nothing more can come inside the window (the stream ends with 200)."""
        if self.until is None:
            return False
        if self.field == "date":
            return datetime.now(UTC).date() > self.until
        if latest is not None and self.key(latest) >= self.until:
            return True
        # new ULIDs carry the current time: none can fall at or before a past until_ulid
        return self.field == "ulid" and ulid_time(self.until) < time.time() - 0.001


def parse_replay(request: Request, version: int, options_last_event_id: bool) -> Replay | str:
    """Validate the replay parameters as Alpaca does; an error message on misuse."""
    q = request.query_params
    pairs = [("since", "until", "date"), ("since_id", "until_id", "")]
    pairs.append(("since_ulid", "until_ulid", "ulid"))
    given = [name for name, _, _ in pairs if q.get(name)]
    for since_name, until_name, _ in pairs:
        if q.get(until_name) and not q.get(since_name):
            return f"{until_name} requires {since_name}"
    if len(given) > 1:
        return "only one of since, since_id, since_ulid may be given"
    last_event_id = request.headers.get("last-event-id")
    if not given and options_last_event_id and last_event_id:
        given, fake = ["since_id"], {"since_id": last_event_id}
    else:
        fake = {}
    if not given:
        return Replay(version)
    name = given[0]
    since_raw = fake.get(name) or q[name]  # given: present and not empty
    until_name = dict((a, b) for a, b, _ in pairs)[name]
    until_raw = q.get(until_name)
    if name == "since":
        try:
            since = date.fromisoformat(since_raw)
            until = date.fromisoformat(until_raw) if until_raw else None
        except ValueError:
            return "since and until must be dates (YYYY-MM-DD)"
        return Replay(version, since, until, "date")
    ulid_ids = name == "since_ulid" or version == 2
    if ulid_ids:
        values = [since_raw, until_raw] if until_raw else [since_raw]
        if not all(ULID_RE.match(v.upper()) for v in values):
            return f"{name} must be a ULID"
        return Replay(version, since_raw.upper(), until_raw.upper() if until_raw else None, "ulid")
    try:
        return Replay(version, int(since_raw), int(until_raw) if until_raw else None, "seq")
    except ValueError:
        return f"{name} must be an integer"


# --------------------------------------------------------------------------- SSE


class SseSession(Session):
    """One open trade-event stream, listed, dropped and silenced like any session."""

    kind = "alpaca-sse"

    def __init__(self, feed: TradeEvents, customer: Customer, replay: Replay) -> None:
        super().__init__(customer.cid, feed.sandbox.faults)
        self.feed = feed
        self.customer = customer
        self.replay = replay
        self.heartbeats_sent = 0
        self.dropped_slow = 0
        self._queue: asyncio.Queue[StoredEvent | None] = asyncio.Queue()
        self._close_reason = ""
        self.client_gone = False

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """End the response (a drop fault); an error close says so in a comment first."""
        if self._closed:
            return
        self._closed = True
        self._close_reason = reason if code != 1000 else ""
        self._queue.put_nowait(None)

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "version": self.replay.version,
            "client_gone": self.client_gone,
            "heartbeats_sent": self.heartbeats_sent,
        }

    # -- feeding -------------------------------------------------------------------
    def offer(self, event: StoredEvent) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= _MAX_QUEUED:
            self.dropped_slow += 1
            return
        self._queue.put_nowait(event)

    def encode(self, event: StoredEvent) -> bytes:
        body = dict(event.body)
        if self.replay.version == 2:
            payload = {"account_id": body.pop("account_id"), "at": body.pop("at")}
            payload["event_id"] = event.ulid
        else:
            payload = {"account_id": body.pop("account_id"), "at": body.pop("at")}
            payload["event_id"] = event.seq
            payload["event_ulid"] = event.ulid
        payload.update(body)
        return b"data: " + orjson.dumps(payload) + b"\n\n"

    # -- the response ------------------------------------------------------------------
    async def serve(self, history: list[StoredEvent], receive: Receive, send: Send) -> None:
        """Headers, history, then live events and heartbeats until an end condition."""
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        watcher = asyncio.create_task(self._watch_disconnect(receive))
        try:
            for event in history:
                if self.replay.beyond_until(event):
                    return
                await self._write(send, self.encode(event))
                if self.replay.at_until(event):
                    return
            latest = self.customer.events[-1] if self.customer.events else None
            if self.replay.until_passed(latest):
                return
            while not self.client_gone:
                interval = max(0.05, float(self.feed.option("heartbeat_interval")))
                try:
                    async with asyncio.timeout(interval):
                        item = await self._queue.get()
                except TimeoutError:
                    if not self.silent:
                        self.heartbeats_sent += 1
                        await self._write(send, b":heartbeat\n\n", count=False)
                    continue
                if item is None:
                    if self._close_reason and self.feed.option("error_comment"):
                        await self._write(send, b": internal server error\n\n", count=False)
                    return
                if self.dropped_slow:
                    dropped, self.dropped_slow = self.dropped_slow, 0
                    warning = f": you are reading too slowly, dropped {dropped} messages\n\n"
                    await self._write(send, warning.encode(), count=False)
                if self.replay.beyond_until(item):
                    return
                if self.silent:
                    self.messages_suppressed += 1
                    continue
                await self._write(send, self.encode(item))
                if self.replay.at_until(item):
                    return
        except OSError:  # the client went away mid-write
            self.client_gone = True
        finally:
            watcher.cancel()
            self._closed = True
            if not self.client_gone:
                with contextlib.suppress(OSError):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _write(self, send: Send, chunk: bytes, *, count: bool = True) -> None:
        if self.faults is not None and self.faults.blackouts:
            await self.hold()  # frozen: this chunk and everything after it wait
        if self.client_gone:
            raise OSError("client disconnected")
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if count:
            self.messages_sent += 1

    async def _watch_disconnect(self, receive: Receive) -> None:
        """An SSE client never sends a body: the next message is its disconnect."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.client_gone = True
                self._queue.put_nowait(None)
                return


class _SseResponse(Response):
    """Runs an `SseSession` as the response; registers it while it is open."""

    def __init__(self, session: SseSession, history: list[StoredEvent]) -> None:
        self.session = session
        self.history = history
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = self.session
        feed = session.feed
        hub = feed.sandbox.hub
        try:
            await session.serve(self.history, receive, send)
        finally:
            feed.streams.get(session.customer.cid, set()).discard(session)
            delay = float(feed.option("stale_cleanup"))
            if delay > 0 and session.client_gone:
                asyncio.get_running_loop().call_later(delay, hub.remove, session)
            else:
                hub.remove(session)


async def open_stream(feed: TradeEvents, customer: Customer, request: Request) -> Response:
    """GET /v2/events/trades (ULID ids) and /v1/events/trades (integer ids) of an
    authenticated customer: refusals (faults, a second stream, bad replay parameters) or
    the streaming response."""
    sandbox = feed.sandbox
    version = 1 if "/v1/" in request.url.path else 2
    customer.connection_attempts += 1
    sandbox.counters["alpaca_sse_attempts"] += 1
    refused = sandbox.faults.refusal(SseSession.kind, customer.cid)
    if refused:
        customer.connections_refused += 1
        sandbox.counters["alpaca_sse_refused"] += 1
        if refused >= 500:
            return Response(b"Service Unavailable", refused, media_type="text/plain")
        return alpaca_error(refused, refused * 100000, "connection refused")
    replay = parse_replay(request, version, bool(feed.option("honour_last_event_id")))
    if isinstance(replay, str):
        return alpaca_error(400, BAD_INPUT, replay)
    events = list(customer.events)
    if (
        replay.wants_history()
        and replay.field != "date"
        and customer.last_dropped is not None
        and replay.since < replay.key(customer.last_dropped)
        and feed.option("stale_since") == "error"
    ):
        return alpaca_error(400, BAD_INPUT, "since_id is older than the retained events")
    existing = [
        s for s in sandbox.hub.find(SseSession.kind, customer.cid) if isinstance(s, SseSession)
    ]
    if existing:
        if feed.option("second_connection") == "kick":
            for old in existing:
                await old.close(1008, "replaced by a newer connection")
                if old.client_gone:  # lingering after a disconnect: forget it now
                    sandbox.hub.remove(old)
        else:
            customer.connections_refused += 1
            sandbox.counters["alpaca_sse_refused"] += 1
            return alpaca_error(429, TOO_MANY, "too many requests: connection limit exceeded")
    session = SseSession(feed, customer, replay)
    # register and take the history in one step (no await between): no event falls between
    sandbox.hub.add(session)
    feed.streams.setdefault(customer.cid, set()).add(session)
    history = [e for e in events if replay.after_since(e)] if replay.wants_history() else []
    return _SseResponse(session, history)
