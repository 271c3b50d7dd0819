"""Django's own 405 to the API, as JSON: `require_http_methods` and its kin answer an empty
`text/html` 405 (`HttpResponseNotAllowed`); to a request for the API (streaming/api/views.py
`is_api_request`) it becomes the API's 405 with a sentence, its `Allow` kept. A view's own
405 is JSON already and passes as it is. Sync or async as the handler around it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed

from streaming.api import errors
from streaming.api.views import is_api_request


def json_not_allowed(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """`response`, or the JSON 405 naming the same methods when it is Django's own."""
    if not isinstance(response, HttpResponseNotAllowed) or not is_api_request(request):
        return response
    methods = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
    return errors.method_not_allowed(request.path, request.method or "", methods)


class ApiErrorsMiddleware:
    """`json_not_allowed` for every response."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self._acall(request)
        return json_not_allowed(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        return json_not_allowed(request, await get_response(request))
