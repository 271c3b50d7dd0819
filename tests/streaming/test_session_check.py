"""The session check behind every open stream (streaming/cluster/sessions.py): which login
sessions no longer authenticate their user, in a constant number of queries however many
sessions a process has open (it runs every 2 s in every process)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from streaming.cluster import sessions
from streaming.cluster.sessions import ended_sessions

pytestmark = pytest.mark.django_db


def logged_in(user) -> str:
    store = SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def test_ended_sessions_in_two_queries_for_many(django_assert_num_queries):
    make = get_user_model().objects.create_user
    users = [make(f"trader{n}", password="pw") for n in range(30)]
    keys = {logged_in(user): user.pk for user in users}
    standing = dict(keys)
    by_user = {pk: key for key, pk in keys.items()}

    logged_out = by_user[users[0].pk]
    Session.objects.filter(session_key=logged_out).delete()
    expired = by_user[users[1].pk]
    Session.objects.filter(session_key=expired).update(expire_date=timezone.now() - timedelta(1))
    users[2].set_password("changed-elsewhere")
    users[2].save()
    users[3].is_active = False
    users[3].save()
    other_users_session = by_user[users[4].pk]
    keys[other_users_session] = users[5].pk  # a key claimed for the wrong user
    for key in (logged_out, expired, by_user[users[2].pk], by_user[users[3].pk]):
        standing.pop(key)
    standing.pop(other_users_session)

    with django_assert_num_queries(2):  # the users, the sessions
        ended = ended_sessions(keys)
    assert ended == set(keys) - set(standing)
    assert len(ended) == 5


def test_a_session_engine_without_a_database_is_asked_per_key(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    from django.contrib.sessions.backends.cache import SessionStore as CacheStore

    make = get_user_model().objects.create_user
    users = [make(f"cached{n}", password="pw") for n in range(3)]
    keys = {}
    for user in users:
        store = CacheStore()
        store["_auth_user_id"] = str(user.pk)
        store["_auth_user_hash"] = user.get_session_auth_hash()
        store.create()
        keys[store.session_key] = user.pk
    gone = next(iter(keys))
    CacheStore(session_key=gone).delete()
    assert ended_sessions(keys) == {gone}


def test_many_sessions_are_asked_in_bounded_queries(monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(sessions, "SESSIONS_PER_QUERY", 4)
    user = get_user_model().objects.create_user("many", password="pw")
    keys = {logged_in(user): user.pk for _ in range(10)}
    gone = next(iter(keys))
    Session.objects.filter(session_key=gone).delete()
    with django_assert_num_queries(1 + 3):  # the user, the sessions 4 + 4 + 2
        assert ended_sessions(keys) == {gone}
