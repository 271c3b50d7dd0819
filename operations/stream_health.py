"""The cluster's user streams as the staff's stream-health view shows them.

A selector: reads what the owners and every process wrote to Redis
(streaming/cluster/health_report.py), or this process's agents when there is no Redis (one
process), and adds what only the database knows (user names, admin pages). Any process
can answer, whichever owns the streams.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from redis.exceptions import RedisError

from streaming.cluster.agents import Agents
from streaming.cluster.health_report import UserHealth, local_reports, process_of, read_reports
from streaming.cluster.lease import PROCESS_ID
from streaming.runtime import redis_driver
from streaming.stream.health import TROUBLE

#: Reading Redis must not hang the view (seconds).
READ_TIMEOUT = 2.0


class HealthUnavailable(Exception):
    """Redis, where the cluster's reports are, did not answer."""


def link_failing(link: dict[str, Any]) -> bool:
    """A link is failing while its data is not flowing: error, reconnecting or stale."""
    return link["state"] in TROUBLE


async def _collect(agents: Agents) -> list[UserHealth]:
    if not settings.REDIS_URL:
        return local_reports(agents.by_user())
    client = aioredis.from_url(
        settings.REDIS_URL,
        **redis_driver.options(socket_timeout=READ_TIMEOUT, socket_connect_timeout=READ_TIMEOUT),
    )
    try:
        return await read_reports(client)
    except (RedisError, OSError) as exc:
        raise HealthUnavailable(f"Redis unavailable: {type(exc).__name__}: {exc}") from exc
    finally:
        await client.aclose()


def _usernames(user_ids: list[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=user_ids)
    return {user.pk: user.get_username() for user in users}


def _user_row(found: UserHealth, username: str, failing_only: bool) -> dict[str, Any] | None:
    report = found.report or {}
    links = []
    for link in report.get("links", []):
        failing = link_failing(link)
        if failing_only and not failing:
            continue
        links.append(
            {
                **link,
                "failing": failing,
                "admin_url": reverse("admin:accounts_brokerlink_change", args=[link["id"]]),
            }
        )
    tabs = [{**process_of(process), "tabs": count} for process, count in sorted(found.tabs.items())]
    no_owner = found.report is None
    failing = no_owner or any(link["failing"] for link in links)
    if failing_only and not failing:
        return None
    return {
        "id": found.user_id,
        "username": username,
        "admin_url": reverse("admin:auth_user_change", args=[found.user_id]),
        "owner": report.get("owner"),
        "reported_at": report.get("at"),
        "epoch": report.get("epoch"),
        "seq": report.get("seq"),
        "last_event_at": report.get("last_event_at"),
        "tabs": tabs,
        "tabs_total": sum(found.tabs.values()),
        "failing": failing,
        "problem": "no process owns the stream" if no_owner else "",
        "links": links,
    }


async def stream_health(agents: Agents, *, failing_only: bool = False) -> dict[str, Any]:
    """Every user with a stream in the cluster: owner, tabs per process, event-log head,
    and per link and data kind its health (times in epoch ms; `now` to age them by).
    Raises HealthUnavailable if Redis does not answer."""
    found = await _collect(agents)
    names = await database_sync_to_async(_usernames)([f.user_id for f in found])
    users = []
    for entry in found:
        row = _user_row(entry, names.get(entry.user_id, f"user {entry.user_id}"), failing_only)
        if row is not None:
            users.append(row)
    return {
        "now": int(time.time() * 1000),
        "served_by": process_of(PROCESS_ID),
        "mode": "cluster" if settings.REDIS_URL else "single process",
        "failing_only": failing_only,
        "users": users,
    }
