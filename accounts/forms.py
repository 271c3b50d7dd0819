"""Forms: the admin's for broker links (secrets write-only, saved through the services),
and a user's for a new API token."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import BrokerLink
from accounts.services import broker_link_create, broker_link_set_secrets, broker_link_update
from accounts.tokens import LIFETIME_CHOICES
from accounts.tokens import MAX_NAME_LENGTH as MAX_TOKEN_NAME_LENGTH

ADD_HELP = "Write-only: it is stored encrypted and never shown again."
CHANGE_HELP = "Write-only: leave blank to keep the stored value; type a new one to replace it."


def _secret_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


#: Labels of every broker's secret inputs (names are `BrokerLink.SECRET_FIELDS`).
SECRET_LABELS = {
    "provider_secret": "Provider secret (tastytrade OAuth client secret)",
    "refresh_token": "Refresh token (tastytrade)",
    "access_token": "Access token (Tradier)",
    "key_id": "API key id (Alpaca)",
    "secret_key": "API secret key (Alpaca)",
}


class BrokerLinkAdminForm(forms.ModelForm):
    """Adds a link (the chosen broker's secrets required) or changes one (blank = keep).

    The secret inputs are never prefilled and never rendered back, even on errors. When
    adding, every broker's inputs are on the page; only the chosen broker's may be filled
    (a secret typed into another broker's box is refused, never silently dropped).
    """

    provider_secret = _secret_field(SECRET_LABELS["provider_secret"])
    refresh_token = _secret_field(SECRET_LABELS["refresh_token"])
    access_token = _secret_field(SECRET_LABELS["access_token"])
    key_id = _secret_field(SECRET_LABELS["key_id"])
    secret_key = _secret_field(SECRET_LABELS["secret_key"])

    class Meta:
        model = BrokerLink
        fields = ["user", "broker", "label", "enabled", "alpaca_api"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        adding = self.instance.pk is None
        if not adding:  # the broker is fixed: only its own secrets can change
            keep = set(BrokerLink.SECRET_FIELDS[self.instance.broker])
            for name in set(SECRET_LABELS) - keep:
                del self.fields[name]
        for name in SECRET_LABELS:
            if name in self.fields:
                self.fields[name].help_text = ADD_HELP if adding else CHANGE_HELP
        if not adding and self.instance.broker != BrokerLink.Broker.ALPACA:
            self.fields.pop("alpaca_api", None)
        elif "alpaca_api" in self.fields:  # left out: the Broker API, as before the choice
            self.fields["alpaca_api"].required = False

    def secret_names(self) -> tuple[str, ...]:
        broker = self.instance.broker if self.instance.pk else self.cleaned_data.get("broker")
        return BrokerLink.SECRET_FIELDS.get(broker or "", ())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        broker = self.instance.broker if self.instance.pk else data.get("broker")
        alpaca_api = data.get("alpaca_api") or BrokerLink.AlpacaApi.BROKER
        if "alpaca_api" in self.fields:
            data["alpaca_api"] = alpaca_api
        if broker and broker != BrokerLink.Broker.ALPACA and alpaca_api != "broker":
            self.add_error(
                "alpaca_api",
                "Only Alpaca links have a Trading API mode: leave it at Broker API.",
            )
        if self.instance.pk is None and data.get("broker"):
            wanted = self.secret_names()
            broker_name = BrokerLink.Broker(data["broker"]).label
            for name in SECRET_LABELS:
                if name in wanted and not data.get(name):
                    self.add_error(name, f"Required for {broker_name} links.")
                elif name not in wanted and data.get(name):
                    self.add_error(name, f"Not used by {broker_name} links: leave it empty.")
        return data

    def save(self, commit: bool = True) -> BrokerLink:
        """Create or update through `accounts.services` (always saved, whatever `commit`)."""
        data = self.cleaned_data
        secrets = {name: data.get(name) or None for name in self.secret_names()}
        if self.instance.pk is None:
            link = broker_link_create(
                user=data["user"],
                broker=data["broker"],
                label=data["label"],
                enabled=data.get("enabled", True),
                alpaca_api=data.get("alpaca_api") or BrokerLink.AlpacaApi.BROKER,
                **{name: value or "" for name, value in secrets.items()},
            )
        else:
            link = broker_link_update(
                link=self.instance,
                label=data.get("label"),
                enabled=data.get("enabled"),
                alpaca_api=data.get("alpaca_api") if "alpaca_api" in self.fields else None,
            )
            link = broker_link_set_secrets(link=link, **secrets)
        self.instance = link
        self.save_m2m = self._save_m2m
        return link


class ApiTokenCreateForm(forms.Form):
    """A user's new API token: what it is for, and how long it lives."""

    name = forms.CharField(
        max_length=MAX_TOKEN_NAME_LENGTH,
        strip=True,
        help_text="What will use it, e.g. “alerts bot on the NAS”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    lifetime_days = forms.TypedChoiceField(
        label="Expires after",
        coerce=int,
        choices=[(days, f"{days} days") for days in LIFETIME_CHOICES],
        initial=30,
    )
