"""A failed CSRF check in words: JSON for the API (under /api/, or a JSON endpoint its
description lists, `POST /watchlist`: `{"code": "csrf"}`; an API token's write is
`token_read_only`), Django's page for pages (`CSRF_FAILURE_VIEW`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.csrf import csrf_failure as page_failure

from streaming.api import errors
from streaming.api.views import is_api_request
from streaming.tabs.bearer import SCOPE_KEY


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if not is_api_request(request):
        return page_failure(request, reason)
    if getattr(request, SCOPE_KEY, None) is not None:
        return errors.token_read_only()
    return errors.sentence_error(
        403,
        "This request lacks this page's CSRF token; reload the page and try again.",
        code="csrf",
    )
