"""Broker secrets are encrypted at rest under rotatable keys."""

from __future__ import annotations

import logging
import stat

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from accounts import crypto
from accounts.crypto import SecretsUnreadable, decrypt_json, encrypt_json, reencrypt
from accounts.models import BrokerLink
from accounts.services import broker_link_create, secrets_rotate
from streaming.links.verify import broker_link_verify
from tests.conftest import TEST_ENCRYPTION_KEY

PROVIDER_SECRET = "provider-secret-Zq81xP"
REFRESH_TOKEN = "refresh-token-Kd02mW"


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="trader", password="pw-trader-1")


@pytest.fixture
def link(user) -> BrokerLink:
    return broker_link_create(
        user=user,
        broker="tastytrade",
        label="main",
        provider_secret=PROVIDER_SECRET,
        refresh_token=REFRESH_TOKEN,
    )


def raw_column(link_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_secrets FROM accounts_brokerlink WHERE id = %s", [link_id])
        return cursor.fetchone()[0]


def test_round_trip():
    """encrypt_json/decrypt_json give back the same dict, and the token is not the plaintext."""
    token = encrypt_json({"refresh_token": REFRESH_TOKEN})
    assert REFRESH_TOKEN not in token
    assert decrypt_json(token) == {"refresh_token": REFRESH_TOKEN}


@pytest.mark.django_db
def test_secrets_are_encrypted_in_the_database(link):
    """The stored column holds neither secret, and secrets() decrypts both."""
    raw = raw_column(link.pk)
    assert raw
    assert PROVIDER_SECRET not in raw
    assert REFRESH_TOKEN not in raw
    fresh = BrokerLink.objects.get(pk=link.pk)
    assert fresh.secrets() == {"provider_secret": PROVIDER_SECRET, "refresh_token": REFRESH_TOKEN}


@pytest.mark.django_db
def test_str_and_repr_never_show_secrets(link):
    """__str__ and __repr__ show what the link is, never its secrets or token."""
    for text in (str(link), repr(link)):
        assert PROVIDER_SECRET not in text
        assert REFRESH_TOKEN not in text
        assert link.encrypted_secrets not in text
    assert "SIMULATED" in str(link)


@pytest.mark.django_db
def test_key_rotation(settings, link):
    """Old key A still reads under [B, A]; rotate re-encrypts under B; then [B] alone reads."""
    key_b = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [key_b, TEST_ENCRYPTION_KEY]
    assert BrokerLink.objects.get(pk=link.pk).secrets()["refresh_token"] == REFRESH_TOKEN
    before = raw_column(link.pk)

    assert secrets_rotate() == 1

    assert raw_column(link.pk) != before
    settings.ENCRYPTION_KEYS = [key_b]
    assert BrokerLink.objects.get(pk=link.pk).secrets()["provider_secret"] == PROVIDER_SECRET
    settings.ENCRYPTION_KEYS = [TEST_ENCRYPTION_KEY]
    with pytest.raises(SecretsUnreadable):
        BrokerLink.objects.get(pk=link.pk).secrets()


@pytest.mark.django_db
def test_rotation_is_all_or_nothing(settings, user, link):
    """A link no key can read stops the rotation before anything is rewritten."""
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    orphan = broker_link_create(
        user=user, broker="tastytrade", label="orphan", provider_secret="p", refresh_token="r"
    )
    key_b = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [key_b, TEST_ENCRYPTION_KEY]
    before = raw_column(link.pk)
    with pytest.raises(SecretsUnreadable, match=f"broker link {orphan.pk}"):
        secrets_rotate()
    assert raw_column(link.pk) == before


@pytest.mark.django_db
def test_no_usable_key_is_a_clear_error_and_verify_records_it(settings, link):
    """With only an unrelated key: SecretsUnreadable, and verify stores a readable error."""
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretsUnreadable, match="cannot be decrypted"):
        link.secrets()
    with pytest.raises(SecretsUnreadable):
        reencrypt(link.encrypted_secrets)
    verified = broker_link_verify(link=link)
    assert verified.status == BrokerLink.Status.ERROR
    assert verified.last_error.startswith("Secrets unreadable:")
    assert "encryption key" in verified.last_error


def test_invalid_key_is_refused_without_echoing_it(settings):
    """A malformed key is ImproperlyConfigured, and the message does not contain the key."""
    settings.ENCRYPTION_KEYS = ["not-a-fernet-key-value"]
    with pytest.raises(ImproperlyConfigured) as info:
        encrypt_json({})
    assert "not-a-fernet-key-value" not in str(info.value)


def test_development_key_file_is_created_private(settings, tmp_path, caplog):
    """No keys in development: a key file is made (0600, parent created) and reused; said
    once per configuration."""
    key_file = tmp_path / "nested" / "dev.key"
    settings.ENCRYPTION_KEYS = []
    settings.PRODUCTION = False
    settings.DEV_ENCRYPTION_KEY_FILE = key_file
    with caplog.at_level(logging.WARNING, logger="accounts.crypto"):
        token = encrypt_json({"a": "b"})
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "development key" in caplog.text
    Fernet(key_file.read_text().strip())  # a valid key

    # Other keys in between, then none again: the same configuration, warned once only.
    settings.ENCRYPTION_KEYS = [TEST_ENCRYPTION_KEY]
    encrypt_json({})
    settings.ENCRYPTION_KEYS = []
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="accounts.crypto"):
        assert decrypt_json(token) == {"a": "b"}
    assert "development key" not in caplog.text

    # Built afresh (a new process), the same file is read back.
    crypto._fernet.cache_clear()
    assert decrypt_json(token) == {"a": "b"}


def test_production_without_keys_refuses(settings, tmp_path):
    """In production an empty key list is ImproperlyConfigured and no key file is made."""
    settings.ENCRYPTION_KEYS = []
    settings.PRODUCTION = True
    settings.DEV_ENCRYPTION_KEY_FILE = tmp_path / "dev.key"
    with pytest.raises(ImproperlyConfigured, match="production"):
        encrypt_json({"a": "b"})
    assert not (tmp_path / "dev.key").exists()
