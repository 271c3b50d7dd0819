"""Personal API tokens (accounts/tokens.py): created once, stored hashed, verified in
constant time, expiring, revocable, used-at recorded at most once a minute."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import (
    TOKEN_RE,
    ApiTokenError,
    api_token_authenticate,
    api_token_create,
    api_token_ended_ids,
    api_token_list,
    api_token_revoke,
    api_token_touch,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def trader(django_user_model):
    return django_user_model.objects.create_user(username="trader", password="pw-trader-1")


def test_create_returns_the_token_once_and_stores_only_a_hash(trader):
    """The whole token comes back once; the row holds the public prefix and the secret's
    SHA-256, and no column anywhere in the table holds the secret."""
    now = timezone.now()
    new = api_token_create(user=trader, name="  alerts bot ", lifetime_days=30, now=now)
    match = TOKEN_RE.match(new.raw)
    assert match is not None
    prefix, secret = match.groups()
    token = ApiToken.objects.get()
    assert (token.name, token.prefix, token.user_id) == ("alerts bot", prefix, trader.pk)
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.expires_at == now + timedelta(days=30)
    assert token.last_used_at is None and token.revoked_at is None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        row = cursor.fetchone()
    assert not any(secret in str(value) for value in row)
    assert secret not in repr(token) and secret not in str(token)


def test_two_tokens_differ(trader):
    a = api_token_create(user=trader, name="a", lifetime_days=7)
    b = api_token_create(user=trader, name="b", lifetime_days=7)
    assert a.raw != b.raw and a.token.prefix != b.token.prefix


def test_authenticate_accepts_the_token_and_refuses_every_other_string(trader, caplog):
    """Only the exact token authenticates; malformed, unknown prefix and a wrong secret
    with the right prefix are refused, logged with the prefix only."""
    new = api_token_create(user=trader, name="bot", lifetime_days=7)
    token = api_token_authenticate(raw=new.raw)
    assert token is not None and token.pk == new.token.pk and token.user == trader
    prefix, secret = TOKEN_RE.match(new.raw).groups()
    wrong_secret = f"sdt_{prefix}_{'A' * 43}"
    unknown = f"sdt_{'z' * 10}_{secret}"
    caplog.set_level(logging.INFO, logger="accounts.tokens")
    for raw in [
        "",
        "garbage",
        new.raw + "x",
        new.raw[:-1],
        new.raw.upper(),
        " " + new.raw,
        wrong_secret,
        unknown,
        "sdt_" + prefix,
    ]:
        assert api_token_authenticate(raw=raw) is None, raw
    assert secret not in caplog.text
    assert f"unknown (prefix {prefix})" in caplog.text


def test_expired_revoked_and_deactivated_tokens_do_not_authenticate(trader):
    expiring = api_token_create(user=trader, name="e", lifetime_days=7)
    later = timezone.now() + timedelta(days=7, seconds=1)
    assert api_token_authenticate(raw=expiring.raw, now=later) is None
    assert api_token_authenticate(raw=expiring.raw, now=later - timedelta(seconds=2))

    revoked = api_token_create(user=trader, name="r", lifetime_days=7)
    assert api_token_revoke(token=revoked.token, by=trader) is True
    assert api_token_revoke(token=revoked.token, by=trader) is False  # already
    assert api_token_authenticate(raw=revoked.raw) is None
    assert ApiToken.objects.get(pk=revoked.token.pk).revoked_by == trader

    active = api_token_create(user=trader, name="a", lifetime_days=7)
    trader.is_active = False
    trader.save()
    assert api_token_authenticate(raw=active.raw) is None


def test_ended_tokens_are_revoked_expired_deleted_or_of_an_inactive_user(trader, django_user_model):
    other = django_user_model.objects.create_user(username="other", password="pw-other-1")
    ok = api_token_create(user=trader, name="ok", lifetime_days=30).token
    revoked = api_token_create(user=trader, name="revoked", lifetime_days=30).token
    api_token_revoke(token=revoked)
    expired = api_token_create(user=trader, name="expired", lifetime_days=7).token
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    deleted = api_token_create(user=trader, name="deleted", lifetime_days=7).token
    deleted_id = deleted.pk
    deleted.delete()
    inactive = api_token_create(user=other, name="inactive", lifetime_days=7).token
    other.is_active = False
    other.save()
    ids = {ok.pk, revoked.pk, expired.pk, deleted_id, inactive.pk}
    assert api_token_ended_ids(token_ids=ids) == {revoked.pk, expired.pk, deleted_id, inactive.pk}
    assert api_token_ended_ids(token_ids=set()) == set()


def test_last_used_is_written_at_most_once_a_minute(trader, django_assert_num_queries):
    new = api_token_create(user=trader, name="bot", lifetime_days=7)
    token = api_token_authenticate(raw=new.raw)
    now = timezone.now()
    with django_assert_num_queries(1):
        assert api_token_touch(token=token, now=now) is True
    with django_assert_num_queries(0):  # within the minute: no query at all
        assert api_token_touch(token=token, now=now + timedelta(seconds=59)) is False
    # another process holding a stale copy: the conditional UPDATE writes nothing
    stale = ApiToken.objects.get(pk=token.pk)
    stale.last_used_at = None
    assert api_token_touch(token=stale, now=now + timedelta(seconds=30)) is False
    assert api_token_touch(token=token, now=now + timedelta(seconds=61)) is True
    assert ApiToken.objects.get(pk=token.pk).last_used_at == now + timedelta(seconds=61)


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("", 30, "Give the token a name"),
        ("   ", 30, "Give the token a name"),
        ("x" * 101, 30, "at most 100 characters"),
        ("bot", 31, "A token lives 7, 30, 90, 365 days"),
        ("bot", 0, "A token lives"),
    ],
)
def test_bad_input_is_refused(trader, name, days, message):
    with pytest.raises(ApiTokenError, match=message):
        api_token_create(user=trader, name=name, lifetime_days=days)
    assert ApiToken.objects.count() == 0


def test_active_tokens_per_user_are_capped(trader, settings):
    settings.API_TOKEN_MAX_PER_USER = 2
    first = api_token_create(user=trader, name="1", lifetime_days=7)
    api_token_create(user=trader, name="2", lifetime_days=7)
    with pytest.raises(ApiTokenError, match="You have 2 active tokens: revoke one first"):
        api_token_create(user=trader, name="3", lifetime_days=7)
    api_token_revoke(token=first.token)
    api_token_create(user=trader, name="3", lifetime_days=7)
    assert [t.name for t in api_token_list(user_id=trader.pk)] == ["3", "2", "1"]
