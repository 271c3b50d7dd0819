"""Reading the environment: the helpers every settings module uses, and which kind of
installation this is (`STREAMDESK_ENV`), which decides several settings' defaults."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool = False) -> bool:
    """Read a yes/no environment variable; anything but 1/true/yes/on is false."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable into a list of non-empty items."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int, *, least: int = 0) -> int:
    """Read a whole-number environment variable (unset or empty: `default`), at least
    `least`; anything else is an ImproperlyConfigured sentence."""
    value = (os.environ.get(name) or "").strip() or str(default)
    if not value.isdigit() or int(value) < least:
        raise ImproperlyConfigured(f"{name} must be a whole number from {least}")
    return int(value)


# "development" allows conveniences (a generated secret key, the sandbox broker);
# "production" refuses to start without real secrets.
STREAMDESK_ENV = os.environ.get("STREAMDESK_ENV", "development")
if STREAMDESK_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("STREAMDESK_ENV must be 'development' or 'production'")
PRODUCTION = STREAMDESK_ENV == "production"
