"""Injected failures: what the real broker does on a bad day, on demand.

Faults that act on live sockets (drop, silence) are carried out by the hub at
the moment they are injected; the rest are standing rules checked on each
request, handshake or send until they run out or are cleared. Every standing
rule can be aimed at one broker ("tastytrade", "tradier", "alpaca") and, where
the request names its credential, at one credential.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any

#: The brokers the sandbox fakes, and the path each one is mounted under.
BROKER_MOUNTS = {"tastytrade": "", "tradier": "/tradier", "alpaca": "/alpaca"}
#: Live connection kinds of each broker (what drop / silence / blackout act on).
BROKER_KINDS = {
    "tastytrade": ("dxlink", "streamer"),
    "tradier": ("tradier-stream",),
    "alpaca": ("alpaca-sse", "alpaca-ws", "alpaca-news", "alpaca-crypto"),
}
KIND_BROKER = {kind: broker for broker, kinds in BROKER_KINDS.items() for kind in kinds}

#: HTTP statuses the control API may inject, with the body the real service sends.
DEFAULT_ERROR_BODIES: dict[int, tuple[str, str]] = {
    400: ("invalid_request", "The request is invalid"),
    401: ("invalid_token", "This token is invalid or has expired"),
    403: ("forbidden", "You are not permitted to perform this action"),
    404: ("record_not_found", "Record not found"),
    429: ("rate_limit_exceeded", "Too many requests, slow down"),
    500: ("internal_server_error", "Internal server error"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("service_unavailable", "Service temporarily unavailable"),
    504: ("gateway_timeout", "Gateway timeout"),
}


def broker_of_path(path: str) -> str:
    """Which façade serves a path: `/tradier/…`, `/alpaca/…`, else tastytrade."""
    for broker, mount in BROKER_MOUNTS.items():
        if mount and (path == mount or path.startswith(mount + "/")):
            return broker
    return "tastytrade"


def _scoped(rule_broker: str | None, rule_credential: str | None, broker: str, cred: Any) -> bool:
    return (rule_broker is None or rule_broker == broker) and (
        rule_credential is None or rule_credential == cred
    )


@dataclass
class HttpFault:
    """Answer matching REST requests with an error status."""

    status: int
    path_prefix: str = "/"
    #: How many requests to fail; None means until cleared.
    count: int | None = 1
    #: Send a plain-text body (what a proxy in front of the API sends) instead of JSON.
    plain_text: bool = False
    retry_after: int | None = None
    method: str | None = None
    #: Only this broker's requests (None: any).
    broker: str | None = None
    #: Only requests made with this credential (None: any, unauthenticated ones included).
    credential: str | None = None

    def matches(self, method: str, path: str, broker: str, credential: str | None) -> bool:
        return (
            path.startswith(self.path_prefix)
            and (self.method is None or self.method.upper() == method.upper())
            and _scoped(self.broker, self.credential, broker, credential)
        )


@dataclass
class Blackout:
    """Everything in scope is frozen until `until` (monotonic): sockets send nothing and
    new requests wait, as if the broker's process or network had stopped."""

    until: float
    broker: str | None = None
    credential: str | None = None

    def covers(self, broker: str, credential: str | None) -> bool:
        return _scoped(self.broker, self.credential, broker, credential)

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "broker": self.broker,
            "credential": self.credential,
            "remaining": round(max(0.0, self.until - now), 3),
        }


@dataclass
class Faults:
    """Standing fault rules, consulted by the REST and websocket handlers."""

    http: list[HttpFault] = field(default_factory=list)
    #: Extra latency added to every REST response, seconds.
    rest_delay: float = 0.0
    #: Extra latency for one broker's REST responses (added to `rest_delay`), seconds.
    broker_delay: dict[str, float] = field(default_factory=dict)
    #: Connection kinds whose new handshakes / streams are refused, with the status.
    refuse_sessions: dict[str, int] = field(default_factory=dict)
    #: The same for one credential only: credential id -> {kind: status} (only for the
    #: HTTP streams, whose request names the credential).
    refuse_sessions_by_credential: dict[str, dict[str, int]] = field(default_factory=dict)
    #: DXLink never answers AUTH with AUTHORIZED (the SDK has no timeout for this).
    hang_auth: bool = False
    #: DXLink never answers CHANNEL_REQUEST with CHANNEL_OPENED.
    hang_channels: bool = False
    #: The account streamer never acks subscriptions.
    hang_acks: bool = False
    #: DXLink sends a candle subscription's snapshot this many seconds late (a long
    #: history on a busy feed), seconds; quotes go on meanwhile.
    candle_delay: float = 0.0
    blackouts: list[Blackout] = field(default_factory=list)
    # set (and replaced) whenever blackouts change, to wake whoever waits on one
    _wake: asyncio.Event | None = field(default=None, repr=False, compare=False)

    def take_http(self, method: str, path: str, credential: str | None = None) -> HttpFault | None:
        """The first HTTP fault matching this request, consuming one use of it."""
        broker = broker_of_path(path)
        for fault in self.http:
            if fault.matches(method, path, broker, credential):
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.http.remove(fault)
                return fault
        return None

    def delay_for(self, broker: str) -> float:
        return self.rest_delay + self.broker_delay.get(broker, 0.0)

    def refusal(self, kind: str, credential: str | None = None) -> int:
        """The status new connections of this kind (and credential) are refused with, or 0."""
        if credential is not None:
            status = self.refuse_sessions_by_credential.get(credential, {}).get(kind)
            if status:
                return status
        return self.refuse_sessions.get(kind, 0)

    # -- blackouts -----------------------------------------------------------------------
    def add_blackout(self, seconds: float, broker: str | None, credential: str | None) -> None:
        self.blackouts.append(Blackout(time.monotonic() + seconds, broker, credential))
        self._changed()

    def end_blackouts(self, broker: str | None = None, credential: str | None = None) -> int:
        """End the blackouts aimed exactly at this scope (all of them with no scope)."""
        before = len(self.blackouts)
        if broker is None and credential is None:
            self.blackouts.clear()
        else:
            self.blackouts = [
                b for b in self.blackouts if (b.broker, b.credential) != (broker, credential)
            ]
        self._changed()
        return before - len(self.blackouts)

    def blackout_remaining(self, broker: str, credential: str | None) -> float:
        """Seconds until every blackout covering this broker and credential is over."""
        if not self.blackouts:
            return 0.0
        now = time.monotonic()
        self.blackouts = [b for b in self.blackouts if b.until > now]
        return max(
            (b.until - now for b in self.blackouts if b.covers(broker, credential)), default=0.0
        )

    async def wait_blackout(self, broker: str, credential: str | None) -> float:
        """Wait while a blackout covers this broker and credential; the seconds waited."""
        started = time.monotonic()
        while (remaining := self.blackout_remaining(broker, credential)) > 0:
            if self._wake is None:
                self._wake = asyncio.Event()
            wake = self._wake
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await wake.wait()
        return time.monotonic() - started

    def _changed(self) -> None:
        if self._wake is not None:
            self._wake.set()
            self._wake = None

    # -- housekeeping ----------------------------------------------------------------------
    def clear(self) -> None:
        self.http.clear()
        self.rest_delay = 0.0
        self.broker_delay.clear()
        self.refuse_sessions.clear()
        self.refuse_sessions_by_credential.clear()
        self.hang_auth = self.hang_channels = self.hang_acks = False
        self.candle_delay = 0.0
        self.end_blackouts()

    def as_dict(self) -> dict[str, Any]:
        now = time.monotonic()
        self.blackout_remaining("", None)  # forget the ones that are over
        return {
            "http": [asdict(f) for f in self.http],
            "rest_delay": self.rest_delay,
            "broker_delay": dict(self.broker_delay),
            "refuse_sessions": dict(self.refuse_sessions),
            "refuse_sessions_by_credential": {
                c: dict(kinds) for c, kinds in self.refuse_sessions_by_credential.items()
            },
            "hang_auth": self.hang_auth,
            "hang_channels": self.hang_channels,
            "hang_acks": self.hang_acks,
            "candle_delay": self.candle_delay,
            "blackouts": [b.as_dict(now) for b in self.blackouts],
        }
