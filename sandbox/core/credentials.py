"""OAuth credentials, access tokens and quote tokens, as the real API hands them out.

A credential is identified by a short hash of its refresh token, so that the
control API can report and target it without ever echoing a secret.
"""

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def credential_id(refresh_token: str) -> str:
    """Stable, non-reversible id of a refresh token (what state reports show)."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:12]


class AuthError(Exception):
    """A rejected credential or token, with the status and error code the API sends."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass
class AccessToken:
    credential: str
    expires_at: float
    revoked: bool = False


@dataclass
class Credential:
    id: str
    revoked: bool = False
    refreshes: int = 0
    tokens: list[str] = field(default_factory=list)


class Credentials:
    """Issues and checks tokens; faults can expire or revoke them."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._credentials: dict[str, Credential] = {}
        self._access: dict[str, AccessToken] = {}
        self._quote: dict[str, str] = {}

    def refresh(
        self, *, client_secret: str, refresh_token: str, required_secret: str, lifetime: float
    ) -> tuple[str, str]:
        """OAuth refresh_token grant: returns (access token, credential id)."""
        if not client_secret or (required_secret and client_secret != required_secret):
            raise AuthError(401, "invalid_client", "Client authentication failed")
        if not refresh_token:
            raise AuthError(400, "invalid_request", "refresh_token is required")
        cred_id = credential_id(refresh_token)
        cred = self._credentials.setdefault(cred_id, Credential(cred_id))
        if cred.revoked:
            raise AuthError(401, "invalid_grant", "Refresh token is invalid or has been revoked")
        token = "sbx-at-" + secrets.token_urlsafe(18)
        now = self._clock()
        if len(self._access) > 10_000:  # a long-running sandbox forgets long-dead tokens
            self._access = {t: a for t, a in self._access.items() if a.expires_at > now - 3600}
        self._access[token] = AccessToken(cred_id, now + lifetime)
        cred.refreshes += 1
        cred.tokens.append(token)
        del cred.tokens[:-20]  # keep the bookkeeping bounded
        return token, cred_id

    def check(self, authorization: str | None) -> str:
        """Validate a bearer token (with or without the `Bearer ` prefix)."""
        token = (authorization or "").removeprefix("Bearer ").strip()
        access = self._access.get(token)
        if access is None:
            raise AuthError(401, "invalid_token", "This token is invalid or has expired")
        if access.revoked or self._clock() >= access.expires_at:
            raise AuthError(401, "token_expired", "This token is invalid or has expired")
        if self._credentials[access.credential].revoked:
            raise AuthError(401, "invalid_token", "This token has been revoked")
        return access.credential

    def credential_of(self, token: str) -> str | None:
        """Whose access token this is (expired or not), or None; never raises."""
        access = self._access.get(token.removeprefix("Bearer ").strip())
        return None if access is None else access.credential

    def issue_quote_token(self, cred_id: str) -> str:
        """An api-quote-token for DXLink AUTH (the real ones last 24 h)."""
        token = "sbx-qt-" + secrets.token_urlsafe(18)
        self._quote[token] = cred_id
        return token

    def check_quote_token(self, token: str) -> str:
        cred_id = self._quote.get(token)
        if cred_id is None or self._credentials[cred_id].revoked:
            raise AuthError(401, "UNAUTHORIZED", "Invalid or expired token")
        return cred_id

    def expire_access_tokens(self, cred_id: str | None = None) -> int:
        """Make access tokens expire now (one credential or all); returns how many."""
        count = 0
        for access in self._access.values():
            if cred_id is None or access.credential == cred_id:
                access.revoked = True
                count += 1
        return count

    def revoke(self, cred_id: str, revoked: bool = True) -> None:
        """Revoke (or restore) a refresh token: refresh and every token of it fail."""
        self._credentials.setdefault(cred_id, Credential(cred_id)).revoked = revoked

    def known(self) -> dict[str, Credential]:
        return self._credentials

    def active_token_count(self, cred_id: str) -> int:
        now = self._clock()
        return sum(
            1
            for t in self._access.values()
            if t.credential == cred_id and not t.revoked and now < t.expires_at
        )
