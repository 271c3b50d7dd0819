"""`manage.py stream_test`: the operator's check of a link, against the sandbox."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.services import broker_link_create
from tests.support.sdk import SECRET, cred

pytestmark = pytest.mark.django_db(transaction=True)


def test_streams_a_users_link_and_prints_what_arrives(broker_at_sandbox, refresh_token):
    """It goes live and prints status, balances, positions and quotes, all SIMULATED."""
    user = get_user_model().objects.create_user("ops")
    broker_link_create(
        user=user,
        broker="tastytrade",
        label="ops sandbox",
        provider_secret=SECRET,
        refresh_token=refresh_token,
    )
    out = io.StringIO()
    call_command("stream_test", user="ops", symbols="SPY,AAPL", duration=3, stdout=out)
    text = out.getvalue()
    assert "status  ops sandbox: live" in text
    assert "balance #" in text and "positions #" in text and "quotes  " in text
    assert "SPY " in text and "[SIMULATED]" in text
    assert refresh_token not in text and SECRET not in text


def test_a_rejected_credential_fails_the_command(
    broker_at_sandbox, control, refresh_token, monkeypatch
):
    """A revoked bare credential never goes live: the command says so and fails."""
    control.fault("revoke", credential=cred(refresh_token))
    monkeypatch.setenv("TT_SECRET", SECRET)
    monkeypatch.setenv("TT_REFRESH", refresh_token)
    out = io.StringIO()
    with pytest.raises(CommandError, match="never went live"):
        call_command("stream_test", credential_env=True, duration=1.5, stdout=out)
    assert "error (credential rejected" in out.getvalue()


def test_bad_arguments_are_clear_errors(db):
    """An unknown user or a malformed symbol is a CommandError, not a traceback."""
    with pytest.raises(CommandError, match="no user"):
        call_command("stream_test", user="nobody", duration=1)
    with pytest.raises(CommandError, match="not a valid symbol"):
        call_command("stream_test", user="nobody", symbols="DROP TABLE", duration=1)
