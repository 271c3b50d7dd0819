"""Trading in the admin: staff see every user's trading switch and limits, pull a user's
kill switch, and read — never change — the audit trail.

A link's own trading switch and limits are on the link's admin page (its form:
`accounts.forms.BrokerLinkTradingForm`). The kill switch itself lives with order entry
(`streaming.trading.cancels.kill_switch`, imported where it is used, so the admin loads
without the order machinery).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asgiref.sync import async_to_sync
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from streaming.models import TradingAudit, TradingProfile
from streaming.trading.shapes import SweepResult


def _result_words(result: SweepResult) -> str:
    """One broker link's kill switch result (the contract's `result`) in words."""
    where = f"{result.get('broker', '')} · {result.get('label', '')}"
    if result.get("account"):
        where += f" {result['account']}"
    if result.get("error"):
        return f"{where}: {result['error']}"
    cancelled = list(result.get("cancelled") or [])
    failed = list(result.get("failed") or [])
    words = f"{len(cancelled)} order(s) cancelled" if cancelled else "no working order"
    if cancelled:
        words += f" ({', '.join(str(c) for c in cancelled)})"
    if failed:
        words += "; not cancelled: " + ", ".join(
            f"{f.get('order_id')} ({f.get('error')})" for f in failed
        )
    return f"{where}: {words}"


def kill_switch_words(username: str, answer: Mapping[str, Any]) -> tuple[int, str]:
    """(message level, sentence) for one user's kill switch answer."""
    results = list(answer.get("results") or [])
    failed = any(r.get("error") or r.get("failed") for r in results)
    per_broker = "; ".join(_result_words(r) for r in results) or "No linked broker"
    text = f"Kill switch for {username}: trading is off. {per_broker.rstrip('.')}."
    return (messages.ERROR if failed else messages.SUCCESS), text


@admin.register(TradingProfile)
class TradingProfileAdmin(admin.ModelAdmin):
    """Each user's trading switch (read-only: only they turn it on) and own limits."""

    list_display = [
        "user",
        "on_display",
        "granted_until",
        "granted_with",
        "killed_at",
        "max_order_notional",
        "max_orders_per_minute",
    ]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    actions = ["kill_switch_selected"]
    fields = [
        "user",
        "granted_until",
        "granted_with",
        "killed_at",
        "max_order_notional",
        "max_orders_per_minute",
        "updated_at",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fixed = ["granted_until", "granted_with", "killed_at", "updated_at"]
        return ["user", *fixed] if obj is not None else fixed

    @admin.display(description="trading on", boolean=True)
    def on_display(self, profile: TradingProfile) -> bool:
        return bool(profile.granted_until and profile.granted_until > timezone.now())

    @admin.action(
        description="Kill switch: cancel every working order at every broker, trading off",
        permissions=["change"],
    )
    def kill_switch_selected(
        self, request: HttpRequest, queryset: QuerySet[TradingProfile]
    ) -> None:
        from streaming.cluster.agents import agents_of
        from streaming.trading.cancels import kill_switch

        staff = request.user.get_username()
        for profile in queryset.select_related("user").order_by("pk"):
            answer = async_to_sync(kill_switch)(
                agents_of(request), profile.user_id, request=request, staff=staff
            )
            level, text = kill_switch_words(profile.user.get_username(), answer)
            self.message_user(request, text, level=level)


@admin.register(TradingAudit)
class TradingAuditAdmin(admin.ModelAdmin):
    """The audit trail, read-only for staff: append-only, so no add, change or delete."""

    list_display = ["at", "user", "actor", "action", "link_label", "account", "outcome", "ip"]
    list_filter = ["action", "user"]
    search_fields = ["user__username", "actor", "account", "shown", "outcome"]
    list_select_related = ["user"]
    date_hierarchy = "at"
    fields = (
        "at",
        "user",
        "actor",
        "action",
        "link_id",
        "link_label",
        "account",
        "ticket",
        "ip",
        "session",
        "shown",
        "said",
        "outcome",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
