"""Whether the login sessions (and API tokens) behind open streams still stand.

A socket is authenticated once, when it opens; the session can end afterwards: logout,
expiry, a password change elsewhere (Django rotates the session auth hash), the user
deactivated. Every process checks the sessions of its own open tabs every few seconds
(one query for the users and, with the database session engines, one for the sessions)
and ends the tabs whose session ended with 4401, so no socket outlives its right to the
data. A tab opened with an API token is checked in the same pass (one more query:
revoked, expired, deleted, user deactivated; accounts/tokens.py) and ends the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts.tokens import api_token_ended_ids

if TYPE_CHECKING:
    from streaming.cluster.fanout import Tab

log = logging.getLogger(__name__)

#: How often each process checks its tabs' sessions (seconds).
SESSION_CHECK_INTERVAL = 2.0
#: Session keys per query (under SQLite's bound parameters per statement).
SESSIONS_PER_QUERY = 500


def ended_sessions(tabs: dict[str, int]) -> set[str]:
    """Of `{session key: user id}`, the keys whose session no longer authenticates that
    user as Django's `get_user` would (the session's auth hash must match the user's)."""
    if not tabs:
        return set()
    users = {
        user.pk: user
        for user in get_user_model()._default_manager.filter(pk__in=set(tabs.values()))
    }
    sessions = session_data(tabs)
    ended = set()
    for key, user_id in tabs.items():
        data = sessions.get(key, {})
        user = users.get(user_id)
        if (
            user is None
            or not user.is_active
            or str(data.get("_auth_user_id")) != str(user_id)
            or not constant_time_compare(
                data.get("_auth_user_hash", ""), user.get_session_auth_hash()
            )
        ):
            ended.add(key)
    return ended


def session_data(keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The data of each session that stands (missing and expired ones are left out): one
    query per `SESSIONS_PER_QUERY` for the database engines (`db`, `cached_db`: the
    database is their record), else one load per key (cache, files, signed cookies)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if not issubclass(store, DatabaseSessionStore):
        return {key: data for key in keys if (data := store(session_key=key).load())}
    decoder, model, now = store(), store.get_model_class(), timezone.now()
    keys = list(keys)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), SESSIONS_PER_QUERY):
        rows = model.objects.filter(
            session_key__in=keys[start : start + SESSIONS_PER_QUERY], expire_date__gt=now
        ).values_list("session_key", "session_data")
        found.update((key, decoder.decode(raw)) for key, raw in rows)
    return found


def ended_credentials(sessions: dict[str, int], tokens: set[int]) -> tuple[set[str], set[int]]:
    """The session keys of `{session key: user id}` and the API token ids of `tokens`
    that no longer authenticate (one thread hop for both)."""
    return ended_sessions(sessions), api_token_ended_ids(token_ids=tokens)


async def watch_sessions(open_tabs: Callable[[], Iterable[Tab]]) -> None:
    """End the tabs whose login session ended (logout, expiry, password change, user
    deactivated), or whose API token did (revoked, expired), with 4401, every
    `SESSION_CHECK_INTERVAL` seconds."""
    check = database_sync_to_async(ended_credentials)
    while True:
        await asyncio.sleep(SESSION_CHECK_INTERVAL)
        tabs = [
            tab
            for tab in open_tabs()
            if tab.user_id is not None and (tab.session_key or _token(tab) is not None)
        ]
        if not tabs:
            continue
        sessions = {tab.session_key: tab.user_id for tab in tabs if tab.session_key}
        tokens = {token for tab in tabs if (token := _token(tab)) is not None}
        try:
            ended, ended_tokens = await check(sessions, tokens)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("checking the sessions of open streams failed")
            continue
        for tab in tabs:
            if tab.session_key in ended or _token(tab) in ended_tokens:
                try:
                    await tab.session_ended()
                except Exception:
                    log.exception("ending a stream of user %s failed", tab.user_id)


def _token(tab: Tab) -> int | None:
    return getattr(tab, "token_id", None)
