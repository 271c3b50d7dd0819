"""What `manage.py` and `python -m config.serve` do first: read the settings, or stop with
the one sentence saying which setting is wrong.

config/settings.py raises `ImproperlyConfigured` for a setting the operator must fix (a
missing or placeholder secret key, a bad URL): that is not a bug of the program, so it
is said as a line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def settings_or_exit() -> None:
    """Load the settings (DJANGO_SETTINGS_MODULE, default config.settings), or exit 1
    with `streamdesk: <what is wrong>`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        settings.INSTALLED_APPS  # noqa: B018 - loading them is the point
    except ImproperlyConfigured as exc:
        sys.exit(f"streamdesk: {exc}")
