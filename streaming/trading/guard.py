"""What every trading endpoint checks before anything else (the contract's rules 1 to 3).

A logged-in session (API tokens never get here: streaming/tabs/bearer.py answers them 403
`token_read_only` first), an `Origin` naming this site on every write (on top of
Django's CSRF check, which runs in the middleware), and a per-user rate limit. The view
gets the user, so it never asks for it again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, JsonResponse

from streaming.api import errors
from streaming.runtime.ratelimit import rate_hit
from streaming.tabs.origin import origin_allowed

TradingView = Callable[..., Coroutine[Any, Any, HttpResponse]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_origin(request: HttpRequest) -> bool:
    """The request's `Origin` is present and names this site (the socket's rules)."""
    origin = request.headers.get("Origin")
    if not origin:
        return False
    try:
        host = request.get_host()
    except DisallowedHost:
        return False
    return origin_allowed(origin, host, request.scheme)


def _refuse(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return errors.sentence_error(status, message, code=code, **extra)


def trading_request(view: TradingView) -> TradingView:
    """Wrap an async trading view `view(request, user, *args)`: rules 1 to 3."""

    @functools.wraps(view)
    async def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = await request.auser()
        if not user.is_authenticated:
            return _refuse(403, "forbidden", "Log in to trade.")
        if request.method not in SAFE_METHODS and not same_origin(request):
            return _refuse(403, "bad_origin", "This request did not come from a streamdesk page.")
        verdict = await sync_to_async(rate_hit)(
            key=f"user-rate:{user.pk}:trading", limit=settings.TRADING_RATE_PER_MINUTE
        )
        if not verdict.allowed:
            response = _refuse(
                429,
                "rate_limited",
                f"Too many trading requests; try again in {verdict.retry_after} s.",
                retry_after=verdict.retry_after,
            )
            response["Retry-After"] = str(verdict.retry_after)
            return response
        return await view(request, user, *args, **kwargs)

    return guarded
