"""Taking risk off: cancel one order, every working order of an account, or — the kill
switch — every working order at every linked broker, with trading turned off.

Cancels pass only the guard (a session, a same-site Origin, the rate limit): taking
risk off is never locked behind a second factor or a disabled link. Every step is
audited; every answer names what failed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels.db import database_sync_to_async
from django.http import HttpRequest

from accounts.models import BrokerLink
from accounts.selectors import broker_link_list
from streaming.cluster.agents import Agents
from streaming.contract.layer import ToOwner
from streaming.contract.trading import CancelAllCall, CancelCall
from streaming.trading.access import link_title, trading_link
from streaming.trading.audit import audit_record
from streaming.trading.grant import trading_disable, trading_state
from streaming.trading.owner import ask_order
from streaming.trading.shapes import KillSwitchAnswer, SweepResult

Answer = tuple[int, dict[str, Any]]

audit = database_sync_to_async(audit_record)


async def cancel_one(
    agents: Agents,
    user_id: int,
    order_id: str,
    link_id: int,
    account: str,
    request: HttpRequest | None,
) -> Answer:
    """`DELETE /api/orders/<order id>?link=`: the broker took the cancel (the Cancelled
    status arrives over the stream), or why not."""
    link = await database_sync_to_async(trading_link)(user_id, link_id)
    if link is None:
        return 404, {"error": "No such broker link is linked to you.", "code": "not_found"}
    if account and account not in (link.account_numbers or []):
        return 404, {"error": f"No account {account} is linked to you.", "code": "not_found"}
    call: CancelCall = {
        "type": ToOwner.ORDER_REQUEST,
        "op": "cancel",
        "link": link.id,
        "account": account or None,
        "accounts": list(link.account_numbers or []),
        "order_id": order_id,
    }
    reply = await ask_order(agents, user_id, call)
    status, answer = reply.status, reply.body
    said = {
        "status": answer.get("status"),
        "code": answer.get("code"),
        "error": answer.get("error"),
    }
    await audit(
        user_id=user_id,
        action="cancel",
        request=request,
        link_id=link.id,
        account=account,
        said=said,
        outcome=f"{order_id}: {'asked' if status == 200 else answer.get('code')}",
    )
    if status != 200:
        return status, {"error": answer.get("error"), "code": answer.get("code")}
    return 200, {
        "cancel": {
            "link": link.id,
            "account": account or None,
            "order_id": order_id,
            "status": answer.get("status"),
            "said": answer.get("said") or {},
        }
    }


async def _sweep(
    agents: Agents, user_id: int, link: BrokerLink, account: str | None
) -> SweepResult:
    """One result: every working order of `account` (None: every account of the link)."""
    accounts = [account] if account else list(link.account_numbers or [])
    call: CancelAllCall = {
        "type": ToOwner.ORDER_REQUEST,
        "op": "cancel_all",
        "link": link.id,
        "account": account,
        "accounts": accounts,
    }
    reply = await ask_order(agents, user_id, call)
    status, answer = reply.status, reply.body
    result: SweepResult = {
        "link": link.id,
        "broker": link.broker,
        "label": link.label,
        "account": account,
        "cancelled": [],
        "failed": [],
        "error": None,
    }
    if status != 200:
        result["error"] = f"{link_title(link)}: {answer.get('error') or 'no answer'}"
        return result
    result.update(
        {
            "cancelled": answer.get("cancelled", []),
            "failed": answer.get("failed", []),
            "error": answer.get("error"),
        }
    )
    return result


async def cancel_all(
    agents: Agents, user_id: int, link_id: int, account: str, request: HttpRequest | None
) -> Answer:
    """`POST /api/orders/cancel-all`: every working order of one account."""
    link = await database_sync_to_async(trading_link)(user_id, link_id)
    if link is None or account not in (link.account_numbers or []):
        return 404, {"error": f"No account {account} is linked to you.", "code": "not_found"}
    result = await _sweep(agents, user_id, link, account)
    await audit(
        user_id=user_id,
        action="cancel_all",
        request=request,
        link_id=link.id,
        account=account,
        said={k: result[k] for k in ("cancelled", "failed", "error")},
        outcome=f"{len(result['cancelled'])} cancelled, {len(result['failed'])} failed",
    )
    return 200, {"results": [result]}


def _switch_off(user_id: int, staff: str) -> None:
    trading_disable(user_id, killed=True)
    if staff:
        BrokerLink.objects.filter(user_id=user_id).update(trading_enabled=False)


async def kill_switch(
    agents: Agents, user_id: int, *, request: HttpRequest | None, staff: str = ""
) -> KillSwitchAnswer:
    """Turn trading off (first: nothing new is placed while the sweep runs), then cancel
    every working order of every account of every linked broker link, a result per
    link. Staff (`staff`: their username) also turn trading off on the user's links."""
    db = database_sync_to_async
    await db(_switch_off)(user_id, staff)
    links = await db(broker_link_list)(user_id=user_id)
    results = list(await asyncio.gather(*(_sweep(agents, user_id, link, None) for link in links)))
    await audit(
        user_id=user_id,
        action="kill_switch",
        request=request,
        actor=staff,
        said={"results": results},
        outcome=(
            f"{sum(len(r['cancelled']) for r in results)} cancelled, "
            f"{sum(len(r['failed']) + (r['error'] is not None) for r in results)} failed"
        ),
    )
    return {"results": results, "trading": await db(trading_state)(user_id)}
