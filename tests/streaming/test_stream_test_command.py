"""`manage.py stream_test`: the operator's check of a link, against the sandbox."""

from __future__ import annotations

import io
import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.services import broker_link_create
from sandbox.core.credentials import credential_id
from streaming.links.verify import broker_link_verify
from tests.support.sdk import SECRET, cred
from tests.support.wait import poll_until

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


def test_bare_tradier_credential_streams_quotes(broker_at_sandbox, monkeypatch):
    """`--credential-env --broker tradier`: the token from $TRADIER_TOKEN, quotes from the
    Tradier stream, balances over REST; the token is never printed."""
    token = "tradier-ops-token-81"
    monkeypatch.setenv("TRADIER_TOKEN", token)
    out = io.StringIO()
    call_command(
        "stream_test",
        credential_env=True,
        broker="tradier",
        symbols="SPY",
        duration=3,
        stdout=out,
    )
    text = out.getvalue()
    assert "status  bare tradier credential: live" in text
    quote_lines = [line for line in text.splitlines() if " quotes  " in line]
    assert "balance #" in text and "[SIMULATED]" in text
    assert quote_lines and any(" SPY " in f" {line} " for line in quote_lines)
    assert token not in text


def test_users_alpaca_link_prints_orders_as_they_fill(broker_at_sandbox, control):
    """A user's Alpaca link: balances, then an order placed at the broker is printed as
    it fills, pushed over the trade-event stream."""
    user = get_user_model().objects.create_user("ops2")
    link = broker_link_create(
        user=user, broker="alpaca", label="exec", key_id="OPSKEY2", secret_key="ops-secret"
    )
    link = broker_link_verify(link=link)
    number = link.account_numbers[0]

    def place_and_fill() -> None:
        ctl = broker_at_sandbox.control()
        credential = credential_id("OPSKEY2")
        # once the command's trade-event stream is open, the fill is pushed to it
        poll_until(lambda: ctl.state()["credentials"].get(credential, {}).get("alpaca-sse"))
        order = {
            "time-in-force": "Day",
            "order-type": "Market",
            "legs": [
                {
                    "instrument-type": "Equity",
                    "symbol": "MSFT",
                    "action": "Buy to Open",
                    "quantity": 1,
                }
            ],
        }
        ctl.place_order(number, order)
        for _ in range(3):
            ctl.step()
        ctl.close()

    threading.Thread(target=place_and_fill, daemon=True).start()
    out = io.StringIO()
    call_command("stream_test", user="ops2", duration=4, stdout=out)
    text = out.getvalue()
    assert "status  exec: live" in text
    assert "order #" in text and "Filled" in text and number in text
    assert "ops-secret" not in text
