"""A small JSON request body, read safely: the size is checked before anything is parsed.

Shared by the views that take a JSON body from the browser (the watchlist, the market
overview's list), so both refuse the same bad bodies with the same words.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from streaming.validation import MAX_WATCHLIST_BODY_BYTES


class BodyError(ValueError):
    """A body that is refused (400): too large or not JSON; the message says which."""


def json_body(request: HttpRequest, limit: int = MAX_WATCHLIST_BODY_BYTES) -> Any:
    """The parsed body, or BodyError. The declared length is checked before reading and
    the real length after (a client may lie); orjson refuses nesting past 1024 levels,
    so parsing never recurses without bound."""
    too_large = BodyError(f"the body is limited to {limit} bytes")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(body) > limit:
        raise too_large
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BodyError("the body is not valid JSON (or nested too deep)") from None
