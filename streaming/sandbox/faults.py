"""Injected failures: what the real broker does on a bad day, on demand.

Faults that act on live sockets (drop, silence) are carried out by the hub at
the moment they are injected; the rest are standing rules checked on each
request or handshake until they run out or are cleared.
"""

from dataclasses import asdict, dataclass, field
from typing import Any

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

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path_prefix) and (
            self.method is None or self.method.upper() == method.upper()
        )


@dataclass
class Faults:
    """Standing fault rules, consulted by the REST and websocket handlers."""

    http: list[HttpFault] = field(default_factory=list)
    #: Extra latency added to every REST response, seconds.
    rest_delay: float = 0.0
    #: Websocket kinds ("dxlink", "streamer") whose new handshakes are refused, with the status.
    refuse_sessions: dict[str, int] = field(default_factory=dict)
    #: DXLink never answers AUTH with AUTHORIZED (the SDK has no timeout for this).
    hang_auth: bool = False
    #: DXLink never answers CHANNEL_REQUEST with CHANNEL_OPENED.
    hang_channels: bool = False
    #: The account streamer never acks subscriptions.
    hang_acks: bool = False

    def take_http(self, method: str, path: str) -> HttpFault | None:
        """The first HTTP fault matching this request, consuming one use of it."""
        for fault in self.http:
            if fault.matches(method, path):
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.http.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.http.clear()
        self.rest_delay = 0.0
        self.refuse_sessions.clear()
        self.hang_auth = self.hang_channels = self.hang_acks = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
