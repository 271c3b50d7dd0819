"""The second factor that turns trading on: a TOTP code from the user's authenticator
(django-otp), else — when they have none — their password, checked afresh.

A session alone never turns trading on: whoever holds a logged-in browser still needs
the code or the password. The same holds for setting an authenticator up (a session
holder could otherwise enrol their own device): it takes the current factor too. Wrong
codes are throttled by django-otp (each failure doubles the wait); wrong passwords by the
login throttle, whose count and lock they share (streaming/lockout/). Sync (ORM and
password hashing); the views call it through `database_sync_to_async`.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass
from typing import Any

import segno
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from streaming.lockout.password import PasswordLocked, password_check

#: The name of the device streamdesk creates (a user has at most one confirmed).
DEVICE_NAME = "streamdesk authenticator"
#: A TOTP code as an authenticator shows it.
CODE = re.compile(r"\d{6}")
#: A password longer than this is not hashed (Argon2 on megabytes is a denial of service).
MAX_PASSWORD = 1024


class SecondFactorInputError(ValueError):
    """The body does not say a code or a password the way the contract does (400)."""


class SecondFactorRefused(Exception):
    """The code or password was wrong, or verifying is throttled (403 `second_factor`).

    `message` is for the trader; `outcome` is the audit trail's short note."""

    def __init__(self, message: str, outcome: str) -> None:
        super().__init__(message)
        self.message = message
        self.outcome = outcome


class SecondFactorLocked(SecondFactorRefused):
    """Password checks for this account or address are locked by the login throttle
    (429 `locked`, `retry_after` seconds)."""

    def __init__(self, message: str, outcome: str, retry_after: int) -> None:
        super().__init__(message, outcome)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Factor:
    """What the trader sent: a code (`kind` "totp") or a password (`kind` "password")."""

    kind: str
    value: str


@dataclass(frozen=True)
class TotpSetup:
    """An authenticator being set up: scanned from `svg` or typed from `secret`."""

    uri: str
    secret: str
    svg: str


def factor_from_body(body: Any) -> Factor:
    """`{"otp": "123456"}` or `{"password": "…"}` (exactly one), else a sentence."""
    if not isinstance(body, dict):
        raise SecondFactorInputError('The body must be a JSON object: {"otp"} or {"password"}.')
    unknown = sorted(set(body) - {"otp", "password"})
    if unknown:
        raise SecondFactorInputError(f"Unknown field {unknown[0]!r}: send otp or password.")
    if len(body) != 1:
        raise SecondFactorInputError("Send either your authenticator's code (otp) or password.")
    kind, value = next(iter(body.items()))
    if not isinstance(value, str) or not value:
        raise SecondFactorInputError(f"{kind} must be a non-empty string.")
    if kind == "otp":
        code = value.strip()
        if not CODE.fullmatch(code):
            raise SecondFactorInputError("The code is the 6 digits your authenticator shows.")
        return Factor("totp", code)
    if len(value) > MAX_PASSWORD:
        raise SecondFactorInputError(f"A password is at most {MAX_PASSWORD} characters.")
    return Factor("password", value)


def confirmed_device(user: AbstractBaseUser) -> TOTPDevice | None:
    """The user's confirmed authenticator, or None (they turn trading on with a password)."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def second_factor_kind(user: AbstractBaseUser) -> str:
    """What turning trading on asks for: "totp" with a confirmed device, else "password"."""
    return "totp" if confirmed_device(user) is not None else "password"


def _verify_code(device: TOTPDevice, code: str) -> None:
    allowed, why = device.verify_is_allowed()
    if not allowed:
        failures = (why or {}).get("failure_count", 0)
        raise SecondFactorRefused(
            f"Too many wrong codes ({failures}) in a row: wait a few seconds, then enter "
            "the newest code.",
            "throttled",
        )
    if not device.verify_token(code):
        raise SecondFactorRefused(
            "That code is not right (or was used already): enter the newest code your "
            "authenticator shows.",
            "wrong code",
        )


def verify_second_factor(request: HttpRequest, user: AbstractBaseUser, factor: Factor) -> str:
    """The method that passed ("totp" or "password"), or `SecondFactorRefused`.

    With an authenticator set up only its code counts; without one only the password,
    checked through the login throttle (streaming/lockout/): the login's count and lock,
    `SecondFactorLocked` while locked."""
    device = confirmed_device(user)
    if device is not None:
        if factor.kind != "totp":
            raise SecondFactorRefused(
                "You have an authenticator set up: enter its 6-digit code, not your password.",
                "password given, code expected",
            )
        _verify_code(device, factor.value)
        return "totp"
    if factor.kind != "password":
        raise SecondFactorRefused(
            "You have no authenticator set up yet: enter your password.",
            "code given, no authenticator",
        )
    try:
        right = password_check(request, user, factor.value)
    except PasswordLocked as exc:
        outcome = "wrong password, now locked" if exc.counted else "locked"
        raise SecondFactorLocked(str(exc), outcome, exc.lockout.seconds_left) from None
    if not right:
        raise SecondFactorRefused("That password is not right.", "wrong password")
    return "password"


def _qr_svg(uri: str) -> str:
    """The otpauth URI as an SVG QR code (no external image, no script): a document of its
    own, with the SVG namespace, so it draws both inline and loaded as an image (a
    `data:image/svg+xml` image without the namespace draws nothing: only its alt text shows;
    segno's `svg_inline` leaves the namespace out)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, nl=False, scale=4, dark="#000", light="#fff"
    )
    return out.getvalue().decode()


def totp_start(user: AbstractBaseUser) -> TotpSetup:
    """A new unconfirmed authenticator for the user (any earlier unconfirmed one goes):
    its otpauth URI, its secret in base32, and the URI as a QR code."""
    with transaction.atomic():
        TOTPDevice.objects.devices_for_user(user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    uri = str(device.config_url)
    secret = base64.b32encode(device.bin_key).decode()
    return TotpSetup(uri=uri, secret=secret, svg=_qr_svg(uri))


def totp_confirm(user: AbstractBaseUser, code: str) -> None:
    """Confirm the authenticator being set up with a code it shows; it then replaces any
    earlier one. `SecondFactorRefused` if the code is wrong or nothing is being set up."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is None:
        raise SecondFactorRefused(
            "No authenticator is being set up: start the set-up first.", "no set-up"
        )
    _verify_code(device, code)
    with transaction.atomic():
        TOTPDevice.objects.devices_for_user(user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
