"""Reads for broker links: a user's links, and a link's decrypted credentials."""

from __future__ import annotations

from accounts.models import BrokerLink


def broker_link_list(*, user_id: int, enabled_only: bool = True) -> list[BrokerLink]:
    """The user's links, oldest first; only enabled ones unless `enabled_only` is False."""
    links = BrokerLink.objects.filter(user_id=user_id)
    if enabled_only:
        links = links.filter(enabled=True)
    return list(links.order_by("created_at", "pk"))


def broker_link_exists(*, user_id: int) -> bool:
    """Whether the user has an enabled link (a stream to start at all)."""
    return BrokerLink.objects.filter(user_id=user_id, enabled=True).exists()


def broker_link_credentials_get(*, link: BrokerLink) -> dict[str, str]:
    """The secrets the link's broker needs (`BrokerLink.SECRET_FIELDS`), e.g.
    `{"provider_secret", "refresh_token"}` for tastytrade; raises `SecretsUnreadable`."""
    secrets = link.secrets()
    return {name: str(secrets.get(name) or "") for name in BrokerLink.SECRET_FIELDS[link.broker]}


def broker_link_simulated(*, user_id: int) -> bool:
    """Whether an enabled link of the user's is a sandbox link: then every page they open
    carries the SIMULATED banner (everything the sandbox serves is labelled)."""
    return BrokerLink.objects.filter(
        user_id=user_id, enabled=True, environment=BrokerLink.Environment.SANDBOX
    ).exists()
