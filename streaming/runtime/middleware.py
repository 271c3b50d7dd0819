"""A middleware that finishes every response on the request's own path: sync or async as
the handler around it is.

Django's `MiddlewareMixin` runs a `process_response` in its one shared thread under ASGI
(a thread hop per response, and every page of the process waiting in line for it); a
subclass here says only what it does to a response (`finish`), and runs it where the
response is: in the event loop under daphne, inline under a sync handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase


class ResponseMiddleware:
    """`finish(request, response)` for every response (subclasses say what it does); async
    when the handler it wraps is."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        raise NotImplementedError

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self._acall(request)
        return self.finish(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        return self.finish(request, await get_response(request))
