"""Writes for broker links: create, change secrets, record what the stream found, rotate
keys; the demo's links.

Every function here keeps secrets out of errors, log lines and messages: broker and
network error texts are scrubbed of the link's secrets before they are stored
(`scrub_secrets`; verifying a link at its broker: streaming/links/verify.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts.crypto import SecretsUnreadable, encrypt_json, reencrypt
from accounts.models import BrokerLink

#: Longest `last_error` we keep (a broker could answer with a whole HTML page).
MAX_ERROR_LENGTH = 500


class BrokerLinkError(ValueError):
    """Invalid input for a broker link (e.g. an empty secret); safe to show to the user."""


# ------------------------------------------------------------------ create and update


def _clean_secret(value: str | None, *, name: str, required: bool) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise BrokerLinkError(f"{name.replace('_', ' ')} must not be empty")
    return cleaned


def _secret_names(broker: str, given: dict[str, Any]) -> tuple[str, ...]:
    """The broker's secret names, refusing names that belong to no secret of it."""
    names = BrokerLink.SECRET_FIELDS[broker]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise BrokerLinkError(f"{broker} links have no secret named {', '.join(unknown)}")
    return names


def _clean_alpaca_api(broker: str, alpaca_api: str | None) -> str:
    """The link's Alpaca API mode, refusing a Trading API mode for another broker."""
    value = alpaca_api or BrokerLink.AlpacaApi.BROKER
    if value not in BrokerLink.AlpacaApi.values:
        choices = ", ".join(BrokerLink.AlpacaApi.values)
        raise BrokerLinkError(f"unknown Alpaca API {value!r} (one of {choices})")
    if broker != BrokerLink.Broker.ALPACA and value != BrokerLink.AlpacaApi.BROKER:
        raise BrokerLinkError(
            "only Alpaca links have a Trading API mode: leave the Alpaca API at Broker API"
        )
    return value


def broker_link_create(
    *,
    user: User,
    broker: str,
    label: str,
    enabled: bool = True,
    alpaca_api: str = BrokerLink.AlpacaApi.BROKER,
    **secrets: str,
) -> BrokerLink:
    """Store a new, unverified link; the environment is the `BROKER_ENV` in force now.

    `secrets` are the broker's named secrets (`BrokerLink.SECRET_FIELDS`), all required:
    `provider_secret` + `refresh_token` (tastytrade), `access_token` (Tradier),
    `key_id` + `secret_key` (Alpaca). `alpaca_api` (Alpaca only): the keys are for the
    Broker API ("broker") or a trader's Trading API ("paper" / "live").
    """
    if broker not in BrokerLink.Broker.values:
        raise BrokerLinkError(f"unknown broker {broker!r}")
    label = (label or "").strip()
    if not label:
        raise BrokerLinkError("label must not be empty")
    alpaca_api = _clean_alpaca_api(broker, alpaca_api)
    names = _secret_names(broker, secrets)
    cleaned = {name: _clean_secret(secrets.get(name), name=name, required=True) for name in names}
    return BrokerLink.objects.create(
        user=user,
        broker=broker,
        label=label,
        environment=settings.BROKER_ENV,
        status=BrokerLink.Status.UNVERIFIED,
        encrypted_secrets=encrypt_json(cleaned),
        enabled=enabled,
        alpaca_api=alpaca_api,
    )


def broker_link_update(
    *,
    link: BrokerLink,
    label: str | None = None,
    enabled: bool | None = None,
    alpaca_api: str | None = None,
) -> BrokerLink:
    """Change the label, the enabled flag and/or the Alpaca API mode (None keeps the
    current value). A new Alpaca API mode makes the link `unverified`: its keys have not
    been tried against that API."""
    fields = ["updated_at"]
    if alpaca_api is not None:
        alpaca_api = _clean_alpaca_api(link.broker, alpaca_api)
        if alpaca_api != link.alpaca_api:
            link.alpaca_api = alpaca_api
            link.status = BrokerLink.Status.UNVERIFIED
            link.last_error = ""
            fields += ["alpaca_api", "status", "last_error"]
    if label is not None:
        label = label.strip()
        if not label:
            raise BrokerLinkError("label must not be empty")
        link.label = label
        fields.append("label")
    if enabled is not None:
        link.enabled = enabled
        fields.append("enabled")
    link.save(update_fields=fields)
    return link


def broker_link_set_secrets(*, link: BrokerLink, **secrets: str | None) -> BrokerLink:
    """Replace any of the link's secrets (None or blank keeps the stored one).

    Any change makes the link `unverified` again: the new secrets have not been tried.
    """
    names = _secret_names(link.broker, secrets)
    new = {name: _clean_secret(secrets.get(name), name=name, required=False) for name in names}
    if not any(new.values()):
        return link
    try:
        stored = link.secrets()
    except SecretsUnreadable:
        # The old values are gone; only a complete replacement can be stored.
        if not all(new.values()):
            raise
        stored = {}
    changed = False
    for name, value in new.items():
        if value and stored.get(name) != value:
            stored[name] = value
            changed = True
    if not changed:
        return link
    link.encrypted_secrets = encrypt_json(stored)
    link.status = BrokerLink.Status.UNVERIFIED
    link.last_error = ""
    link.save(update_fields=["encrypted_secrets", "status", "last_error", "updated_at"])
    return link


# ------------------------------------------------------------------ secrets out of errors


def scrub_secrets(
    text: str, secrets: dict[str, Any], *, limit: int | None = MAX_ERROR_LENGTH
) -> str:
    """`text` with every secret value replaced by ***; with a limit, one line cut to it."""
    for value in secrets.values():
        if isinstance(value, str) and value:
            text = text.replace(value, "***")
    if limit is None:
        return text
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def broker_link_record_stream_state(*, link_id: int, status: str | None, error: str = "") -> None:
    """Record what streaming found about a link's credential.

    `status="error"`: the broker rejected it (`error` says why). `status="verified"`:
    it works again (the error is cleared). `status=None`: only note `error`.
    A link deleted meanwhile is ignored. Sync: async callers use `database_sync_to_async`.
    """
    if status is not None and status not in BrokerLink.Status.values:
        raise ValueError(f"unknown broker link status {status!r}")
    link = BrokerLink.objects.filter(pk=link_id).first()
    if link is None:
        return
    try:
        secrets = link.secrets()
    except SecretsUnreadable:
        secrets = {}
    changes: dict[str, Any] = {
        "last_error": scrub_secrets(error, secrets),
        "updated_at": timezone.now(),
    }
    if status is not None:
        changes["status"] = status
    if status == BrokerLink.Status.VERIFIED:
        changes["last_error"] = ""
        changes["last_verified_at"] = timezone.now()
    # An update, not save(): never overwrite secrets an admin changed meanwhile.
    BrokerLink.objects.filter(pk=link_id).update(**changes)


# ------------------------------------------------------------------ keys


def secrets_rotate() -> int:
    """Re-encrypt every link's secrets under the newest key; returns how many links.

    All or nothing: if one link cannot be decrypted, nothing is changed and
    `SecretsUnreadable` says which link.
    """
    count = 0
    with transaction.atomic():
        for link_id, token in BrokerLink.objects.order_by("pk").values_list(
            "pk", "encrypted_secrets"
        ):
            try:
                rotated = reencrypt(token)
            except SecretsUnreadable as exc:
                raise SecretsUnreadable(f"broker link {link_id}: {exc}") from None
            BrokerLink.objects.filter(pk=link_id).update(encrypted_secrets=rotated)
            count += 1
    return count


# ------------------------------------------------------------------ demo


DEMO_USERNAME = "demo"
DEMO_ADMIN_USERNAME = "admin"


#: The demo trader's sandbox links, one per broker: (broker, label, secrets). The first
#: quote-streaming one (tastytrade) feeds the quotes; Tradier and Alpaca add accounts.
class DemoSecrets(TypedDict, total=False):
    """A demo link's secrets (its broker's `BrokerLink.SECRET_FIELDS`)."""

    provider_secret: str
    refresh_token: str
    access_token: str
    key_id: str
    secret_key: str


DEMO_LINKS: list[tuple[str, str, DemoSecrets]] = [
    (
        "tastytrade",
        "tastytrade sandbox (SIMULATED)",
        {"provider_secret": "sandbox-provider-secret", "refresh_token": "demo-refresh-token"},
    ),
    ("tradier", "Tradier sandbox (SIMULATED)", {"access_token": "demo-tradier-token"}),
    (
        "alpaca",
        "Alpaca sandbox (SIMULATED)",
        {"key_id": "DEMOALPACAKEY", "secret_key": "demo-alpaca-secret"},
    ),
]


@dataclass
class DemoSetup:
    """What `demo_data_ensure` found or created."""

    user: User
    user_created: bool
    admin: User
    admin_created: bool
    links: list[BrokerLink]
    links_created: bool


def demo_data_ensure(*, demo_password: str, admin_password: str) -> DemoSetup:
    """Idempotently create the demo trader, a superuser and sandbox links at all three
    brokers (sandbox only), enabled for trading (SIMULATED money). Existing users keep
    their passwords; a demo user who has any link gets no new one (an operator's
    deletions stick)."""
    if settings.BROKER_ENV != "sandbox":
        raise BrokerLinkError("demo data is only created when BROKER_ENV is 'sandbox'")
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model.objects.filter(username=DEMO_USERNAME).first()
        user_created = user is None
        if user is None:
            user = user_model.objects.create_user(username=DEMO_USERNAME, password=demo_password)
        admin = user_model.objects.filter(username=DEMO_ADMIN_USERNAME).first()
        admin_created = admin is None
        if admin is None:
            admin = user_model.objects.create_superuser(
                username=DEMO_ADMIN_USERNAME, email="", password=admin_password
            )
        links = list(user.broker_links.order_by("pk"))
        links_created = not links
        if not links:
            links = [
                broker_link_create(user=user, broker=broker, label=label, **secrets)
                for broker, label, secrets in DEMO_LINKS
            ]
            # staff's trading switch, on for the SIMULATED demo links only: the demo
            # trader still turns trading on with their password (docs: "Trading")
            BrokerLink.objects.filter(pk__in=[link.pk for link in links]).update(
                trading_enabled=True
            )
            for link in links:
                link.trading_enabled = True
    return DemoSetup(user, user_created, admin, admin_created, links, links_created)
