"""Replay checkpoints in the database: created on first save, only ever moved forward."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from accounts.services import broker_link_create
from streaming.checkpoints import DatabaseCheckpoint, checkpoint_advance, checkpoint_read

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def link(django_user_model):
    user = django_user_model.objects.create_user(username="t", password="pw")
    return broker_link_create(user=user, broker="alpaca", label="a", key_id="k", secret_key="s")


def test_cursor_moves_forward_only(link):
    """ULIDs sort by time: a late write from a previous owner cannot move it back."""
    assert checkpoint_read(link_id=link.pk, stream="alpaca-events") is None
    assert checkpoint_advance(link_id=link.pk, stream="alpaca-events", cursor="01J0000000B")
    assert not checkpoint_advance(link_id=link.pk, stream="alpaca-events", cursor="01J0000000A")
    assert checkpoint_read(link_id=link.pk, stream="alpaca-events") == "01J0000000B"
    assert checkpoint_advance(link_id=link.pk, stream="alpaca-events", cursor="01J0000000C")
    assert checkpoint_read(link_id=link.pk, stream="alpaca-events") == "01J0000000C"
    assert checkpoint_read(link_id=link.pk, stream="other") is None


def test_database_checkpoint_survives_a_new_instance(link):
    """What one process saved, a restarted one (a new object) loads."""
    async_to_sync(DatabaseCheckpoint(link.pk, "alpaca-events").save)("01JABC")
    assert async_to_sync(DatabaseCheckpoint(link.pk, "alpaca-events").load)() == "01JABC"
