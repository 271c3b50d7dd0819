"""The JSON API's error answers: every one carries `message`, a sentence a person can read,
beside the endpoint's own `error` (and `code`) (docs/streaming-contract.md, "The JSON API:
its description, and its errors").

Two shapes are in use, both kept for the clients that read them:
- `error_response(status, "not_authenticated", "Log in first …")`: `error` is a short
  code, `message` the sentence (candles, the news stream, the shared refusals below);
- `sentence_error(status, "no such alert", code="not_found")`: `error` is the sentence
  itself and `code` the short code (alerts, orders, exports, chains, trading); `message`
  is that sentence too, with its full stop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.http import JsonResponse

#: Where a script reads what the API takes (a 404 under /api/ points there).
SCHEMA_PATH = "/api/schema"


def as_sentence(text: str) -> str:
    """`text` as a sentence ends: with its full stop ("use GET or PUT" → "use GET or
    PUT."). Its first letter is left as it is: it may be a name ("tastytrade has no
    candles for Q.", "iv_shift must be…")."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("an error's sentence may not be empty")
    return text if text[-1] in ".!?" else f"{text}."


def error_response(
    status: int,
    error: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    """`{"error": <code>, "message": <sentence>, **extra}` with `status` (and `headers`)."""
    body = {"error": error, "message": as_sentence(message), **extra}
    return JsonResponse(body, status=status, headers=headers)


def sentence_error(
    status: int,
    sentence: str,
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JsonResponse:
    """The shape whose `error` is the sentence: `{"error": <sentence>, "code": <code>,
    "message": <the sentence, as one>, **extra}` (no `code` where the endpoint has none)."""
    body: dict[str, Any] = {"error": sentence}
    if code is not None:
        body["code"] = code
    body.update(extra)
    body["message"] = as_sentence(sentence)
    return JsonResponse(body, status=status, headers=headers)


def with_message(body: Mapping[str, Any]) -> dict[str, Any]:
    """An error body of the sentence shape (`{"error": <sentence>, "code": …}`) as a
    feature's service returned it, with its `message`; where the service had no sentence
    (a broker that refused without one), `error` and `message` say that, with the code."""
    sentence = body.get("error")
    if not isinstance(sentence, str) or not sentence.strip():
        code = body.get("code") or "refused"
        sentence = f"Refused ({code}), with no reason given."
        return {**body, "error": sentence, "message": sentence}
    return {**body, "message": as_sentence(sentence)}


def allow(methods: Iterable[str]) -> dict[str, str]:
    """The `Allow` header a 405 carries (RFC 9110: it names the methods the route takes)."""
    return {"Allow": ", ".join(methods)}


def methods_text(methods: Iterable[str]) -> str:
    """ "GET", "GET or PUT", "GET, POST or DELETE"."""
    names = list(methods)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


# --------------------------------------------------------------- the refusals every view shares


def not_authenticated() -> JsonResponse:
    """403: nobody is logged in (and no API token was sent where one may read)."""
    return error_response(
        403,
        "not_authenticated",
        "Log in first; a script sends its API token (Authorization: Bearer …) where one may "
        f"read, as {SCHEMA_PATH} says.",
    )


def token_read_only() -> JsonResponse:
    """403: an API token where only a logged-in session may go."""
    return error_response(
        403,
        "token_read_only",
        "An API token only reads the stream and the data beside it; this takes a logged-in "
        "session.",
    )


def method_not_allowed(path: str, method: str, methods: Iterable[str]) -> JsonResponse:
    """405 with `Allow`: the route at `path` takes `methods`, not `method`."""
    taken = list(methods)
    return error_response(
        405,
        "method_not_allowed",
        f"{path} takes {methods_text(taken)}, not {method}.",
        headers=allow(taken),
    )


def not_found(path: str) -> JsonResponse:
    """404: no route at `path` (shown up to 200 characters)."""
    return error_response(
        404,
        "not_found",
        f"No API endpoint at {path[:200]!r}: the API is described at {SCHEMA_PATH}.",
    )


def bad_request() -> JsonResponse:
    """400 that Django answers before any view: a request it cannot read."""
    return error_response(
        400,
        "bad_request",
        "The request could not be read (its size, its fields or its host); see "
        f"{SCHEMA_PATH} for what each endpoint takes.",
    )


def forbidden() -> JsonResponse:
    """403 that Django answers before any view (a permission denied)."""
    return error_response(403, "forbidden", "You may not do this.")


def server_error() -> JsonResponse:
    """500: the failure is logged with its traceback; the answer says nothing of it."""
    return error_response(
        500,
        "server_error",
        "Something went wrong on the server (it is logged); try again in a moment.",
    )
