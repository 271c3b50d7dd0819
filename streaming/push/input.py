"""A browser's push subscription, checked: only a known push service's endpoint, with
keys that can encrypt to it. The server POSTs to whatever endpoint it stores, so anything
else (loopback, private ranges, a cloud's metadata address) is refused here and never
stored (docs/streaming-contract.md "Push and e-mail")."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

#: The push services' hosts (suffix match): Chrome's, Firefox's, Safari's, Edge's.
PUSH_HOSTS = (
    "fcm.googleapis.com",
    "jmt17.google.com",
    "updates.push.services.mozilla.com",
    ".push.apple.com",
    ".notify.windows.com",
)
MAX_ENDPOINT = 1024
#: The devices a user may subscribe (browsers and phones).
MAX_DEVICES = 20


class PushInputError(ValueError):
    """A refused subscription: the contract's `code` and a sentence."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """The HTTP status the refusal answers with: 409 for a full device list, else 400."""
        return 409 if self.code == "too_many_devices" else 400


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def known_push_host(host: str) -> bool:
    return any(host == h or (h.startswith(".") and host.endswith(h)) for h in PUSH_HOSTS)


def check_endpoint(raw: Any, *, debug: bool) -> str:
    """The endpoint URL if it is a known push service's (https, port 443, no user), or a
    loopback `http://127.0.0.1:<port>/…` with DEBUG on (tests); else `bad_endpoint`."""
    if not isinstance(raw, str) or not 0 < len(raw) <= MAX_ENDPOINT:
        raise PushInputError("bad_endpoint", "The subscription needs its endpoint (a URL).")
    parts = urlsplit(raw)
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = (parts.hostname or "").lower()
    if debug and parts.scheme == "http" and host == "127.0.0.1" and port and port > 0:
        return raw
    if parts.scheme != "https" or parts.username or parts.password or port not in (None, 443):
        raise PushInputError(
            "bad_endpoint", "A push endpoint is an https URL of a push service, on port 443."
        )
    if not known_push_host(host):
        raise PushInputError(
            "bad_endpoint",
            f"{host[:64] or 'That host'} is not a push service this server sends to.",
        )
    return raw


def check_keys(raw: Any) -> tuple[str, str]:
    """`keys.p256dh` (a P-256 public point, 65 octets) and `keys.auth` (16 octets), base64url."""
    said = "The subscription's keys are its p256dh (a P-256 public key) and auth (16 bytes)."
    if not isinstance(raw, dict):
        raise PushInputError("bad_keys", said)
    p256dh, auth = raw.get("p256dh"), raw.get("auth")
    if not isinstance(p256dh, str) or not isinstance(auth, str) or len(p256dh) > 128:
        raise PushInputError("bad_keys", said)
    try:
        point, secret = b64url_decode(p256dh), b64url_decode(auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (binascii.Error, ValueError):
        raise PushInputError("bad_keys", said) from None
    if len(point) != 65 or point[0] != 4 or len(secret) != 16:
        raise PushInputError("bad_keys", said)
    return p256dh, auth


def parse_subscription(body: Any, *, debug: bool) -> Subscription:
    """`PushSubscription.toJSON()` checked (`expirationTime` is read and not kept)."""
    if not isinstance(body, dict):
        raise PushInputError("bad_body", "The body is the browser's PushSubscription as JSON.")
    endpoint = check_endpoint(body.get("endpoint"), debug=debug)
    p256dh, auth = check_keys(body.get("keys"))
    return Subscription(endpoint, p256dh, auth)


def send_allowed(endpoint: str, *, debug: bool) -> str | None:
    """Why the server must not POST to `endpoint` now (None: it may): checked again at
    send time, with the host's addresses (a known name that resolves to a private,
    loopback or link-local address is refused: DNS rebinding)."""
    try:
        check_endpoint(endpoint, debug=debug)
    except PushInputError as exc:
        return exc.message
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if debug and parts.scheme == "http":
        return None  # the loopback test endpoint, DEBUG only
    try:
        infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"{host} does not resolve: {exc.strerror or exc}"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return f"{host} resolves to a non-public address"
    return None
