"""Portfolio limits over HTTP: `/settings/limits` (the page) and `/api/risk/limits`.

Thin: the body is read safely (request_body.py), checked (limits/input.py), stored
(limits/store.py), and a save tells the user's stream owner (limits/owner.py),
so evaluation changes at once (docs/streaming-contract.md "Portfolio limits").
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from streaming.api import errors
from streaming.cluster.agents import agents_of
from streaming.request_body import BodyError, json_body
from streaming.risk.limits import store as limits_store
from streaming.risk.limits.input import FIELDS, MAX_BODY_BYTES, LimitInputError, parse_limits
from streaming.risk.limits.owner import limits_changed
from streaming.risk.limits.rules import BAND_HYSTERESIS, BAND_HYSTERESIS_MIN


async def api_limits(request: HttpRequest) -> JsonResponse:
    """`GET` the user's limits; `PUT` some of them (400 with a sentence if refused)."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    if request.method == "GET":
        return JsonResponse(dict(await database_sync_to_async(limits_store.limits_get)(user.id)))
    if request.method != "PUT":
        return JsonResponse({"error": "use GET or PUT"}, status=405)
    try:
        body: Any = json_body(request, limit=MAX_BODY_BYTES)
        values = parse_limits(body)
        saved = await database_sync_to_async(limits_store.limits_save)(user.id, values)
    except (BodyError, LimitInputError) as exc:
        return errors.sentence_error(400, str(exc))
    await limits_changed(agents_of(request), user.id)
    return JsonResponse(dict(saved))


def _form_values(post: Any) -> dict[str, float | str | None]:
    """The form's fields as the API's body: empty is null, else a number (or the text,
    refused by `parse_limits` with its sentence)."""
    values: dict[str, float | str | None] = {}
    for name in FIELDS:
        text = str(post.get(name, "")).strip()
        try:
            values[name] = None if not text else float(text)
        except ValueError:
            values[name] = text
    return values


@login_required
def limits_page(request: HttpRequest) -> HttpResponse:
    """The limits as a form: saved by static/js/risk/limits-form.js through the API, or
    posted here without the script."""
    error = ""
    user_id = request.user.pk
    assert user_id is not None  # login_required
    if request.method == "POST":
        try:
            limits_store.limits_save(user_id, parse_limits(_form_values(request.POST)))
        except LimitInputError as exc:
            error = str(exc)
        else:
            async_to_sync(limits_changed)(agents_of(request), user_id)
            return redirect("limits-settings")
    return render(
        request,
        "streaming/limits.html",
        {
            "limits": limits_store.limits_get(user_id),
            "error": error,
            "hysteresis_pct": BAND_HYSTERESIS * 100,
            "hysteresis_min": BAND_HYSTERESIS_MIN,
        },
        status=400 if error else 200,
    )
