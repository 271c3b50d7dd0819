"""Broker link services and selectors, verified against the real sandbox."""

from __future__ import annotations

import logging
import socket

import pytest

from accounts.models import BrokerLink
from accounts.selectors import broker_link_credentials_get, broker_link_list
from accounts.services import (
    BrokerLinkError,
    broker_link_create,
    broker_link_record_stream_state,
    broker_link_set_secrets,
)
from streaming.brokers.tastytrade import client as tastytrade_client
from streaming.links.verify import VERIFY_TIMEOUT_SECONDS, broker_link_verify
from tests.support.sdk import SECRET, cred

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="trader", password="pw-trader-1")


@pytest.fixture
def link(user, refresh_token) -> BrokerLink:
    return broker_link_create(
        user=user,
        broker="tastytrade",
        label="  main  ",
        provider_secret=f"  {SECRET}\n",
        refresh_token=f" {refresh_token} ",
    )


def assert_no_secret(text: str, refresh_token: str) -> None:
    assert SECRET not in text
    assert refresh_token not in text


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------ create / secrets


def test_create_strips_and_takes_environment_from_settings(settings, link, refresh_token):
    """Secrets and label are stripped; environment comes from BROKER_ENV; status unverified."""
    assert link.label == "main"
    assert link.environment == "sandbox"
    assert link.is_simulated
    assert link.status == BrokerLink.Status.UNVERIFIED
    assert broker_link_credentials_get(link=link) == {
        "provider_secret": SECRET,
        "refresh_token": refresh_token,
    }


def test_create_live_link_is_not_simulated(settings, user):
    """A link made while BROKER_ENV=live is live, and stays so when the setting changes."""
    settings.BROKER_ENV = "live"
    link = broker_link_create(
        user=user, broker="tastytrade", label="real", provider_secret="p", refresh_token="r"
    )
    settings.BROKER_ENV = "sandbox"
    link.refresh_from_db()
    assert link.environment == "live"
    assert not link.is_simulated


@pytest.mark.parametrize(
    ("provider_secret", "refresh_token"), [("", "r"), ("p", "   "), ("  ", "")]
)
def test_create_refuses_empty_secrets(user, provider_secret, refresh_token):
    """A blank provider secret or refresh token is refused and nothing is stored."""
    with pytest.raises(BrokerLinkError):
        broker_link_create(
            user=user,
            broker="tastytrade",
            label="x",
            provider_secret=provider_secret,
            refresh_token=refresh_token,
        )
    assert not BrokerLink.objects.exists()


def test_create_refuses_unknown_broker(user):
    """Only brokers in BrokerLink.Broker can be linked."""
    with pytest.raises(BrokerLinkError):
        broker_link_create(
            user=user, broker="etrade", label="x", provider_secret="p", refresh_token="r"
        )


def test_set_secrets_blank_keeps_and_change_resets_status(link, refresh_token):
    """None/blank keeps a secret; a new one replaces it and makes the link unverified."""
    link.status = BrokerLink.Status.VERIFIED
    link.save()
    broker_link_set_secrets(link=link, provider_secret=None, refresh_token="   ")
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.VERIFIED
    assert broker_link_credentials_get(link=link)["refresh_token"] == refresh_token

    broker_link_set_secrets(link=link, refresh_token=" new-token ")
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.UNVERIFIED
    assert broker_link_credentials_get(link=link) == {
        "provider_secret": SECRET,
        "refresh_token": "new-token",
    }


# ------------------------------------------------------------------ verify


def test_verify_success_records_accounts(broker_at_sandbox, link):
    """Against the sandbox, verify finds the customer's two accounts and marks it verified."""
    link.last_error = "old"
    link.save()
    broker_link_verify(link=link)
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.VERIFIED
    assert len(link.account_numbers) == 2
    assert all(isinstance(n, str) and n for n in link.account_numbers)
    assert link.last_verified_at is not None
    assert link.last_error == ""


def test_verify_revoked_credential(broker_at_sandbox, control, link, refresh_token):
    """A revoked refresh token is 'Broker rejected the credentials (invalid_grant: …)'."""
    control.fault("revoke", credential=cred(refresh_token))
    broker_link_verify(link=link)
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.ERROR
    assert link.last_error.startswith("Broker rejected the credentials (invalid_grant:")
    assert link.last_verified_at is None
    assert_no_secret(link.last_error, refresh_token)


def test_verify_wrong_client_secret(broker_at_sandbox, control, link, refresh_token):
    """A provider secret the broker does not accept is a rejected-credentials error."""
    control.configure(client_secret="the-only-good-secret")
    broker_link_verify(link=link)
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.ERROR
    assert link.last_error.startswith("Broker rejected the credentials (invalid_client:")
    assert_no_secret(link.last_error, refresh_token)


def test_verify_broker_503(broker_at_sandbox, control, link, refresh_token):
    """A 503 from the accounts endpoint is 'Broker error 503: service_unavailable: …'."""
    control.fault("http_error", status=503, path_prefix="/customers/", count=1)
    broker_link_verify(link=link)
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.ERROR
    assert link.last_error.startswith("Broker error 503: service_unavailable:")
    assert_no_secret(link.last_error, refresh_token)


def test_verify_access_token_refused_is_a_broker_error_not_a_rejection(
    broker_at_sandbox, control, link, refresh_token
):
    """The login worked but the accounts call answers 401 `invalid_token`: that refuses an
    access token, which a refresh replaces, not the credential. Verify says what the
    broker said ('Broker error 401: invalid_token: …'), by the same rule as streaming,
    whose next reconnect takes a fresh token (streaming/brokers/errors.py)."""
    control.fault("http_error", status=401, path_prefix="/customers/", count=1)
    broker_link_verify(link=link)
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.ERROR
    assert link.last_error.startswith("Broker error 401: invalid_token:")
    assert "rejected" not in link.last_error
    assert_no_secret(link.last_error, refresh_token)


def test_verify_unreachable_broker(settings, link, refresh_token):
    """A closed port is 'Could not reach the broker at http://…: connection refused'."""
    port = closed_port()
    settings.TASTYTRADE_BASE_URL = f"http://127.0.0.1:{port}"
    broker_link_verify(link=link)
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.ERROR
    assert link.last_error == (
        f"Could not reach the broker at http://127.0.0.1:{port}: connection refused"
    )


#: How much longer than the client's timeout the sandbox holds the answer: any amount
#: makes the client give up first (the sandbox starts its delay after the request
#: arrived); a few seconds more so a loaded box cannot blur it, and few enough that the
#: held request ends before the sandbox is stopped (it waits for open requests).
PAST_THE_TIMEOUT = 3.0


def test_verify_timeout_message(broker_at_sandbox, control, link):
    """The broker holds its answer past the client's timeout (the sandbox's delay fault):
    the real client gives up, and that is 'Broker did not answer within 15 s'."""
    control.fault("delay", seconds=VERIFY_TIMEOUT_SECONDS + PAST_THE_TIMEOUT, broker="tastytrade")
    broker_link_verify(link=link)
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.ERROR
    assert link.last_error == "Broker did not answer within 15 s"


def test_verify_unexpected_error_is_generic_and_scrubbed(monkeypatch, caplog, link, refresh_token):
    """An unexpected exception quoting a secret: generic last_error, traceback logged scrubbed."""

    async def boom(provider_secret: str, refresh_token: str) -> list[str]:
        raise ValueError(f"bad token {refresh_token} for {provider_secret}")

    monkeypatch.setattr(tastytrade_client, "fetch_account_numbers", boom)
    caplog.set_level(logging.DEBUG)
    broker_link_verify(link=link)
    assert link.status == BrokerLink.Status.ERROR
    assert link.last_error == "Unexpected error while verifying (ValueError); see the server log"
    assert "ValueError: bad token *** for ***" in caplog.text
    assert_no_secret(caplog.text, refresh_token)


def test_verify_never_logs_secrets(broker_at_sandbox, control, caplog, link, refresh_token):
    """With everything at DEBUG (SDK included), neither success nor failure logs a secret."""
    caplog.set_level(logging.DEBUG)
    for name in ("tastytrade", "httpx2", "httpcore2", "streaming.links"):
        caplog.set_level(logging.DEBUG, logger=name)
    broker_link_verify(link=link)
    assert link.status == BrokerLink.Status.VERIFIED
    control.fault("revoke", credential=cred(refresh_token))
    broker_link_verify(link=link)
    assert link.status == BrokerLink.Status.ERROR
    assert f"broker link {link.pk}" in caplog.text  # the log did capture our lines
    assert_no_secret(caplog.text, refresh_token)


# ------------------------------------------------------------------ stream state, selectors


def test_record_stream_state(link, refresh_token):
    """error sets status + scrubbed error; None only notes; verified clears the error."""
    broker_link_record_stream_state(
        link_id=link.pk, status="error", error=f"invalid_grant for {refresh_token}"
    )
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.ERROR
    assert link.last_error == "invalid_grant for ***"

    broker_link_record_stream_state(link_id=link.pk, status=None, error="")
    link.refresh_from_db()
    assert (link.status, link.last_error) == (BrokerLink.Status.ERROR, "")

    broker_link_record_stream_state(link_id=link.pk, status="verified")
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.VERIFIED
    assert link.last_verified_at is not None


def test_record_stream_state_tolerates_deleted_link_and_refuses_bad_status(link):
    """A deleted link is ignored; an unknown status is a ValueError."""
    broker_link_record_stream_state(link_id=link.pk + 1000, status="error", error="x")
    with pytest.raises(ValueError):
        broker_link_record_stream_state(link_id=link.pk, status="exploded")


def test_broker_links_for_user(django_user_model, user, link):
    """Only the user's own links, enabled ones unless asked for all."""
    other = django_user_model.objects.create_user(username="other", password="pw-other-1")
    broker_link_create(
        user=other, broker="tastytrade", label="theirs", provider_secret="p", refresh_token="r"
    )
    disabled = broker_link_create(
        user=user,
        broker="tastytrade",
        label="off",
        provider_secret="p",
        refresh_token="r",
        enabled=False,
    )
    assert broker_link_list(user_id=user.pk) == [link]
    assert broker_link_list(user_id=user.pk, enabled_only=False) == [link, disabled]
