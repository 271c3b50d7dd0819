"""Point the real, unmodified tastytrade SDK at a sandbox (recipe A of the reference)."""

from __future__ import annotations

from typing import Any

from tastytrade import AlertStreamer, Session

from sandbox.core.credentials import credential_id
from sandbox.server import SandboxServer

SECRET = "sandbox-provider-secret"


def sdk_session(sandbox: SandboxServer, refresh_token: str, **client_kwargs: Any) -> Session:
    session = Session(SECRET, refresh_token, **client_kwargs)
    session._client.base_url = sandbox.url
    return session


def alert_streamer(session: Session, sandbox: SandboxServer) -> AlertStreamer:
    streamer = AlertStreamer(session)
    streamer.base_url = sandbox.streamer_url
    return streamer


def leaves(exc: BaseException) -> list[BaseException]:
    """The non-group exceptions inside (possibly nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def cred(refresh_token: str) -> str:
    return credential_id(refresh_token)
