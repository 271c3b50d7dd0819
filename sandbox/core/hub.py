"""Live websocket sessions of the sandbox, and the routing of data to them.

The hub knows every open DXLink and account-streamer socket, which credential
it belongs to and what it subscribed, so that market ticks reach exactly the
feed channels that asked for a symbol, account events reach exactly the
streamers subscribed to that account, and the control API can report, drop or
silence sockets per credential. A blackout (core/faults.py) holds every
send of the sessions it covers until it ends.
"""

import asyncio
import contextlib
import itertools
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from sandbox.core.faults import KIND_BROKER, Faults

_ids = itertools.count(1)


class Session:
    """Any live upstream connection of a credential (a websocket, Tradier's HTTP stream,
    Alpaca's SSE stream): what the hub and the control API list, drop and silence."""

    kind = "session"

    def __init__(self, credential: str | None = None, faults: Faults | None = None) -> None:
        self.id = f"{self.kind}-{next(_ids)}"
        self.credential = credential
        #: The sandbox's standing faults (a blackout holds this session's sends).
        self.faults = faults
        self.opened_at = time.time()
        self.messages_sent = 0
        self.messages_received = 0
        self.messages_suppressed = 0
        self._silent_until = 0.0
        self._closed = False

    @property
    def silent(self) -> bool:
        return time.monotonic() < self._silent_until

    def silence(self, seconds: float | None) -> None:
        """Stop sending anything (the connection stays open) for a while, or until cleared."""
        self._silent_until = math.inf if seconds is None else time.monotonic() + seconds

    def unsilence(self) -> None:
        self._silent_until = 0.0

    @property
    def broker(self) -> str:
        return KIND_BROKER.get(self.kind, "tastytrade")

    @property
    def blacked_out(self) -> bool:
        return bool(self.faults and self.faults.blackout_remaining(self.broker, self.credential))

    async def hold(self) -> float:
        """Wait while a blackout covers this session (nothing may leave meanwhile: what is
        waiting goes out, in order, once it ends); the seconds waited."""
        if self.faults is None:
            return 0.0
        return await self.faults.wait_blackout(self.broker, self.credential)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """End the connection from the server side (drop faults, protocol errors)."""
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        return self._closed

    def state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "opened_at": self.opened_at,
            "silent": self.silent,
            "blacked_out": self.blacked_out,
            "messages_sent": self.messages_sent,
            "messages_received": self.messages_received,
            "messages_suppressed": self.messages_suppressed,
        }


class WsSession(Session):
    """One open websocket of a credential; outbound traffic can be silenced.

    Subclasses speak a protocol: `_receive_loop` handles client messages, `_background`
    runs beside it (keepalives, an ordered sender), `_cleanup` unhooks subscriptions.
    """

    kind = "ws"

    def __init__(self, websocket: WebSocket, sandbox: Any) -> None:
        super().__init__(faults=sandbox.faults)
        self.websocket = websocket
        self.sandbox = sandbox

    async def run(self) -> None:
        """The socket's whole life: refuse (a fault) or accept, serve, and clean up."""
        refused = self.sandbox.faults.refusal(self.kind)
        if refused:
            await refuse_handshake(self.websocket, refused)
            return
        self.sandbox.hub.add(self)  # before accept: a client that is connected is listed
        await self.websocket.accept()
        background = asyncio.create_task(self._background())
        try:
            await self._receive_loop()
        except WebSocketDisconnect:
            pass
        finally:
            background.cancel()
            self._cleanup()
            self.sandbox.hub.remove(self)
            await self.close()

    async def _receive_loop(self) -> None:
        raise NotImplementedError

    async def _background(self) -> None:
        """Work beside the receive loop; nothing by default."""

    def _cleanup(self) -> None:
        """Unhook subscriptions when the socket ends; nothing by default."""

    async def may_send(self) -> bool:
        """Whether the next frame goes out, counted either way: a silenced frame is gone,
        as on a dead link; during a blackout the frame waits (and so does its sender)
        until the blackout ends; a closed socket sends nothing."""
        if self._closed:
            return False
        if self.faults is not None and self.faults.blackouts:
            await self.hold()
            if self._closed:
                return False
        if self.silent:
            self.messages_suppressed += 1
            return False
        self.messages_sent += 1
        return True

    async def send_bytes_text(self, payload: bytes) -> None:
        """Send one text frame (see `may_send`)."""
        if await self.may_send():
            await self.websocket.send_text(payload.decode())

    async def send_json(self, message: dict[str, Any]) -> None:
        await self.send_bytes_text(orjson.dumps(message))

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close from the server side (used by drop faults and protocol errors)."""
        if self._closed:
            return
        self._closed = True
        if self.websocket.application_state != WebSocketState.DISCONNECTED:
            with contextlib.suppress(Exception):
                await self.websocket.close(code=code, reason=reason)


class Hub:
    """Registry of open sessions plus the symbol and account indexes used for routing."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        # market symbol -> feed channels (objects with .mark(symbol)) subscribed to it
        self._by_symbol: dict[str, set[Any]] = defaultdict(set)
        # account number -> streamer sessions (objects with .push(event)) subscribed to it
        self._by_account: dict[str, set[Any]] = defaultdict(set)
        self.closed_sessions = 0
        # Serialized events are shared by every channel asking the same fields in the
        # same generation (between two ticks), so 100 clients cost one encode.
        self.generation = 0
        self._row_cache: dict[tuple[str, str, tuple[str, ...]], bytes | None] = {}

    # -- sessions ---------------------------------------------------------------
    def add(self, session: Session) -> None:
        self.sessions[session.id] = session

    def remove(self, session: Session) -> None:
        if self.sessions.pop(session.id, None) is not None:
            self.closed_sessions += 1

    def find(self, kind: str = "all", credential: str | None = None) -> list[Session]:
        return [
            s
            for s in self.sessions.values()
            if (kind == "all" or s.kind == kind)
            and (credential is None or s.credential == credential)
        ]

    # -- market data routing ----------------------------------------------------
    def watch_symbol(self, symbol: str, channel: Any) -> None:
        self._by_symbol[symbol].add(channel)

    def unwatch_symbol(self, symbol: str, channel: Any) -> None:
        channels = self._by_symbol.get(symbol)
        if channels is not None:
            channels.discard(channel)
            if not channels:
                del self._by_symbol[symbol]

    def on_changed(self, symbols: Iterable[str]) -> None:
        """Mark every channel subscribed to a changed symbol as having news for it."""
        self.generation += 1
        self._row_cache.clear()
        by_symbol = self._by_symbol
        for symbol in symbols:
            channels = by_symbol.get(symbol)
            if channels:
                for channel in channels:
                    channel.mark(symbol)

    def encoded_row(
        self,
        event_type: str,
        symbol: str,
        fields: tuple[str, ...],
        build: Callable[[str, str], dict[str, Any] | None],
    ) -> bytes | None:
        """One event as COMPACT values (no brackets), cached for this generation."""
        key = (event_type, symbol, fields)
        try:
            return self._row_cache[key]
        except KeyError:
            pass
        event = build(event_type, symbol)
        row = None if event is None else encode_compact(event, fields)
        self._row_cache[key] = row
        return row

    # -- account routing --------------------------------------------------------
    def watch_account(self, account_number: str, streamer: Any) -> None:
        self._by_account[account_number].add(streamer)

    def unwatch_account(self, account_number: str, streamer: Any) -> None:
        streamers = self._by_account.get(account_number)
        if streamers is not None:
            streamers.discard(streamer)
            if not streamers:
                del self._by_account[account_number]

    def watched_accounts(self) -> list[str]:
        return list(self._by_account)

    def push_account_event(self, event: Any) -> int:
        """Queue an account event on every streamer subscribed to its account."""
        streamers = self._by_account.get(event.account_number, ())
        for streamer in streamers:
            streamer.push(event)
        return len(streamers)

    # -- faults -----------------------------------------------------------------
    def find_kinds(self, kinds: Iterable[str], credential: str | None = None) -> list[Session]:
        wanted = set(kinds)
        return [s for s in self.find("all", credential) if s.kind in wanted]

    async def drop(self, kinds: Iterable[str], credential: str | None, code: int) -> int:
        targets = self.find_kinds(kinds, credential)
        await asyncio.gather(*(s.close(code, "sandbox fault: drop") for s in targets))
        return len(targets)

    def silence(self, kinds: Iterable[str], credential: str | None, seconds: float | None) -> int:
        targets = self.find_kinds(kinds, credential)
        for session in targets:
            session.silence(seconds)
        return len(targets)

    def unsilence_all(self) -> None:
        for session in self.sessions.values():
            session.unsilence()


def _compact_value(value: Any) -> Any:
    """DXLink spells missing and non-finite numbers as strings."""
    if value is None:
        return "NaN"
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    return value


def encode_compact(event: dict[str, Any], fields: tuple[str, ...]) -> bytes:
    """An event's values in the requested field order, JSON without the outer brackets."""
    values = [_compact_value(event.get(name)) for name in fields]
    return orjson.dumps(values)[1:-1]


async def refuse_handshake(websocket: WebSocket, status: int) -> None:
    """Answer a websocket upgrade with a plain HTTP error, as a failing gateway does."""
    body = b"Service Unavailable" if status >= 500 else b"Forbidden"
    await websocket.send(
        {
            "type": "websocket.http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await websocket.send({"type": "websocket.http.response.body", "body": body})
