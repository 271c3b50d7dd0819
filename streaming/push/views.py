"""Web Push over HTTP: `/api/push/key`, `/api/push/subscriptions`, `/api/push/test`.
Thin: bodies read safely, checked (input.py), stored (store.py); the sender is woken for
a test push (docs/streaming-contract.md "Push and e-mail")."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from streaming.push import keys, store
from streaming.push.input import PushInputError, parse_subscription
from streaming.push.sender import sender
from streaming.request_body import BodyError, json_body

MAX_BODY_BYTES = 4096


def _error(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message, "code": code}, status=status)


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
        return JsonResponse({"error": "not_authenticated"}, status=403)
    if request.method != "GET":
        return JsonResponse({"error": "use GET"}, status=405)
    return JsonResponse({"public_key": await database_sync_to_async(_public_key)()})


async def api_push_subscriptions(request: HttpRequest) -> HttpResponse:
    """`GET` the user's devices, `POST` a browser's subscription, `DELETE` one by endpoint."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=403)
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
            endpoint = body.get("endpoint") if isinstance(body, dict) else None
            if await database_sync_to_async(store.device_remove)(user.id, endpoint):
                return HttpResponse(status=204)
            return _error("not_found", "No such device of yours.", 404)
    except PushInputError as exc:
        status = 409 if exc.code == "too_many_devices" else 400
        return _error(exc.code, exc.message, status)
    return JsonResponse({"error": "use GET, POST or DELETE"}, status=405)


async def api_push_test(request: HttpRequest) -> JsonResponse:
    """`POST {"id"}`: a test push to that device (202: written to the outbox)."""
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=403)
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
    sender.kick()
    return JsonResponse({"id": event}, status=202)
