"""Build tastytrade SDK clients pointed at the configured broker (real API or sandbox).

The SDK is used unmodified. Three clients need pointing (reference §1.5): REST via the
session's httpx client base URL, the account streamer via `AlertStreamer.base_url`, and
DXLink, whose URL the REST API hands out with the quote token.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from tastytrade import Account, AlertStreamer, Session
from tastytrade.utils import TastytradeError

from streaming import metrics
from streaming.brokers.errors import CredentialRejected, is_rejection
from streaming.brokers.http_client import shared_ssl_context

#: Where the real account streamer lives (the SDK's own default).
LIVE_STREAMER_URL = "wss://streamer.tastyworks.com"


def base_url() -> str:
    """The REST base URL in force: the setting, or the SDK's default (the real API)."""
    return settings.TASTYTRADE_BASE_URL


def streamer_url(rest_base_url: str | None = None) -> str:
    """The account-streamer URL that goes with a REST base URL."""
    rest = rest_base_url if rest_base_url is not None else base_url()
    if not rest:
        return LIVE_STREAMER_URL
    return rest.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + "/streamer"


def make_session(provider_secret: str, refresh_token: str, **client_kwargs: Any) -> Session:
    """An SDK Session (no network yet) pointed at the configured REST base URL. Its
    `client_kwargs` (here: the shared TLS context) are reused by both streamers."""
    if not provider_secret or not refresh_token:
        raise ValueError("a provider secret and a refresh token are both required")
    client_kwargs.setdefault("verify", shared_ssl_context())
    session = Session(provider_secret, refresh_token, **client_kwargs)
    if base_url():
        session._client.base_url = base_url()
    return session


def make_alert_streamer(session: Session) -> AlertStreamer:
    """An AlertStreamer pointed at the account streamer that matches the REST URL (the
    one-queue subclass when the SDK's private hook is as known: streamers.py)."""
    from streaming.brokers.tastytrade.streamers import ALERT_STREAMER

    streamer = ALERT_STREAMER(session)
    if base_url():
        streamer.base_url = streamer_url()
    return streamer


async def refresh_token(session: Session) -> None:
    """A new access token for the session now; a refused grant is a rejection."""
    try:
        await session.refresh(force=True)
    except TastytradeError as exc:
        if is_rejection(exc):
            metrics.TOKEN_REFRESHES.labels("tastytrade", "rejected").inc()
            raise CredentialRejected(str(exc).strip()) from exc
        metrics.TOKEN_REFRESHES.labels("tastytrade", "failed").inc()
        raise
    except Exception:
        metrics.TOKEN_REFRESHES.labels("tastytrade", "failed").inc()
        raise
    metrics.TOKEN_REFRESHES.labels("tastytrade", "ok").inc()


async def fetch_account_numbers(provider_secret: str, refresh_token: str) -> list[str]:
    """Log in (OAuth refresh) and list the open accounts: what "verify" needs."""
    async with make_session(provider_secret, refresh_token, timeout=15) as session:
        accounts = await Account.get(session)
    return [account.account_number for account in accounts]
