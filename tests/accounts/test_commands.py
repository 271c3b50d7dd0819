"""The demo_setup and rotate_secrets management commands."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.models import BrokerLink
from accounts.selectors import broker_link_credentials_get
from accounts.services import broker_link_create
from tests.conftest import TEST_ENCRYPTION_KEY

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_demo_setup_is_idempotent(settings):
    """Two runs: one demo user, one superuser admin, one simulated sandbox link."""
    settings.BROKER_ENV = "sandbox"
    first = run("demo_setup")
    second = run("demo_setup", "--password", "ignored-now")
    users = get_user_model().objects
    assert users.filter(username="demo").count() == 1
    assert users.get(username="admin").is_superuser
    demo = users.get(username="demo")
    assert demo.check_password("demo-sandbox")
    links = list(BrokerLink.objects.order_by("pk"))
    assert [(link.user, link.broker, link.is_simulated) for link in links] == [
        (demo, "tastytrade", True),
        (demo, "tradier", True),
        (demo, "alpaca", True),
    ]
    link = links[0]
    assert link.label == "tastytrade sandbox (SIMULATED)"
    assert broker_link_credentials_get(link=link) == {
        "provider_secret": "sandbox-provider-secret",
        "refresh_token": "demo-refresh-token",
    }
    assert "demo / demo-sandbox" in first
    assert "admin / admin-sandbox" in first
    assert "already" in second


def test_demo_setup_passwords_from_environment(settings, monkeypatch):
    """DEMO_PASSWORD / DEMO_ADMIN_PASSWORD set the new users' passwords."""
    monkeypatch.setenv("DEMO_PASSWORD", "from-env-demo")
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "from-env-admin")
    run("demo_setup")
    users = get_user_model().objects
    assert users.get(username="demo").check_password("from-env-demo")
    assert users.get(username="admin").check_password("from-env-admin")


def test_demo_setup_verify(broker_at_sandbox):
    """--verify logs in to each broker's sandbox and prints every link's account numbers."""
    out = run("demo_setup", "--verify")
    links = list(BrokerLink.objects.order_by("pk"))
    assert len(links) == 3
    for link in links:
        assert link.status == BrokerLink.Status.VERIFIED, link.last_error
        assert len(link.account_numbers) == 2
        assert f"Verified {link.label}: accounts " + ", ".join(link.account_numbers) in out


def test_demo_setup_refuses_live(settings):
    """With BROKER_ENV=live demo_setup is a CommandError and creates nothing."""
    settings.BROKER_ENV = "live"
    with pytest.raises(CommandError, match="sandbox"):
        run("demo_setup")
    assert not get_user_model().objects.exists()
    assert not BrokerLink.objects.exists()


def test_rotate_secrets_prints_count(settings, django_user_model):
    """rotate_secrets re-encrypts every link under the newest key and says how many."""
    user = django_user_model.objects.create_user(username="t", password="pw-t-1")
    for label in ("a", "b"):
        broker_link_create(
            user=user, broker="tastytrade", label=label, provider_secret="p", refresh_token="r"
        )
    new_key = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [new_key, TEST_ENCRYPTION_KEY]
    assert "Re-encrypted 2 broker link(s)" in run("rotate_secrets")
    settings.ENCRYPTION_KEYS = [new_key]
    assert all(link.secrets()["refresh_token"] == "r" for link in BrokerLink.objects.all())


def test_rotate_secrets_unreadable_is_command_error(settings, django_user_model):
    """A link no key can read makes rotate_secrets fail cleanly."""
    user = django_user_model.objects.create_user(username="t", password="pw-t-1")
    broker_link_create(
        user=user, broker="tastytrade", label="a", provider_secret="p", refresh_token="r"
    )
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="nothing was changed"):
        run("rotate_secrets")
