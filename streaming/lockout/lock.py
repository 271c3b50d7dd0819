"""A lock as the one locked out reads it: until when, for how many minutes, in words; the
tries left before it; the wait before a failure is answered; and forgetting an
account's failures when its password proves right.

The lock itself is django-axes' (its `AccessAttempt` rows, per account and per address:
`AXES_LOCKOUT_PARAMETERS`); this module only reads them. A lock ends `AXES_COOLOFF_TIME`
after the failure that made it (tries while locked are not counted:
`AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT` is off), so "until" is the newest
counted failure of the account or the address plus that time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone

from streaming.lockout.address import client_address

#: The longest wait before a failure is answered (seconds), whatever the settings say.
MAX_DELAY = 30.0


def cool_off() -> timedelta:
    """How long a lock lasts (`LOGIN_LOCKOUT_MINUTES`)."""
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def _minutes(count: int) -> str:
    return f"{count} minute" if count == 1 else f"{count} minutes"


@dataclass(frozen=True)
class Lockout:
    """Logging in (and every other password check) is locked until `until`."""

    until: datetime

    @property
    def seconds_left(self) -> int:
        """Whole seconds until the lock ends (at least 1): `Retry-After`."""
        return max(1, math.ceil((self.until - timezone.now()).total_seconds()))

    @property
    def words(self) -> str:
        """What the form (and the trading switch) says."""
        minutes = math.ceil(self.seconds_left / 60)
        return (
            "Too many failed logins for this account or from your address: logging in is "
            f"locked for {_minutes(minutes)}, until {self.until:%H:%M} UTC. Staff can lift "
            "the lock sooner."
        )


def lockout_of(request: HttpRequest, username: str | None) -> Lockout:
    """The lock on this account or the request's address (the later end of the two)."""
    address = getattr(request, "axes_ip_address", None) or client_address(request)
    now = timezone.now()
    counted = AccessAttempt.objects.filter(attempt_time__gte=now - cool_off()).filter(
        Q(username=username) | Q(ip_address=address)
    )
    newest = counted.aggregate(newest=Max("attempt_time"))["newest"]
    return Lockout(until=(newest or now) + cool_off())


def tries_words(failures: int) -> str:
    """After `failures` counted failures: how many tries are left before the lock."""
    left = max(0, settings.LOGIN_FAILURE_LIMIT - failures)
    tries = "try locks" if left == 1 else "tries lock"
    return f"{left} more wrong {tries} logging in for {_minutes(settings.LOGIN_LOCKOUT_MINUTES)}."


def failure_delay(failures: int) -> float:
    """How long a failure waits before it is answered (seconds): none after the first,
    then `LOGIN_FAILURE_DELAY`, doubling with each further failure."""
    if failures < 2 or settings.LOGIN_FAILURE_DELAY <= 0:
        return 0.0
    return min(MAX_DELAY, settings.LOGIN_FAILURE_DELAY * 2 ** (failures - 2))


def failures_forget(username: str) -> int:
    """The account's counted failures, forgotten (its password proved right); how many
    rows went."""
    deleted, _ = AccessAttempt.objects.filter(username=username).delete()
    return deleted


def remember(request: HttpRequest, lockout: Lockout) -> None:
    """Note the lock on the request, for the middleware's status and `Retry-After`."""
    request.streamdesk_lockout = lockout  # type: ignore[attr-defined]


def remembered(request: HttpRequest) -> Lockout | None:
    """The lock this request was refused for, if any."""
    return getattr(request, "streamdesk_lockout", None)


def locked_out(request: HttpRequest) -> bool:
    """axes refused or locked during this request."""
    return bool(getattr(request, "axes_locked_out", False))


def counted_failures(request: HttpRequest) -> int | None:
    """The failures counted with this request's (None: no failure was counted, e.g. it
    was refused while locked)."""
    return getattr(request, "axes_failures_since_start", None)
