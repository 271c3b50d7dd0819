"""The throttle's deploy check: behind a proxy, the client's address must come from the
proxy's header, or every client has the proxy's address and one guesser's failures lock
everyone out of logging in (`manage.py check --deploy`: streaming.W101)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning


@register(Tags.security, deploy=True)
def client_address_behind_a_proxy(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A warning when `DJANGO_SECURE_PROXY_SSL_HEADER` says a proxy is in front but
    `DJANGO_CLIENT_ADDRESS_HEADER` names no header with the client's address."""
    if not settings.SECURE_PROXY_SSL_HEADER or settings.CLIENT_ADDRESS_HEADER:
        return []
    return [
        CheckWarning(
            "Behind a proxy (DJANGO_SECURE_PROXY_SSL_HEADER is set) every client has the "
            "proxy's address, so one guesser locks everyone out of logging in.",
            hint="set DJANGO_CLIENT_ADDRESS_HEADER=HTTP_X_REAL_IP (the shipped nginx site "
            "sets X-Real-IP to the client's address)",
            id="streaming.W101",
        )
    ]
