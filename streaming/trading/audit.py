"""The trading audit trail: every step of order entry appended as it happens.

Who (the user; the actor when staff acted), when, from which session (a short hash,
never the key) and address, what the trader was shown and what the broker said. Rows are
never changed or removed (streaming.models.TradingAudit refuses, and so does the
database). What is stored is chosen here: no header, token or secret reaches a row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from uuid import UUID

from django.http import HttpRequest

from accounts.models import BrokerLink
from streaming.lockout.address import client_address
from streaming.models import TradingAudit
from streaming.trading.access import link_title
from streaming.trading.shapes import AuditEntry

#: The actions the contract lists for an audit entry.
ACTIONS = frozenset(
    {
        "preview",
        "confirm",
        "placed",
        "rejected",
        "unknown",
        "reconciled",
        "cancel",
        "cancel_all",
        "replace",
        "kill_switch",
        "trading_on",
        "trading_off",
        "refused",
    }
)


def request_source(request: HttpRequest | None) -> tuple[str | None, str]:
    """(the client's address, a 12-hex hash of its login session) of a request."""
    if request is None:
        return None, ""
    ip = client_address(request)
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None) or ""
    return ip, hashlib.sha256(key.encode()).hexdigest()[:12] if key else ""


def audit_record(
    *,
    user_id: int,
    action: str,
    request: HttpRequest | None = None,
    actor: str = "",
    link_id: int | None = None,
    account: str = "",
    ticket: UUID | str | None = None,
    shown: str = "",
    said: Mapping[str, object] | None = None,
    outcome: str = "",
) -> TradingAudit:
    """Append one step to the user's audit trail."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    ip, session = request_source(request)
    link = BrokerLink.objects.filter(pk=link_id).first() if link_id is not None else None
    if not actor and request is not None and request.user.is_authenticated:
        actor = request.user.get_username()
    return TradingAudit.objects.create(
        user_id=user_id,
        actor=actor,
        action=action,
        link_id=link_id,
        link_label=link_title(link) if link is not None else "",
        account=account,
        ticket=ticket,
        ip=ip,
        session=session,
        shown=shown,
        said=said or {},
        outcome=outcome[:200],
    )


def audit_entry(row: TradingAudit) -> AuditEntry:
    """The contract's audit `entry` for a row."""
    return {
        "id": row.id,
        "at": int(row.at.timestamp() * 1000),
        "action": row.action,
        "user": row.actor,
        "link": row.link_id,
        "link_label": row.link_label,
        "account": row.account,
        "ticket": str(row.ticket) if row.ticket else None,
        "ip": row.ip,
        "session": row.session,
        "shown": row.shown,
        "said": row.said,
        "outcome": row.outcome,
    }
