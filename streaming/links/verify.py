"""Verifying a broker link: log in at its broker with its secrets and record the accounts
it has, or why it could not.

Nothing here lets a secret out: a broker's or the network's error text is scrubbed of the
link's secrets (`accounts.services.scrub_secrets`) before it is stored or logged.
"""

from __future__ import annotations

import logging
import socket
import traceback

import httpx
import httpx2
from asgiref.sync import async_to_sync
from django.utils import timezone
from tastytrade.utils import TastytradeError

from accounts.crypto import SecretsUnreadable
from accounts.models import BrokerLink
from accounts.selectors import broker_link_credentials_get
from accounts.services import scrub_secrets
from streaming.brokers import catalog
from streaming.brokers.errors import BrokerHTTPError, CredentialRejected, http_status, is_rejection
from streaming.brokers.tastytrade import client as tastytrade_client

log = logging.getLogger(__name__)

#: The per-request timeout `tastytrade_client.fetch_account_numbers` gives the SDK.
VERIFY_TIMEOUT_SECONDS = 15


#: Failures verifying a link that are the broker's or the network's, not a bug here.
EXPECTED_VERIFY_ERRORS = (
    SecretsUnreadable,
    TastytradeError,
    CredentialRejected,
    BrokerHTTPError,
    httpx2.TransportError,
    httpx.TransportError,
)


def _broker_address(exc: httpx2.RequestError | httpx.RequestError) -> str:
    """scheme://host[:port] of the request that failed (never its path or query)."""
    try:
        url = exc.request.url
    except RuntimeError:  # no request attached
        return tastytrade_client.base_url() or "the broker's API"
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def _network_reason(exc: BaseException) -> str:
    """A short reason for a transport failure, from the OS error underneath if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "host name could not be resolved"
        if isinstance(current, ConnectionResetError):
            return "connection reset"
        current = current.__cause__ or current.__context__
    return str(exc) or type(exc).__name__


def describe_verify_error(exc: BaseException, *, secrets: dict[str, str]) -> str:
    """A readable, secret-free sentence for why verifying a link failed."""
    if isinstance(exc, SecretsUnreadable):
        return scrub_secrets(f"Secrets unreadable: {exc}", secrets)
    if is_rejection(exc):  # the same rule as streaming's (streaming/brokers/errors.py)
        detail = str(exc).strip() or "no detail given"
        return scrub_secrets(f"Broker rejected the credentials ({detail})", secrets)
    if isinstance(exc, TastytradeError):
        detail = str(exc).strip() or "no detail given"
        status = http_status(exc)
        prefix = f"Broker error {status}" if status else "Broker error"
        return scrub_secrets(f"{prefix}: {detail}", secrets)
    if isinstance(exc, BrokerHTTPError):
        return scrub_secrets(f"Broker error {exc.status}: {exc.message}", secrets)
    if isinstance(exc, httpx2.TimeoutException | httpx.TimeoutException):
        return f"Broker did not answer within {VERIFY_TIMEOUT_SECONDS} s"
    if isinstance(exc, httpx2.TransportError | httpx.TransportError):
        return scrub_secrets(
            f"Could not reach the broker at {_broker_address(exc)}: {_network_reason(exc)}",
            secrets,
        )
    return f"Unexpected error while verifying ({type(exc).__name__}); see the server log"


def broker_link_verify(*, link: BrokerLink) -> BrokerLink:
    """Log in to the broker with the link's secrets and record the accounts it has.

    Success: `verified`, the account numbers, `last_verified_at`. Failure: `error` and
    a readable `last_error`. Never raises for a broker or network failure.
    """
    secrets: dict[str, str] = {}
    try:
        secrets = broker_link_credentials_get(link=link)
        account_numbers = async_to_sync(catalog.fetch_account_numbers)(
            link.broker, secrets, alpaca_api=link.alpaca_api
        )
    except Exception as exc:
        message = describe_verify_error(exc, secrets=secrets)
        if not isinstance(exc, EXPECTED_VERIFY_ERRORS):
            # log.exception, but with the traceback text scrubbed of the secrets.
            trace = "".join(traceback.format_exception(exc))
            log.error(
                "verifying broker link %s failed unexpectedly\n%s",
                link.pk,
                scrub_secrets(trace, secrets, limit=None),
            )
        log.info("broker link %s failed verification: %s", link.pk, message)
        link.status = BrokerLink.Status.ERROR
        link.last_error = message
        link.save(update_fields=["status", "last_error", "updated_at"])
        return link
    link.account_numbers = [str(number) for number in account_numbers]
    link.status = BrokerLink.Status.VERIFIED
    link.last_verified_at = timezone.now()
    link.last_error = ""
    link.save(
        update_fields=["account_numbers", "status", "last_verified_at", "last_error", "updated_at"]
    )
    log.info("broker link %s verified: %d account(s)", link.pk, len(link.account_numbers))
    return link
