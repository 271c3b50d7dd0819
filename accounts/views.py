"""A user's API tokens page (`/settings/tokens`): list, create (the secret shown once),
revoke. Thin: the work is accounts/tokens.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import ApiTokenCreateForm
from accounts.models import ApiToken
from accounts.tokens import ApiTokenError, api_token_create, api_token_revoke, api_tokens_for_user


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
                    user=request.user,
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
        (token, token.state_at(now)) for token in api_tokens_for_user(user_id=request.user.pk)
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
    token = get_object_or_404(ApiToken, pk=token_id, user_id=request.user.pk)
    if api_token_revoke(token=token, by=request.user):
        messages.success(request, f"“{token.name}” is revoked; its open streams close now.")
    return redirect("api-tokens")
