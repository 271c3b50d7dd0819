"""Admin for users' API tokens: see them, revoke them.

A broker link's admin page verifies the link at its broker, so it registers from
streaming/links/admin.py; the trading switches and audit trail from streaming/trading/admin.py.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import ApiToken
from accounts.signed_in import signed_in
from accounts.tokens import api_token_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Users' API tokens: see them, revoke them (staff cannot create one for a user: the
    secret is shown only to whoever creates it)."""

    list_display = [
        "name",
        "user",
        "token_display",
        "created_at",
        "expires_at",
        "last_used_at",
        "state_display",
        "revoked_by",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "expires_at", "created_at"]
    search_fields = ["user__username", "name", "prefix"]
    list_select_related = ["user", "revoked_by"]
    actions = ["revoke_selected"]
    fields = (
        "user",
        "name",
        "token_display",
        "created_at",
        "expires_at",
        "last_used_at",
        "state_display",
        "revoked_at",
        "revoked_by",
    )
    readonly_fields = fields

    @admin.display(description="token")
    def token_display(self, token: ApiToken) -> str:
        return f"sdt_{token.prefix}_…"

    @admin.display(description="state")
    def state_display(self, token: ApiToken) -> str:
        return token.state_at(timezone.now())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        # viewing needs no change right; revoking does (the action checks it)
        return super().has_change_permission(request, obj) and obj is None

    @admin.action(description="Revoke selected tokens (their open streams close)")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        if not super().has_change_permission(request):
            raise PermissionDenied
        revoked = sum(
            api_token_revoke(token=token, by=signed_in(request.user)) for token in queryset
        )
        self.message_user(request, f"{revoked} token(s) revoked.", level=messages.SUCCESS)
