"""The throttle's part of every answer: a login refused for a lock is 429 with
`Retry-After` (the form, saying so, stays the body); a counted failure waits before it
is answered, longer with each failure (`lock.failure_delay`).

In place of axes' own middleware, which answers a lock with a bare text page instead of
the form (and, under ASGI in 8.3.1, hands the lockout callable its arguments shifted).
The wait is an `asyncio.sleep` under daphne: it holds no thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from streaming.lockout.lock import counted_failures, failure_delay, locked_out, remembered


def _finish(request: HttpRequest, response: HttpResponseBase) -> float:
    """Mark a lock's answer; the seconds this answer must wait first."""
    lockout = remembered(request)
    if lockout is not None and response.status_code == 200:
        response.status_code = 429
        response["Retry-After"] = str(lockout.seconds_left)
    failures = counted_failures(request)
    if failures is None or locked_out(request):
        return 0.0
    return failure_delay(failures)


class LoginThrottleMiddleware:
    """Sync and async capable (daphne runs it async)."""

    async_capable = True
    sync_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.is_async:
            return self._acall(request)
        response = self.get_response(request)
        delay = _finish(request, response)
        if delay:
            time.sleep(delay)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        response = await self.get_response(request)
        delay = _finish(request, response)
        if delay:
            await asyncio.sleep(delay)
        return response
