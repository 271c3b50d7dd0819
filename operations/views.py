"""Probes for load balancers and operators: liveness and readiness (no data, no login),
and the Prometheus metrics (staff or the metrics token)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from . import metrics as prometheus
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


@never_cache
async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format for `Authorization: Bearer <METRICS_TOKEN>` or a staff
    session; 403 for a logged-in non-staff user, 401 for anyone else (a wrong token too)."""
    token = prometheus.bearer_token(request)
    if not prometheus.token_allowed(token):
        user = await request.auser()
        if token is not None or not user.is_staff:
            status = 403 if token is None and user.is_authenticated else 401
            response = JsonResponse({"error": "forbidden" if status == 403 else "unauthorized"})
            response.status_code = status
            if status == 401:
                response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    body = await sync_to_async(prometheus.exposition, thread_sensitive=False)()
    return HttpResponse(body, content_type=prometheus.CONTENT_TYPE)
