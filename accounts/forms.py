"""The admin form for broker links: secrets are write-only and saved through the services."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import BrokerLink
from accounts.services import broker_link_create, broker_link_set_secrets, broker_link_update

ADD_HELP = "Required. Write-only: it is stored encrypted and never shown again."
CHANGE_HELP = "Write-only: leave blank to keep the stored value; type a new one to replace it."


def _secret_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class BrokerLinkAdminForm(forms.ModelForm):
    """Adds a link (both secrets required) or changes one (blank secret = keep).

    The secret inputs are never prefilled and never rendered back, even on errors.
    """

    provider_secret = _secret_field("Provider secret")
    refresh_token = _secret_field("Refresh token")

    class Meta:
        model = BrokerLink
        fields = ["user", "broker", "label", "enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adding = self.instance.pk is None
        for name in ("provider_secret", "refresh_token"):
            self.fields[name].required = adding
            self.fields[name].help_text = ADD_HELP if adding else CHANGE_HELP

    def save(self, commit: bool = True) -> BrokerLink:
        """Create or update through `accounts.services` (always saved, whatever `commit`)."""
        data = self.cleaned_data
        if self.instance.pk is None:
            link = broker_link_create(
                user=data["user"],
                broker=data["broker"],
                label=data["label"],
                provider_secret=data["provider_secret"],
                refresh_token=data["refresh_token"],
                enabled=data.get("enabled", True),
            )
        else:
            link = broker_link_update(
                link=self.instance, label=data.get("label"), enabled=data.get("enabled")
            )
            link = broker_link_set_secrets(
                link=link,
                provider_secret=data.get("provider_secret") or None,
                refresh_token=data.get("refresh_token") or None,
            )
        self.instance = link
        self.save_m2m = self._save_m2m
        return link
