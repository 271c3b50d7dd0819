"""An Alpaca link's API mode: Broker API (the default) or a trader's Trading API keys
(paper or live); stored on the link, chosen in the admin, validated, and used to verify."""

from __future__ import annotations

import uuid

import httpx
import pytest
from django.urls import reverse

from accounts.models import BrokerLink
from accounts.services import (
    BrokerLinkError,
    broker_link_create,
    broker_link_update,
)
from streaming.links.verify import broker_link_verify

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:accounts_brokerlink_add")
SECRET = "paper-secret-for-admin"


@pytest.fixture
def trader(django_user_model):
    return django_user_model.objects.create_user(username="trader", password="pw-trader-1")


@pytest.fixture
def key_id() -> str:
    return f"PK{uuid.uuid4().hex[:16].upper()}"


def alpaca(trader, key_id: str, **extra) -> BrokerLink:
    return broker_link_create(
        user=trader, broker="alpaca", label="alp", key_id=key_id, secret_key=SECRET, **extra
    )


def test_the_mode_defaults_to_the_broker_api_and_is_stored(trader, key_id):
    assert alpaca(trader, key_id).alpaca_api == "broker"
    paper = alpaca(trader, key_id, alpaca_api="paper")
    paper.refresh_from_db()
    assert paper.alpaca_api == "paper" and paper.uses_alpaca_trading_api


def test_only_alpaca_links_have_a_trading_mode(trader, key_id):
    with pytest.raises(BrokerLinkError, match="only Alpaca links have a Trading API mode"):
        broker_link_create(
            user=trader, broker="tradier", label="t", access_token="tok", alpaca_api="paper"
        )
    with pytest.raises(BrokerLinkError, match="unknown Alpaca API 'demo'"):
        alpaca(trader, key_id, alpaca_api="demo")
    assert not BrokerLink.objects.exists()


def test_changing_the_mode_makes_the_link_unverified(trader, key_id):
    link = alpaca(trader, key_id)
    BrokerLink.objects.filter(pk=link.pk).update(status=BrokerLink.Status.VERIFIED)
    link.refresh_from_db()
    link = broker_link_update(link=link, alpaca_api="live")
    link.refresh_from_db()
    assert (link.alpaca_api, link.status) == ("live", BrokerLink.Status.UNVERIFIED)


def test_admin_add_form_offers_the_mode_for_alpaca_links_only(admin_client, trader, key_id):
    """The add page offers the mode; sent with a Tradier link it is not read (the link
    keeps the Broker API default: only the chosen broker's inputs count); an Alpaca
    paper link is saved as such."""
    page = admin_client.get(ADD_URL).content.decode()
    assert 'name="alpaca_api"' in page and "Trading API, paper account" in page
    admin_client.post(
        ADD_URL,
        {
            "user": trader.pk,
            "broker": "tradier",
            "label": "t",
            "access_token": "tok",
            "alpaca_api": "paper",
        },
    )
    tradier = BrokerLink.objects.get()
    assert (tradier.broker, tradier.alpaca_api) == ("tradier", "broker")
    admin_client.post(
        ADD_URL,
        {
            "user": trader.pk,
            "broker": "alpaca",
            "label": "paper",
            "key_id": key_id,
            "secret_key": SECRET,
            "alpaca_api": "paper",
        },
    )
    assert BrokerLink.objects.get(broker="alpaca").alpaca_api == "paper"


def test_verify_a_trading_link_against_the_sandbox(broker_at_sandbox, settings, trader, key_id):
    """Verifying a paper link logs in to the Trading API and records its one account."""
    settings.ALPACA_TRADING_PAPER_URL = f"{broker_at_sandbox.url}/alpaca"
    link = broker_link_verify(link=alpaca(trader, key_id, alpaca_api="paper"))
    assert link.status == BrokerLink.Status.VERIFIED, link.last_error
    headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": SECRET}
    account = httpx.get(f"{settings.ALPACA_TRADING_PAPER_URL}/v2/account", headers=headers)
    assert link.account_numbers == [account.json()["account_number"]]
