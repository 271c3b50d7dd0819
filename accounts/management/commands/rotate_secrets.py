"""`manage.py rotate_secrets`: re-encrypt every stored broker secret with the newest key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.crypto import SecretsUnreadable
from accounts.services import secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt all broker link secrets with the first key in STREAMDESK_ENCRYPTION_KEYS. "
        "Run after putting a new key first; then the old key can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = secrets_rotate()
        except SecretsUnreadable as exc:
            raise CommandError(f"nothing was changed: {exc}") from exc
        self.stdout.write(f"Re-encrypted {count} broker link(s) with the newest key.")
