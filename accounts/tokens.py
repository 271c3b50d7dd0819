"""Personal API tokens: create, authenticate, revoke, list (services and selectors).

A token is `sdt_<prefix>_<secret>`: a 10-character public prefix (lowercase letters and
digits) that finds the row, and a 43-character URL-safe secret (32 random bytes). Only
the secret's SHA-256 is stored: the secret has 256 bits of entropy, so a fast hash is
enough (a slow password hash guards low-entropy passwords), and the comparison is in
constant time. The whole token is returned once, by `api_token_create`, and never again.

Tokens are read-only (streaming/tabs/bearer.py lets them reach only the stream and the
snapshot); they expire, can be revoked by their user or staff, and every open stream of a
token that ended closes within seconds (streaming/cluster/sessions.py checks them with the login
sessions).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import ApiToken

log = logging.getLogger(__name__)

TOKEN_PREFIX = "sdt_"
PREFIX_LENGTH = 10
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
#: `sdt_<prefix>_<secret>`; the secret is `secrets.token_urlsafe(32)` (43 characters).
TOKEN_RE = re.compile(r"^sdt_([a-z0-9]{10})_([A-Za-z0-9_-]{43})\Z", re.ASCII)
#: The lifetimes a user can pick (days).
LIFETIME_CHOICES = (7, 30, 90, 365)
#: `last_used_at` is written at most this often per token (seconds).
TOUCH_INTERVAL = 60.0
MAX_NAME_LENGTH = 100


class ApiTokenError(ValueError):
    """Invalid input for a token (empty name, too many tokens); safe to show the user."""


@dataclass(frozen=True)
class NewToken:
    """A token just created: `raw` is the whole token, shown to its user this once."""

    token: ApiToken
    raw: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def api_token_create(
    *, user: User, name: str, lifetime_days: int, now: datetime | None = None
) -> NewToken:
    """A new token for `user`, valid for `lifetime_days` (one of `LIFETIME_CHOICES`).
    Raises `ApiTokenError` for a blank or too long name, another lifetime, or when the
    user already has `API_TOKEN_MAX_PER_USER` active tokens."""
    name = (name or "").strip()
    if not name:
        raise ApiTokenError("Give the token a name (what will use it).")
    if len(name) > MAX_NAME_LENGTH:
        raise ApiTokenError(f"A token's name is at most {MAX_NAME_LENGTH} characters.")
    if lifetime_days not in LIFETIME_CHOICES:
        raise ApiTokenError(f"A token lives {', '.join(map(str, LIFETIME_CHOICES))} days.")
    now = now or timezone.now()
    limit = settings.API_TOKEN_MAX_PER_USER
    if api_token_active_list(user_id=user.pk, now=now).count() >= limit:
        raise ApiTokenError(f"You have {limit} active tokens: revoke one first.")
    secret = secrets.token_urlsafe(32)
    for _ in range(5):  # a prefix collision is a 1 in 10^15 event; retry all the same
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name,
                    prefix=prefix,
                    secret_hash=_hash(secret),
                    created_at=now,
                    expires_at=now + timedelta(days=lifetime_days),
                )
        except IntegrityError:
            continue
        log.info("API token %s created for user %s", prefix, user.pk)
        return NewToken(token, f"{TOKEN_PREFIX}{prefix}_{secret}")
    raise RuntimeError("could not find a free token prefix")


def api_token_authenticate(*, raw: str, now: datetime | None = None) -> ApiToken | None:
    """The active token `raw` is (with its user loaded), or None: malformed, unknown,
    wrong secret, expired, revoked, or its user deactivated. Logs one line (the public
    prefix only, never the secret) when refused."""
    match = TOKEN_RE.match(raw)
    if match is None:
        log.info("API token refused: malformed")
        return None
    prefix, secret = match.groups()
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        log.info("API token refused: unknown (prefix %s)", prefix)
        return None
    state = token.state_at(now or timezone.now())
    if state != "active" or not token.user.is_active:
        log.info(
            "API token refused: %s (prefix %s)",
            state if state != "active" else "user inactive",
            prefix,
        )
        return None
    return token


def api_token_touch(*, token: ApiToken, now: datetime | None = None) -> bool:
    """Record that `token` was used, at most once per `TOUCH_INTERVAL` (no write in
    between, and one conditional UPDATE across processes). True if it wrote."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=TOUCH_INTERVAL)
    if token.last_used_at is not None and token.last_used_at > cutoff:
        return False
    written = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=cutoff))
        .update(last_used_at=now)
    )
    if written:
        token.last_used_at = now
    return bool(written)


def api_token_revoke(
    *, token: ApiToken, by: User | None = None, now: datetime | None = None
) -> bool:
    """Revoke `token` (its open streams close within seconds). False if it already was."""
    now = now or timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by
    )
    if revoked:
        token.revoked_at, token.revoked_by = now, by
        log.info("API token %s revoked by user %s", token.prefix, getattr(by, "pk", None))
    return bool(revoked)


# ------------------------------------------------------------------ selectors


def api_token_list(*, user_id: int) -> list[ApiToken]:
    """The user's tokens, newest first, revoked and expired ones included."""
    return list(ApiToken.objects.filter(user_id=user_id).order_by("-created_at", "-id"))


def api_token_active_list(*, user_id: int, now: datetime | None = None) -> QuerySet[ApiToken]:
    """The user's tokens that are neither revoked nor expired (a queryset)."""
    return ApiToken.objects.filter(
        user_id=user_id, revoked_at__isnull=True, expires_at__gt=now or timezone.now()
    )


def api_token_ended_ids(*, token_ids: set[int], now: datetime | None = None) -> set[int]:
    """Of `token_ids`, those that no longer authenticate: revoked, expired, deleted, or
    their user deactivated (one query; the open-stream check in streaming/cluster/sessions.py)."""
    if not token_ids:
        return set()
    live = ApiToken.objects.filter(
        pk__in=token_ids,
        revoked_at__isnull=True,
        expires_at__gt=now or timezone.now(),
        user__is_active=True,
    ).values_list("pk", flat=True)
    return set(token_ids) - set(live)
