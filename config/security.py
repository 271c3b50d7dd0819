"""The security settings: the secret key, HSTS (docs/operations.md, "HTTPS and the secret
key"), the login throttle ("The login throttle"). config/settings.py imports those named
in `__all__`.

Django judges a secret key only in `check --deploy` (security.W009, a warning among
others); a production streamdesk refuses a weak one at start instead. Weak is what W009
calls weak (fewer than 50 characters, fewer than 5 different ones, the
`django-insecure-` prefix of a generated development key), and so is a placeholder
however long (`change-me` repeated).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta

from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from config.env import PRODUCTION, env_bool, env_int

#: The settings defined here (config/settings.py imports exactly these).
__all__ = [
    "AUTHENTICATION_BACKENDS",
    "AXES_CLIENT_IP_CALLABLE",
    "AXES_COOLOFF_TIME",
    "AXES_DISABLE_ACCESS_LOG",
    "AXES_ENABLE_ACCESS_FAILURE_LOG",
    "AXES_FAILURE_LIMIT",
    "AXES_LOCKOUT_PARAMETERS",
    "AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT",
    "AXES_RESET_ON_SUCCESS",
    "CLIENT_ADDRESS_HEADER",
    "LOGIN_FAILURE_DELAY",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_LOCKOUT_MINUTES",
    "SECRET_KEY",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_HSTS_SECONDS",
    "SILENCED_SYSTEM_CHECKS",
]

#: Words of the placeholders people leave in env files (letters and digits only, lower
#: case): deploy/systemd/env.example's `change-me`, and the development default's.
PLACEHOLDER_WORDS = ("changeme", "replaceme", "placeholder", "yoursecret", "notsecret")

#: How to make a key, said with every refusal.
HOW_TO_MAKE = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def secret_key_weak(key: str) -> bool:
    """True for a key production must not run with (see the module's docstring)."""
    letters = re.sub(r"[^a-z0-9]", "", key.lower())
    return (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or key.startswith(SECRET_KEY_INSECURE_PREFIX)
        or any(word in letters for word in PLACEHOLDER_WORDS)
    )


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required in production")
    SECRET_KEY = "development-only-not-secret-" + "x" * 32
elif PRODUCTION and secret_key_weak(SECRET_KEY):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is a placeholder or too weak (it needs at least "
        f"{SECRET_KEY_MIN_LENGTH} characters, {SECRET_KEY_MIN_UNIQUE_CHARACTERS} of them "
        f"different, and no '{SECRET_KEY_INSECURE_PREFIX}' prefix): make one with {HOW_TO_MAKE}"
    )

# HSTS: an https answer tells the browser to use nothing but https here for this long
# (production: a year; 0: no header, development's default, so a local https test never
# pins localhost), subdomains included. The shipped nginx site sends the same header
# itself, on its own answers too, in place of this one. Preload is the registrable
# domain's owner's choice (hstspreload.org; hard to undo): off unless asked for, and
# Django's reminder of it (security.W021) is then not shown.
_HSTS_SECONDS = os.environ.get("DJANGO_SECURE_HSTS_SECONDS") or ("31536000" if PRODUCTION else "0")
if not _HSTS_SECONDS.strip().isdigit():
    raise ImproperlyConfigured("DJANGO_SECURE_HSTS_SECONDS must be whole seconds (0: no HSTS)")
SECURE_HSTS_SECONDS = int(_HSTS_SECONDS)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# The login throttle (django-axes; streaming/lockout/; docs/operations.md "The login
# throttle"): wherever a password is checked (the login page, the admin's login, the
# password that turns trading on), per account and per client address, either of which
# locks. After LOGIN_FAILURE_LIMIT failures within LOGIN_LOCKOUT_MINUTES, checks are
# refused for LOGIN_LOCKOUT_MINUTES (tries meanwhile neither count nor extend it); each
# failure before that waits longer to be answered (LOGIN_FAILURE_DELAY seconds after the
# second, doubling); a right password forgets the account's failures.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, least=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, least=1)
try:
    LOGIN_FAILURE_DELAY = float(os.environ.get("LOGIN_FAILURE_DELAY") or "1")
except ValueError:
    LOGIN_FAILURE_DELAY = -1.0
if not 0 <= LOGIN_FAILURE_DELAY <= 30:
    raise ImproperlyConfigured("LOGIN_FAILURE_DELAY must be 0 (no wait) to 30 seconds")
# The client's address behind a proxy that sets this header on every request (nginx's
# `X-Real-IP $remote_addr`: HTTP_X_REAL_IP); unset, the connection's. Without it behind a
# proxy, every client has the proxy's address: one guesser locks everyone out.
CLIENT_ADDRESS_HEADER = os.environ.get("DJANGO_CLIENT_ADDRESS_HEADER", "").strip()
if CLIENT_ADDRESS_HEADER and not re.fullmatch(r"HTTP_[A-Z0-9_]+", CLIENT_ADDRESS_HEADER):
    raise ImproperlyConfigured(
        "DJANGO_CLIENT_ADDRESS_HEADER must name the header as Django's request.META does, "
        "e.g. HTTP_X_REAL_IP for X-Real-IP"
    )
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses while locked; counts via signals
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "streaming.lockout.address.client_address"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False  # streaming/lockout/receivers.py: the account's own only
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # each failure, in the admin ("Access failures")
AXES_DISABLE_ACCESS_LOG = True  # successful logins: Django's last_login is enough
# streaming/lockout/middleware.py answers a lock in its place (axes' check wants its own)
SILENCED_SYSTEM_CHECKS.append("axes.W002")
