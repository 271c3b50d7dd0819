"""Broker links in the admin: staff link an account, verify it at its broker, see its state
and set its trading switch and limits; secrets are write-only.

Registered here, not in `accounts`, because verifying logs in at the broker
(`streaming/links/verify.py`); the page's URLs stay the model's (`admin:accounts_brokerlink_…`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import Script
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from accounts.broker_help import broker_help, environment_help
from accounts.forms import (
    LINK_TRADING_FIELDS,
    LINK_TRADING_HELP,
    BrokerLinkAdminForm,
    BrokerLinkTradingForm,
)
from accounts.models import BrokerLink
from streaming.links.verify import broker_link_verify


def _report_verification(
    model_admin: admin.ModelAdmin, request: HttpRequest, link: BrokerLink
) -> None:
    """One message for one verify outcome: success, or the readable error at level ERROR."""
    if link.status == BrokerLink.Status.VERIFIED:
        numbers = ", ".join(link.account_numbers) or "none"
        model_admin.message_user(
            request,
            f"“{link.label}” verified: {len(link.account_numbers)} account(s) ({numbers}).",
            level=messages.SUCCESS,
        )
    else:
        model_admin.message_user(
            request, f"“{link.label}” failed verification: {link.last_error}", level=messages.ERROR
        )


@admin.register(BrokerLink)
class BrokerLinkAdmin(admin.ModelAdmin):
    """Broker links. The secret fields only ever accept input; nothing decrypted is shown."""

    form = BrokerLinkTradingForm

    class Media:
        js = [Script("js/admin/broker-link-form.js", type="module")]

    list_display = [
        "user",
        "broker",
        "label",
        "environment_badge",
        "status",
        "account_numbers_display",
        "last_verified_at",
        "last_error_display",
        "trading_enabled",
    ]
    list_filter = ["broker", "alpaca_api", "status", "environment", "trading_enabled"]
    search_fields = ["user__username", "label"]
    list_select_related = ["user"]
    actions = ["verify_selected"]
    # The top submit row makes "Save" the form's default (Enter) button, not "Verify".
    save_on_top = True
    state_fields = [
        "environment_badge",
        "status",
        "account_numbers_display",
        "last_verified_at",
        "last_error",
    ]

    # ------------------------------------------------------------------ layout

    def get_readonly_fields(self, request: HttpRequest, obj: BrokerLink | None = None) -> list:
        if obj is None:
            return ["environment_badge"]
        return ["user", "broker", *self.state_fields, "verify_button"]

    def get_fieldsets(self, request: HttpRequest, obj: BrokerLink | None = None) -> list:
        if obj is None:
            # One section per broker: its secrets (and, for Alpaca, which API they are
            # for) with where they come from; static/js/admin/ shows the chosen one only.
            per_broker = [
                (
                    f"{BrokerLink.Broker(broker).label}: credentials (write-only)",
                    {
                        "fields": [*(["alpaca_api"] if broker == "alpaca" else []), *names],
                        "classes": ["broker-fields", f"broker-{broker}"],
                        "description": broker_help(broker),
                    },
                )
                for broker, names in BrokerLink.SECRET_FIELDS.items()
            ]
            main = ["user", "broker", "label", "enabled", "environment_badge"]
            # trading is enabled on a saved link, from its change page
            return [(None, {"fields": main, "description": environment_help()}), *per_broker]
        alpaca = ["alpaca_api"] if obj.broker == BrokerLink.Broker.ALPACA else []
        return [
            (None, {"fields": ["user", "broker", "label", "enabled", *alpaca]}),
            (
                "Credentials (write-only)",
                {
                    "fields": list(BrokerLink.SECRET_FIELDS[obj.broker]),
                    "description": broker_help(obj.broker),
                },
            ),
            self.trading_fieldset,
            ("State", {"fields": [*self.state_fields, "verify_button"]}),
        ]

    #: Staff's trading switch and limits for the link (accounts/forms.py).
    trading_fieldset = (
        "Trading",
        {"fields": LINK_TRADING_FIELDS, "description": LINK_TRADING_HELP},
    )

    @admin.display(description="Environment", ordering="environment")
    def environment_badge(self, obj: BrokerLink | None) -> str:
        simulated = obj.is_simulated if obj is not None else self._new_link_simulated()
        text, colour = ("SIMULATED", "#b45309") if simulated else ("LIVE", "#15803d")
        return format_html(
            '<span style="padding:1px 6px;border-radius:3px;color:#fff;'
            'background:{};font-weight:bold">{}</span>',
            colour,
            text,
        )

    @staticmethod
    def _new_link_simulated() -> bool:
        from django.conf import settings

        return settings.BROKER_ENV == BrokerLink.Environment.SANDBOX

    @admin.display(description="Account numbers")
    def account_numbers_display(self, obj: BrokerLink) -> str:
        return ", ".join(obj.account_numbers or []) or "—"

    @admin.display(description="Last error")
    def last_error_display(self, obj: BrokerLink) -> str:
        return Truncator(obj.last_error).chars(80) if obj.last_error else ""

    @admin.display(description="Verify")
    def verify_button(self, obj: BrokerLink) -> str:
        url = reverse("admin:accounts_brokerlink_verify", args=[obj.pk])
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post" '
            "formnovalidate>Verify now</button>"
            '<div class="help">Logs in with the saved credentials (save changes first).</div>',
            url,
        )

    # ------------------------------------------------------------------ saving

    def save_form(self, request: HttpRequest, form: BrokerLinkAdminForm, change: bool) -> Any:
        # The form saves through accounts.services; nothing is left for save_model.
        return form.save()

    def save_model(
        self, request: HttpRequest, obj: BrokerLink, form: BrokerLinkAdminForm, change: bool
    ) -> None:
        pass

    # ------------------------------------------------------------------ verify

    @admin.action(description="Verify selected links", permissions=["change"])
    def verify_selected(self, request: HttpRequest, queryset: QuerySet[BrokerLink]) -> None:
        for link in queryset.order_by("pk"):
            _report_verification(self, request, broker_link_verify(link=link))

    def get_urls(self) -> list[URLPattern]:
        verify = path(
            "<int:object_id>/verify/",
            self.admin_site.admin_view(self.verify_view),
            name="accounts_brokerlink_verify",
        )
        return [verify, *super().get_urls()]

    def verify_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """POST only (CSRF-checked by admin_view): verify one link, back to its page."""
        return require_POST(self._verify_view)(request, object_id)

    def _verify_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        link = get_object_or_404(BrokerLink, pk=object_id)
        if not self.has_change_permission(request, link):
            raise PermissionDenied
        _report_verification(self, request, broker_link_verify(link=link))
        return HttpResponseRedirect(reverse("admin:accounts_brokerlink_change", args=[link.pk]))
