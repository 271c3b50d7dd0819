"""The server's VAPID key (RFC 8292): one P-256 key pair, from `PUSH_VAPID_PRIVATE_KEY`
(PEM) or made on first use and kept encrypted (`PushKey`). Browsers subscribe to its
public key, so it must not change: a new key makes every device subscribe again."""

from __future__ import annotations

import base64
import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from py_vapid import Vapid02

from accounts.crypto import decrypt_json, encrypt_json
from streaming.models import PushKey


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@functools.cache
def _vapid(pem: str) -> Vapid02:
    return Vapid02.from_pem(pem.encode())


def _stored_pem() -> str:
    """The kept key's PEM, made (once, whichever process is first) when there is none."""
    row = PushKey.objects.order_by("id").first()
    if row is None:
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        with transaction.atomic():
            PushKey.objects.create(private_key=encrypt_json({"pem": pem}))
        row = PushKey.objects.order_by("id").first()
        assert row is not None
    return str(decrypt_json(row.private_key)["pem"])


def vapid() -> Vapid02:
    """The signer (sync: it may read the database)."""
    pem = settings.PUSH_VAPID_PRIVATE_KEY or _stored_pem()
    return _vapid(pem)


def public_key(signer: Vapid02) -> str:
    """The application server key: the uncompressed point, base64url."""
    point = signer.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)
