"""`GET /api/schema` (the description, as JSON), and Django's error handlers: JSON for the
API (under /api/, or a route the description lists), Django's pages for everything else
(config/urls.py names them `handler400` … `handler500`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from streaming.api import errors
from streaming.api.description import description_json, is_api_path, is_api_route

#: OpenAPI's media type for its JSON documents (the OpenAPI Initiative's registration).
SCHEMA_MEDIA_TYPE = "application/vnd.oai.openapi+json"


async def schema(request: HttpRequest) -> HttpResponse:
    """The API's description (no login: it holds no data), cacheable for a minute; its
    methods, as every described route's, are the middleware's to check."""
    response = HttpResponse(description_json(), content_type=SCHEMA_MEDIA_TYPE)
    response["Cache-Control"] = "public, max-age=60"
    return response


def is_api_request(request: HttpRequest) -> bool:
    """A request whose answers are JSON: under /api/, or to a route the description lists."""
    match = getattr(request, "resolver_match", None)
    return is_api_path(request.path) or is_api_route(match.route if match else None)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return errors.bad_request()
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return errors.forbidden()
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_request(request):
        return errors.not_found(request.path)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return errors.server_error()
    return defaults.server_error(request)
