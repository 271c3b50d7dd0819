"""A failed CSRF check in words: JSON for the API (`{"code": "csrf"}`; an API token's
write is `token_read_only`), Django's page for pages (`CSRF_FAILURE_VIEW`)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as page_failure

from streaming.tabs.bearer import SCOPE_KEY


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if not request.path.startswith("/api/"):
        return page_failure(request, reason)
    if getattr(request, SCOPE_KEY, None) is not None:
        return JsonResponse({"error": "token_read_only"}, status=403)
    return JsonResponse(
        {
            "error": "This request lacks this page's CSRF token; reload the page and try again.",
            "code": "csrf",
        },
        status=403,
    )
