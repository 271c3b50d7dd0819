"""Probes for load balancers and operators: liveness and readiness. No data, no login."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from . import readiness


@never_cache
def health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers HTTP (restart it if not)."""
    return JsonResponse({"status": "ok"})


@never_cache
async def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database, Redis and the channel layer answer in time;
    503 naming each failing part otherwise (take the process out of rotation)."""
    results = await readiness.report()
    failing = [part for part, reason in results.items() if reason is not None]
    body = {
        "status": "unavailable" if failing else "ready",
        "checks": {part: reason or "ok" for part, reason in results.items()},
        "failing": failing,
    }
    return JsonResponse(body, status=503 if failing else 200)
