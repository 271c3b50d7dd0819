"""A user's API tokens page (`/settings/tokens`): list, create (the secret shown once),
revoke; their display preferences (`/settings/display`, `/api/preferences`) and their
notification settings' API. Thin: the work is accounts/tokens.py,
accounts/display_preferences.py and accounts/notification_settings.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.display_preferences import (
    MAX_PREFERENCES_BODY_BYTES,
    DisplayPreferencesError,
    display_preferences_get,
    display_preferences_update,
    time_zones,
)
from accounts.forms import ApiTokenCreateForm
from accounts.models import ApiToken
from accounts.notification_settings import (
    MAX_SETTINGS_BODY_BYTES,
    NotificationSettingsError,
    notification_settings_get,
    notification_settings_update,
)
from accounts.signed_in import signed_in
from accounts.tokens import ApiTokenError, api_token_create, api_token_list, api_token_revoke
from streaming.api import errors
from streaming.request_body import BodyError, json_body

#: A user's settings as their selector reads them and their service stores them.
Settings = TypeVar("Settings", bound=Mapping[str, object])


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """GET: the user's tokens and a form for a new one. POST: create one, and show the
    whole token on this response only (never stored, never shown again; the response
    is not cached)."""
    new_token = None
    if request.method == "POST":
        form = ApiTokenCreateForm(request.POST)
        if form.is_valid():
            try:
                new_token = api_token_create(
                    user=signed_in(request.user),
                    name=form.cleaned_data["name"],
                    lifetime_days=form.cleaned_data["lifetime_days"],
                )
            except ApiTokenError as exc:
                form.add_error(None, str(exc))
            else:
                form = ApiTokenCreateForm()
    else:
        form = ApiTokenCreateForm()
    now = timezone.now()
    tokens = [
        (token, token.state_at(now)) for token in api_token_list(user_id=signed_in(request.user).pk)
    ]
    response = render(
        request,
        "accounts/api_tokens.html",
        {"form": form, "tokens": tokens, "new_token": new_token},
        status=400 if request.method == "POST" and new_token is None else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the user's own tokens (another user's: 404)."""
    token = get_object_or_404(ApiToken, pk=token_id, user_id=signed_in(request.user).pk)
    if api_token_revoke(token=token, by=signed_in(request.user)):
        messages.success(request, f"“{token.name}” is revoked; its open streams close now.")
    return redirect("api-tokens")


def _settings_api(
    request: HttpRequest,
    read: Callable[..., Settings],
    update: Callable[..., Settings],
    *,
    limit: int,
    refused: type[ValueError],
) -> JsonResponse:
    """A user's settings as an API: `GET` them, `PUT` some of them (answered with all).
    Session and CSRF like the other APIs; anonymous → 403, a bad body → 400, each as JSON
    `{"error": …, "message": …}`."""
    if not request.user.is_authenticated:
        return errors.not_authenticated()
    if request.method == "GET":
        return JsonResponse(read(user_id=request.user.pk))
    try:
        changes = json_body(request, limit=limit)
        stored = update(user_id=request.user.pk, changes=changes)
    except (BodyError, refused) as exc:
        return errors.sentence_error(400, str(exc))
    return JsonResponse(stored)


@require_http_methods(["GET", "PUT"])
def notification_settings(request: HttpRequest) -> JsonResponse:
    """The user's notification settings: `PUT` `{"fills": false, …}` (booleans)."""
    return _settings_api(
        request,
        notification_settings_get,
        notification_settings_update,
        limit=MAX_SETTINGS_BODY_BYTES,
        refused=NotificationSettingsError,
    )


@require_http_methods(["GET", "PUT"])
def preferences(request: HttpRequest) -> JsonResponse:
    """The user's display preferences: `PUT` `{"flashes": false, …}`."""
    return _settings_api(
        request,
        display_preferences_get,
        display_preferences_update,
        limit=MAX_PREFERENCES_BODY_BYTES,
        refused=DisplayPreferencesError,
    )


@login_required
@require_http_methods(["GET", "POST"])
def display_settings(request: HttpRequest) -> HttpResponse:
    """The display preferences as a form: flashes on or off, the time zone (New York's
    until the trader picks another). A refused value is said on the page; the sorts are set
    by clicking column headers."""
    error = ""
    if request.method == "POST":
        changes = {
            "flashes": request.POST.get("flashes") == "on",
            "time_zone": request.POST.get("time_zone", ""),
        }
        try:
            display_preferences_update(user_id=signed_in(request.user).pk, changes=changes)
        except DisplayPreferencesError as exc:
            error = str(exc)
        else:
            messages.success(request, "Display preferences saved.")
            return redirect("display-settings")
    prefs = display_preferences_get(user_id=signed_in(request.user).pk)
    return render(
        request,
        "accounts/display_settings.html",
        {"prefs": prefs, "time_zones": time_zones(), "error": error},
        status=400 if error else 200,
    )
