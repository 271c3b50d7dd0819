"""Encryption at rest for broker secrets: Fernet tokens under a rotatable key list.

Keys come from `settings.ENCRYPTION_KEYS` (newest first). The newest key encrypts;
every key is tried to decrypt, so rotation is: put a new key first, run
`manage.py rotate_secrets` (which calls `reencrypt` on every stored token), then drop
the old key.

In development with no keys configured, a generated key is kept in
`settings.DEV_ENCRYPTION_KEY_FILE` (mode 0600). Production refuses to run without keys.

    token = encrypt_json({"refresh_token": "..."})
    decrypt_json(token)  # {"refresh_token": "..."}
"""

from __future__ import annotations

import functools
import json
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)


class SecretsUnreadable(Exception):
    """Stored secrets cannot be decrypted with any configured key (or are not valid JSON)."""


def _read_or_create_dev_key(path: Path) -> str:
    """The development key in `path`, generated (mode 0600, parent created) if missing;
    said once per fernet built on it (`_fernet` is cached per configuration)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
    else:
        key = Fernet.generate_key().decode()
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
    log.warning(
        "STREAMDESK_ENCRYPTION_KEYS is not set: broker secrets are encrypted with a "
        "development key kept in %s. Set real keys before storing real credentials.",
        path,
    )
    return key


def _build(keys: list[str]) -> MultiFernet:
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError) as exc:
            # Never echo the key itself.
            raise ImproperlyConfigured(
                f"encryption key #{position} in STREAMDESK_ENCRYPTION_KEYS is not a valid "
                "Fernet key (32 url-safe base64-encoded bytes)"
            ) from exc
    return MultiFernet(fernets)


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...], production: bool, dev_key_file: str) -> MultiFernet:
    """The MultiFernet of one configuration (a pure memo: tests change the settings, and
    each configuration is built once)."""
    if not keys:
        if production:
            raise ImproperlyConfigured(
                "STREAMDESK_ENCRYPTION_KEYS is required in production: broker secrets "
                "are never stored under a development key"
            )
        keys = (_read_or_create_dev_key(Path(dev_key_file)),)
    return _build(list(keys))


def get_fernet() -> MultiFernet:
    """The MultiFernet for the keys in force, rebuilt whenever the settings change."""
    return _fernet(
        tuple(settings.ENCRYPTION_KEYS),
        bool(settings.PRODUCTION),
        str(settings.DEV_ENCRYPTION_KEY_FILE),
    )


def encrypt_json(data: dict) -> str:
    """Encrypt a JSON-serialisable dict under the newest key; returns a text token."""
    payload = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return get_fernet().encrypt(payload).decode()


def decrypt_json(token: str) -> dict:
    """Decrypt a token made by `encrypt_json`; `SecretsUnreadable` if no key can."""
    try:
        payload = get_fernet().decrypt(token.encode())
    except InvalidToken:
        raise SecretsUnreadable(
            "Stored broker secrets cannot be decrypted with any configured encryption key "
            "(was a key removed before running rotate_secrets?)"
        ) from None
    try:
        data = json.loads(payload)
    except ValueError:
        raise SecretsUnreadable("Stored broker secrets are not valid JSON") from None
    if not isinstance(data, dict):
        raise SecretsUnreadable("Stored broker secrets are not a JSON object")
    return data


def reencrypt(token: str) -> str:
    """The same secrets, re-encrypted under the newest key (MultiFernet.rotate)."""
    try:
        return get_fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretsUnreadable(
            "Stored broker secrets cannot be decrypted with any configured encryption key, "
            "so they cannot be re-encrypted"
        ) from None
