"""The security settings: the secret key, HSTS (docs/operations.md, "HTTPS and the secret
key"). config/settings.py imports those named in `__all__`.

Django judges a secret key only in `check --deploy` (security.W009, a warning among
others); a production streamdesk refuses a weak one at start instead. Weak is what W009
calls weak (fewer than 50 characters, fewer than 5 different ones, the
`django-insecure-` prefix of a generated development key), and so is a placeholder
however long (`change-me` repeated).
"""

from __future__ import annotations

import os
import re

from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from config.env import PRODUCTION, env_bool

#: The settings defined here (config/settings.py imports exactly these).
__all__ = [
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
