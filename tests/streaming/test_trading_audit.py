"""The trading audit trail is append-only, in the model and in the database."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction

from streaming.models import TradingAudit
from streaming.trading.audit import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return get_user_model().objects.create_user("ann", password="pw-for-ann-123")


def test_a_row_is_appended_and_never_changed(user):
    row = audit_record(user_id=user.id, action="preview", shown="Buy 1 SPY", outcome="ok")
    assert TradingAudit.objects.get().shown == "Buy 1 SPY"
    row.shown = "Sell 1 SPY"
    with pytest.raises(TypeError, match="append-only"):
        row.save()
    with pytest.raises(TypeError, match="append-only"):
        row.delete()
    with pytest.raises(TypeError, match="append-only"):
        TradingAudit.objects.filter(pk=row.pk).update(shown="x")
    with pytest.raises(TypeError, match="append-only"):
        TradingAudit.objects.all().delete()
    assert TradingAudit.objects.get().shown == "Buy 1 SPY"


def test_the_database_refuses_an_update_too(user):
    row = audit_record(user_id=user.id, action="confirm")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE streaming_tradingaudit SET shown = 'x' WHERE id = %s", [row.pk])
    assert TradingAudit.objects.get().shown == ""


def test_an_unknown_action_is_refused(user):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit_record(user_id=user.id, action="teleport")


def test_a_deleted_link_leaves_its_audit_rows_readable(user):
    from accounts.services import broker_link_create

    link = broker_link_create(user=user, broker="tradier", label="Main", access_token="t0k3n")
    audit_record(user_id=user.id, action="preview", link_id=link.id, account="VA1")
    link_id = link.id
    link.delete()
    row = TradingAudit.objects.get()
    assert (row.link_id, row.link_label) == (link_id, "Tradier · Main")
