"""Thin page views; the live data arrives over the websocket."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The dashboard page (filled in by the live dashboard work)."""
    return render(request, "streaming/home.html")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness probe for a proxy or an operator: the process answers HTTP."""
    return JsonResponse({"status": "ok"})
