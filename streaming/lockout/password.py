"""A password checked anywhere but the login form (the one that turns trading on),
through the same throttle: the same count and the same lock as the login's, since
guessing one is guessing the other.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from streaming.lockout.lock import (
    Lockout,
    counted_failures,
    failures_forget,
    locked_out,
    lockout_of,
    remember,
)


class PasswordLocked(Exception):
    """Password checks for this account or address are locked (`lockout`). `counted`:
    this try was a wrong password that made the lock; else it was refused unchecked."""

    def __init__(self, lockout: Lockout, *, counted: bool) -> None:
        super().__init__(lockout.words)
        self.lockout = lockout
        self.counted = counted


def password_check(request: HttpRequest, user: AbstractBaseUser, password: str) -> bool:
    """Whether `password` is the user's, counted by the login throttle; `PasswordLocked`
    while the account or the request's address is locked. A right one forgets the
    account's failures, as a login does."""
    username = user.get_username()
    checked = authenticate(request, username=username, password=password)
    if checked is not None and checked.pk == user.pk:
        failures_forget(username)
        return True
    if locked_out(request):
        lockout = lockout_of(request, username)
        remember(request, lockout)
        raise PasswordLocked(lockout, counted=counted_failures(request) is not None)
    return False
