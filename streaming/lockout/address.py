"""The client's address, as the login throttle and the audit trail record it.

Behind a proxy that sets a header on every request from the connection it accepted
(the shipped nginx site: `X-Real-IP $remote_addr`), `DJANGO_CLIENT_ADDRESS_HEADER` names
it (`HTTP_X_REAL_IP`) and it is the address; otherwise the connection's own
(`REMOTE_ADDR`). What a client sends itself (its own `X-Forwarded-For`, `X-Real-IP`) is
never read: it could name anyone, and so lock anyone out or never be locked.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    """The configured proxy header's address, else the connection's; None if neither is
    an IP address (`AXES_CLIENT_IP_CALLABLE`)."""
    header = settings.CLIENT_ADDRESS_HEADER
    if header:
        proxied = _address(str(request.META.get(header, "")))
        if proxied is not None:
            return proxied
    return _address(str(request.META.get("REMOTE_ADDR") or ""))
