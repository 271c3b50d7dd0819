"""Forms: the admin's for broker links (secrets write-only, saved through the services;
staff's trading switch and limits), and a user's for a new API token."""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.broker_help import secret_help
from accounts.models import BrokerLink
from accounts.services import broker_link_create, broker_link_set_secrets, broker_link_update
from accounts.tokens import LIFETIME_CHOICES
from accounts.tokens import MAX_NAME_LENGTH as MAX_TOKEN_NAME_LENGTH

ADD_HELP = "Write-only: stored encrypted, never shown again."
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
    adding, every broker's inputs are on the page (each broker's in its own section, which
    a script shows only for the chosen broker); only the chosen broker's are validated and
    saved, and so is the Alpaca API mode only for an Alpaca link: what another broker's
    inputs hold is ignored, never stored. Each secret's help says where it comes from.
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
                written = ADD_HELP if adding else CHANGE_HELP
                self.fields[name].help_text = f"{secret_help(name)} {written}"
        if not adding and self.instance.broker != BrokerLink.Broker.ALPACA:
            self.fields.pop("alpaca_api", None)
        elif "alpaca_api" in self.fields:  # left out: the Broker API, as before the choice
            self.fields["alpaca_api"].required = False

    def broker(self) -> str | None:
        """The link's broker: fixed once saved, else the one chosen on the form."""
        if self.instance.pk:
            return self.instance.broker
        return getattr(self, "cleaned_data", {}).get("broker")

    def secret_names(self) -> tuple[str, ...]:
        return BrokerLink.SECRET_FIELDS.get(self.broker() or "", ())

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        broker = self.broker()
        if "alpaca_api" in self.fields:
            chosen = data.get("alpaca_api") if broker == BrokerLink.Broker.ALPACA else None
            data["alpaca_api"] = chosen or BrokerLink.AlpacaApi.BROKER
        wanted = self.secret_names()
        for name in SECRET_LABELS:
            if name not in wanted:
                data.pop(name, None)  # another broker's box: never read, never stored
            elif broker is not None and self.instance.pk is None and not data.get(name):
                label = BrokerLink.Broker(broker).label
                self.add_error(name, f"Required for {label} links.")
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
        return link

    def save_m2m(self) -> None:
        """What the admin calls after `save(commit=False)`: a link has no many-to-many
        fields, and `save` stored everything already."""


#: The link's trading fields staff edit (help text: the model's).
LINK_TRADING_FIELDS = ["trading_enabled", "max_order_notional", "max_orders_per_minute"]
LINK_TRADING_HELP = (
    "Off by default: no order is placed through this link until staff enable it here, and "
    "then only while the user has turned trading on with their second factor. Blank "
    "limits fall back to the user's own, then the server's defaults."
)


class BrokerLinkTradingForm(BrokerLinkAdminForm):
    """The link's admin form plus its trading switch and limits (saved after the link)."""

    class Meta(BrokerLinkAdminForm.Meta):
        fields = [*BrokerLinkAdminForm.Meta.fields, *LINK_TRADING_FIELDS]

    def save(self, commit: bool = True) -> BrokerLink:
        link = super().save(commit)
        for name in LINK_TRADING_FIELDS:
            setattr(link, name, self.cleaned_data.get(name))
        link.trading_enabled = bool(link.trading_enabled)
        link.save(update_fields=[*LINK_TRADING_FIELDS, "updated_at"])
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
