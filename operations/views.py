"""What operators ask: liveness and readiness for load balancers (no data, no login), the
Prometheus metrics (staff or the metrics token) and the staff's stream-health view."""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from streaming.api import errors
from streaming.cluster.agents import agents_of

from . import metrics as prometheus
from . import readiness
from .stream_health import HealthUnavailable, stream_health

log = logging.getLogger(__name__)

#: How often the stream-health page asks for fresh data (ms): owners rewrite their
#: reports every 2 s and on every visible change.
POLL_MS = 2000


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
            if token is None and user.is_authenticated:
                return errors.error_response(403, "forbidden", "Only staff may read the metrics.")
            return errors.error_response(
                401,
                "unauthorized",
                "Send the metrics token (Authorization: Bearer <METRICS_TOKEN>), or log in as "
                "staff.",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    body = await sync_to_async(prometheus.exposition, thread_sensitive=False)()
    return HttpResponse(body, content_type=prometheus.CONTENT_TYPE)


async def _staff_check(request: HttpRequest, *, json: bool) -> HttpResponse | None:
    """None for staff; otherwise the answer (the page sends an anonymous visitor to
    the login, JSON answers 401; a logged-in user who is not staff gets 403)."""
    user = await request.auser()
    if not user.is_authenticated:
        if json:
            return errors.error_response(
                401, "login required", "Log in as staff to read the streams' health."
            )
        return redirect_to_login(request.get_full_path())
    if not user.is_staff:
        if json:
            return errors.error_response(
                403, "staff only", "Only staff may read the streams' health."
            )
        return HttpResponseForbidden("Staff only.")
    return None


def _failing_only(request: HttpRequest) -> bool:
    return request.GET.get("failing") in ("1", "true", "on")


@never_cache
async def stream_health_page(request: HttpRequest) -> HttpResponse:
    """The staff's stream-health view: the page, with the data it starts from."""
    if (denied := await _staff_check(request, json=False)) is not None:
        return denied
    failing_only = _failing_only(request)
    try:
        data, status, problem = (
            await stream_health(agents_of(request), failing_only=failing_only),
            200,
            "",
        )
    except HealthUnavailable as exc:
        log.warning("stream health: %s", exc)
        data, status, problem = {"users": [], "failing_only": failing_only}, 503, str(exc)
    context = {"data": data, "failing_only": failing_only, "poll_ms": POLL_MS, "problem": problem}
    response = await sync_to_async(render)(request, "operations/stream_health.html", context)
    response.status_code = status
    return response


@never_cache
async def stream_health_json(request: HttpRequest) -> HttpResponse:
    """What the page polls every POLL_MS: the same data as JSON."""
    if (denied := await _staff_check(request, json=True)) is not None:
        return denied
    try:
        return JsonResponse(
            await stream_health(agents_of(request), failing_only=_failing_only(request))
        )
    except HealthUnavailable as exc:
        log.warning("stream health: %s", exc)
        return errors.sentence_error(503, str(exc))
