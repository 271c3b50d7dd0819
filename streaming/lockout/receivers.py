"""The throttle's audit: a warning line for every failure (who, from where, at which
form, the count) and for every lock, the lock counted in `/metrics`
(`streamdesk_login_lockouts_total`), and a right password forgetting the account's
failures. axes' failure log (`AccessFailureLog`, in the admin) keeps each failure too.

Connected by streaming's `ready()`, after axes' own handlers (axes comes first in
INSTALLED_APPS), so the count axes just made is on the request.
"""

from __future__ import annotations

import logging
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.http import HttpRequest

from streaming.lockout.address import client_address
from streaming.lockout.lock import counted_failures, failures_forget, locked_out
from streaming.metrics import LOGIN_LOCKOUTS

log = logging.getLogger("streaming.lockout")


def _where(request: HttpRequest) -> tuple[str | None, str]:
    address = getattr(request, "axes_ip_address", None) or client_address(request)
    return address, request.path


def _failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    username = credentials.get("username")
    if request is None:
        log.warning("login failed: %r, with no request (not throttled)", username)
        return
    address, path = _where(request)
    failures = counted_failures(request)
    if failures is None and locked_out(request):
        log.warning("login refused while locked: %r from %s at %s", username, address, path)
        return
    limit = settings.LOGIN_FAILURE_LIMIT
    log.warning(
        "login failed: %r from %s at %s (%s of %s)", username, address, path, failures, limit
    )


def _locked(sender: Any, request: HttpRequest, username: str | None, **_: Any) -> None:
    if counted_failures(request) is None:
        return  # a try while locked: the lock is not new
    LOGIN_LOCKOUTS.inc()
    address, path = _where(request)
    minutes = settings.LOGIN_LOCKOUT_MINUTES
    log.warning("login locked for %s minutes: %r from %s at %s", minutes, username, address, path)


def _logged_in(sender: Any, request: HttpRequest, user: Any, **_: Any) -> None:
    failures_forget(user.get_username())


def connect() -> None:
    """Connect the receivers (once per process: dispatch uids)."""
    user_login_failed.connect(_failed, dispatch_uid="streamdesk.lockout.failed")
    user_locked_out.connect(_locked, dispatch_uid="streamdesk.lockout.locked")
    user_logged_in.connect(_logged_in, dispatch_uid="streamdesk.lockout.logged_in")
