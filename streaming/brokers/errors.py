"""What goes wrong with a broker, whether it is the credential, and how to say it.

- The failures the adapters and clients raise: `CredentialRejected`, `BrokerHTTPError`,
  `StreamSilent`, `StreamEnded`.
- `is_rejection(exc)`: **the** rule for "the broker refused the credential itself",
  shared by the admin's verify (streaming/links/verify.py) and by streaming (the supervised
  loops of base.py): a rejected credential is an `error` retried only every few minutes,
  anything else is retried with backoff.
- `describe(exc)`: a short, secret-free reason for a status or a log line.
- `retry_after(exc)`: the longest `Retry-After` a broker asked for in a failure.

The rejection rule (docs/streaming.md, "Failure cases"):

- Tradier's token and Alpaca's key pair go with every request, so their clients raise
  `CredentialRejected` for every `REJECTION_STATUSES` answer (401/403).
- tastytrade's credential (a refresh token and the provider secret) goes only to the
  OAuth token endpoint; it is rejected when that endpoint answers one of the OAuth
  credential errors `REJECTION_CODES` (RFC 6749 §5.2), wherever the SDK raises it (a data
  call refreshes a token that is about to expire). A 401 of a data call (`invalid_token`,
  `unauthorized`, `token_expired`) refuses an *access* token, which a refresh replaces:
  it is not a rejection. A stream reconnects with a fresh token (and a revoked credential
  then fails that refresh with `invalid_grant`); verify reports it as a broker error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx
import httpx2
from httpx2.websockets import HTTPXWSException, WebSocketDisconnect
from httpx_sse import SSEError
from tastytrade.utils import TastytradeError

#: HTTP statuses that refuse a credential which goes with every request (Tradier, Alpaca).
REJECTION_STATUSES = frozenset({401, 403})
#: OAuth token-endpoint errors that refuse the credential itself (tastytrade).
REJECTION_CODES = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})


class CredentialRejected(Exception):
    """The broker refused the credential itself: retrying soon will not help."""


class StreamSilent(Exception):
    """The broker stopped sending without closing (detected by the liveness watchdog)."""


class StreamEnded(Exception):
    """The broker ended a stream (a drop, a kick or an idle close)."""


class BrokerHTTPError(Exception):
    """A broker REST/stream request answered with an error status (not a rejection)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
        self.retry_after = retry_after


def leaves(exc: BaseException) -> list[BaseException]:
    """The real exceptions inside (possibly nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


# -- the credential ------------------------------------------------------------------------
def error_codes(exc: TastytradeError) -> set[str]:
    """The error codes in a tastytrade SDK error (its text is `code: message` per line)."""
    return {line.split(":", 1)[0].strip() for line in str(exc).splitlines() if ":" in line}


def is_rejection(exc: BaseException) -> bool:
    """Did the broker refuse the credential itself (see the module's docstring)?"""
    return any(
        isinstance(leaf, CredentialRejected)
        or (isinstance(leaf, TastytradeError) and bool(error_codes(leaf) & REJECTION_CODES))
        for leaf in leaves(exc)
    )


# -- the HTTP answer behind an SDK error -----------------------------------------------------
def sdk_response(exc: BaseException) -> Any:
    """The HTTP response a tastytrade SDK error was raised for, if it can be found.

    `TastytradeError` carries only the text, so look for the `response` the SDK's
    `validate_response` was checking in the frames the error passed through."""
    found = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        response = tb.tb_frame.f_locals.get("response")
        if isinstance(getattr(response, "status_code", None), int):
            found = response
        tb = tb.tb_next
    return found


def http_status(exc: BaseException) -> int | None:
    """The HTTP status behind a broker error (None if it is not known)."""
    if isinstance(exc, BrokerHTTPError):
        return exc.status
    response = sdk_response(exc)
    return response.status_code if response is not None else None


def retry_after_header(headers: Mapping[str, str]) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds only), or None."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def retry_after(exc: BaseException) -> float:
    """The longest `Retry-After` a broker asked for in this failure (0 if none)."""
    waits = []
    for leaf in leaves(exc):
        if isinstance(leaf, BrokerHTTPError):
            waits.append(leaf.retry_after or 0.0)
        elif isinstance(leaf, TastytradeError) and (response := sdk_response(leaf)) is not None:
            waits.append(retry_after_header(response.headers) or 0.0)
    return max(waits, default=0.0)


# -- saying what happened ------------------------------------------------------------------
#: A call the broker never answered: it timed out, or its connection broke or never opened
#: (httpx's and the tastytrade SDK's httpx alike).
NO_ANSWER_TIMEOUTS = (httpx.TimeoutException, httpx2.TimeoutException, TimeoutError)
NO_ANSWER_TRANSPORT = (httpx.TransportError, httpx2.TransportError, OSError)


def unanswered(exc: BaseException) -> bool:
    """Whether a broker call failed for want of an answer, rather than with one."""
    return any(isinstance(leaf, NO_ANSWER_TIMEOUTS + NO_ANSWER_TRANSPORT) for leaf in leaves(exc))


def _reason(leaf: BaseException) -> str | None:
    if isinstance(leaf, CredentialRejected):
        return f"credential rejected: {leaf}"
    if isinstance(leaf, StreamSilent | StreamEnded):
        return str(leaf)
    if isinstance(leaf, WebSocketDisconnect):
        return f"broker closed the stream (code {leaf.code})"
    if isinstance(leaf, BrokerHTTPError):
        return f"broker error: {leaf}"
    if isinstance(leaf, TastytradeError):
        return f"broker error: {str(leaf).strip()[:200]}"
    if isinstance(leaf, SSEError):
        return "broker answered without an event stream"
    if isinstance(leaf, NO_ANSWER_TIMEOUTS):
        return "broker did not answer in time"
    if isinstance(leaf, httpx.RemoteProtocolError | httpx2.RemoteProtocolError):
        return "broker closed the stream"
    if isinstance(leaf, NO_ANSWER_TRANSPORT):
        return f"cannot reach broker: {type(leaf).__name__}"
    if isinstance(leaf, HTTPXWSException):
        return f"stream error: {type(leaf).__name__}"
    return None


def describe(exc: BaseException) -> str:
    """A short, secret-free reason for a status event or a log line: the first failure
    inside `exc` that is known, else `unexpected error: …` (logged with its traceback)."""
    found = leaves(exc)
    for leaf in found:
        reason = _reason(leaf)
        if reason is not None:
            return reason
    first = found[0]
    return f"unexpected error: {type(first).__name__}: {str(first)[:120]}"
