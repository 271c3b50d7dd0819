"""The API's methods, and Django's own 405 to the API, as JSON.

- A request to a route the description lists (streaming/api/openapi.yaml) with a method it
  does not list is answered 405 before the view runs (and before the token, CSRF and
  login checks: a method is the resource's to refuse), `Allow` naming the ones it lists.
  The description is the API's table of methods; the fuzz (tests/e2e/test_api_fuzz.py)
  finds a method listed that a view does not take.
- `require_http_methods` and its kin answer an empty `text/html` 405
  (`HttpResponseNotAllowed`); to a request for the API (streaming/api/views.py
  `is_api_request`) it becomes the API's 405 with a sentence, its `Allow` kept.

Sync or async as the handler around it is (streaming/runtime/middleware.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.http import HttpRequest, HttpResponseBase, HttpResponseNotAllowed

from streaming.api import errors
from streaming.api.description import described_methods
from streaming.api.views import is_api_request
from streaming.runtime.middleware import ResponseMiddleware


def method_refused(request: HttpRequest) -> HttpResponseBase | None:
    """The 405 for a method the description does not list for the request's route; None
    for any other request (a page's route, a method listed)."""
    match = request.resolver_match
    methods = described_methods(match.route) if match is not None else None
    if methods is None or request.method in methods:
        return None
    return errors.method_not_allowed(request.path, request.method or "", methods)


def json_not_allowed(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """`response`, or the JSON 405 naming the same methods when it is Django's own."""
    if not isinstance(response, HttpResponseNotAllowed) or not is_api_request(request):
        return response
    methods = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
    return errors.method_not_allowed(request.path, request.method or "", methods)


class ApiErrorsMiddleware(ResponseMiddleware):
    """`method_refused` before the view, `json_not_allowed` after it."""

    def finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        return json_not_allowed(request, response)

    async def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: Mapping[str, object],
    ) -> HttpResponseBase | None:
        return method_refused(request)
