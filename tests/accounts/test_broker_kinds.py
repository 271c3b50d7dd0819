"""Linking Tradier and Alpaca accounts: each broker's own write-only secrets, verified
against the sandbox's Tradier and Alpaca façades over real sockets."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import BrokerLink
from accounts.selectors import broker_link_credentials_get
from accounts.services import (
    BrokerLinkError,
    broker_link_create,
    broker_link_set_secrets,
)
from streaming.links.verify import broker_link_verify

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:accounts_brokerlink_add")
TRADIER_TOKEN = "tradier-token-Zq81xk"
ALPACA_KEY = "PKTEST8H2K1ALPACA"
ALPACA_SECRET = "alpaca-secret-Yy71mm"


@pytest.fixture
def trader(django_user_model):
    return django_user_model.objects.create_user(username="trader", password="pw-trader-1")


def password_inputs(html: str) -> set[str]:
    return {
        re.search(r'name="([^"]+)"', tag).group(1)
        for tag in re.findall(r"<input[^>]*type=\"password\"[^>]*>", html)
    }


def test_add_tradier_link_in_admin_stores_only_its_token(admin_client, trader):
    """A Tradier link needs just the access token; it is stored encrypted and the change
    page offers only Tradier's secret (write-only), never the value."""
    response = admin_client.post(
        ADD_URL,
        {
            "user": trader.pk,
            "broker": "tradier",
            "label": "options",
            "enabled": "on",
            "access_token": TRADIER_TOKEN,
            "_continue": "1",
        },
        follow=True,
    )
    assert response.status_code == 200
    link = BrokerLink.objects.get()
    assert (link.broker, link.label) == ("tradier", "options")
    assert broker_link_credentials_get(link=link) == {"access_token": TRADIER_TOKEN}
    assert TRADIER_TOKEN not in link.encrypted_secrets
    page = admin_client.get(reverse("admin:accounts_brokerlink_change", args=[link.pk]))
    html = page.content.decode()
    assert TRADIER_TOKEN not in html and TRADIER_TOKEN not in response.content.decode()
    assert password_inputs(html) == {"access_token"}


def test_add_alpaca_link_requires_both_keys_and_ignores_other_brokers_secrets(admin_client, trader):
    """Missing Alpaca secret key → an error on that field only (a secret typed into
    another broker's box is not Alpaca's to check); nothing is saved or echoed. Complete,
    the link stores Alpaca's keys and nothing of the other box."""
    form = {"user": trader.pk, "broker": "alpaca", "label": "exec", "key_id": ALPACA_KEY}
    response = admin_client.post(ADD_URL, {**form, "access_token": TRADIER_TOKEN})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("Required for Alpaca links.") == 1
    assert ALPACA_KEY not in html and TRADIER_TOKEN not in html
    assert not BrokerLink.objects.exists()
    admin_client.post(ADD_URL, {**form, "secret_key": ALPACA_SECRET, "access_token": TRADIER_TOKEN})
    link = BrokerLink.objects.get()
    assert broker_link_credentials_get(link=link) == {
        "key_id": ALPACA_KEY,
        "secret_key": ALPACA_SECRET,
    }


def test_services_take_each_brokers_named_secrets(trader):
    """Secrets are named per broker: unknown names and missing ones are refused; changing
    one keeps the other and makes the link unverified again."""
    with pytest.raises(BrokerLinkError, match="no secret named access_token"):
        broker_link_create(user=trader, broker="alpaca", label="x", access_token="t")
    with pytest.raises(BrokerLinkError, match="secret key must not be empty"):
        broker_link_create(user=trader, broker="alpaca", label="x", key_id="k")
    link = broker_link_create(
        user=trader, broker="alpaca", label="x", key_id=ALPACA_KEY, secret_key=ALPACA_SECRET
    )
    link.status = BrokerLink.Status.VERIFIED
    link.save()
    broker_link_set_secrets(link=link, secret_key="rotated-secret")
    link.refresh_from_db()
    assert broker_link_credentials_get(link=link) == {
        "key_id": ALPACA_KEY,
        "secret_key": "rotated-secret",
    }
    assert link.status == BrokerLink.Status.UNVERIFIED
    with pytest.raises(BrokerLinkError):
        broker_link_set_secrets(link=link, refresh_token="not alpaca's")


@pytest.mark.parametrize(
    ("broker", "secrets"),
    [
        ("tradier", {"access_token": TRADIER_TOKEN}),
        ("alpaca", {"key_id": ALPACA_KEY, "secret_key": ALPACA_SECRET}),
    ],
)
def test_verify_against_the_sandbox_records_the_accounts(
    broker_at_sandbox, trader, broker, secrets
):
    """Verify logs in to the broker's sandbox façade and records its account numbers."""
    link = broker_link_create(user=trader, broker=broker, label=broker, **secrets)
    link = broker_link_verify(link=link)
    assert link.status == BrokerLink.Status.VERIFIED, link.last_error
    assert len(link.account_numbers) == 2
    assert all(isinstance(n, str) and n for n in link.account_numbers)


@pytest.mark.parametrize(
    ("broker", "secrets", "credential"),
    [
        ("tradier", {"access_token": TRADIER_TOKEN}, TRADIER_TOKEN),
        ("alpaca", {"key_id": ALPACA_KEY, "secret_key": ALPACA_SECRET}, ALPACA_KEY),
    ],
)
def test_verify_rejected_credential_gives_a_readable_secret_free_error(
    broker_at_sandbox, control, trader, broker, secrets, credential
):
    """A revoked credential: the link is in error with a sentence that names no secret."""
    from sandbox.core.credentials import credential_id

    control.fault("revoke", credential=credential_id(credential))
    link = broker_link_create(user=trader, broker=broker, label=broker, **secrets)
    link = broker_link_verify(link=link)
    assert link.status == BrokerLink.Status.ERROR
    assert "rejected the credentials" in link.last_error
    for value in secrets.values():
        assert value not in link.last_error


def test_verify_unreachable_broker_says_where(settings, trader):
    """Nothing listening: the error names the broker's address, not the secret."""
    settings.TRADIER_API_URL = "http://127.0.0.1:9"
    link = broker_link_create(user=trader, broker="tradier", label="t", access_token=TRADIER_TOKEN)
    link = broker_link_verify(link=link)
    assert link.status == BrokerLink.Status.ERROR
    assert "Could not reach the broker at http://127.0.0.1:9" in link.last_error
    assert TRADIER_TOKEN not in link.last_error
