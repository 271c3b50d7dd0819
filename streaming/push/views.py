"""Web Push over HTTP: `/api/push/key`, `/api/push/subscriptions`, `/api/push/test`, the
devices page, and what makes the app installable (`/manifest.webmanifest`, `/sw.js`,
`/offline`). Thin: bodies read safely, checked (input.py), stored (store.py); the sender
is woken for a test push (docs/streaming-contract.md "Push and e-mail")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.cache import cache_control

from accounts.notification_settings import notification_settings_get
from streaming.api import errors
from streaming.push import keys, store
from streaming.push.input import PushInputError, parse_subscription
from streaming.push.sender import push_sender_of
from streaming.request_body import BodyError, json_body

MAX_BODY_BYTES = 4096


def _error(code: str, message: str, status: int = 400) -> JsonResponse:
    return errors.sentence_error(status, message, code=code)


def _body(request: HttpRequest) -> Any:
    try:
        return json_body(request, limit=MAX_BODY_BYTES)
    except BodyError as exc:
        raise PushInputError("bad_body", str(exc)) from None


def _public_key() -> str:
    return keys.public_key(keys.vapid())


async def api_push_key(request: HttpRequest) -> JsonResponse:
    """`GET` the VAPID application server key a browser subscribes with."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    if request.method != "GET":
        return JsonResponse({"error": "use GET"}, status=405)
    return JsonResponse({"public_key": await database_sync_to_async(_public_key)()})


async def api_push_subscriptions(request: HttpRequest) -> HttpResponse:
    """`GET` the user's devices, `POST` a browser's subscription, `DELETE` one by endpoint."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    if request.method == "GET":
        devices = await database_sync_to_async(store.device_list)(user.id)
        return JsonResponse({"subscriptions": devices})
    try:
        body = _body(request)
        if request.method == "POST":
            sub = parse_subscription(body, debug=settings.DEBUG)
            device, created = await database_sync_to_async(store.device_subscribe)(user.id, sub)
            return JsonResponse({"subscription": device}, status=201 if created else 200)
        if request.method == "DELETE":
            body = body if isinstance(body, dict) else {}
            if "id" in body:  # the devices page removes a device by its id
                removed = await database_sync_to_async(store.device_remove_by_id)(
                    user.id, body["id"]
                )
            else:  # a browser unsubscribing itself names its endpoint
                removed = await database_sync_to_async(store.device_remove)(
                    user.id, body.get("endpoint")
                )
            if removed:
                return HttpResponse(status=204)
            return _error("not_found", "No such device of yours.", 404)
    except PushInputError as exc:
        return _error(exc.code, exc.message, exc.status)
    return JsonResponse({"error": "use GET, POST or DELETE"}, status=405)


async def api_push_test(request: HttpRequest) -> JsonResponse:
    """`POST {"id"}`: a test push to that device (202: written to the outbox)."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    if request.method != "POST":
        return JsonResponse({"error": "use POST"}, status=405)
    try:
        body = _body(request)
    except PushInputError as exc:
        return _error(exc.code, exc.message)
    device_id = body.get("id") if isinstance(body, dict) else None
    event = await database_sync_to_async(store.test_push)(user.id, device_id)
    if event is None:
        return _error("not_found", "No such device of yours.", 404)
    push_sender_of(request).kick()
    return JsonResponse({"id": event}, status=202)


@login_required
def devices_page(request: HttpRequest) -> HttpResponse:
    """`/settings/notifications`: this user's devices (none: said in words), pushes on this
    one, a test, and the notification settings `push`, `email` and `pnl_all_day`, rendered
    as saved (a box the page's script has not yet taken is disabled: a click on it would be
    lost)."""
    has_email = bool(getattr(request.user, "email", ""))
    user_id = request.user.pk
    assert user_id is not None  # login_required
    saved = notification_settings_get(user_id=user_id)
    has_devices = bool(store.device_list(user_id))
    return render(
        request,
        "streaming/notification_devices.html",
        {"has_email": has_email, "saved": saved, "has_devices": has_devices},
    )


#: The service worker, served from the root so that its scope is every page.
SERVICE_WORKER = Path(__file__).resolve().parents[2] / "static" / "js" / "push" / "sw.js"


@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    """`/sw.js` (no login: the browser fetches it to check for updates)."""
    return HttpResponse(SERVICE_WORKER.read_bytes(), content_type="text/javascript")


def manifest(request: HttpRequest) -> JsonResponse:
    """`/manifest.webmanifest`: what makes the app installable (Add to Home Screen)."""
    return JsonResponse(
        {
            "id": "/",
            "name": "streamdesk",
            "short_name": "streamdesk",
            "description": "Your brokerage accounts, live, on one screen.",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#111827",
            "theme_color": "#111827",
            "icons": [
                {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
                {
                    "src": static("img/icon-512.png"),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        },
        content_type="application/manifest+json",
    )


def offline_page(request: HttpRequest) -> HttpResponse:
    """`/offline`: what the service worker shows when the server cannot be reached (kept
    at install; no login, no live value: nothing in it can be stale)."""
    return render(request, "streaming/offline.html")
