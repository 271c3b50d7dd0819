"""Sending the outbox: one task per process, started when the process starts and woken
when an event is written here; it claims due rows (outbox.py) and sends each — a push
encrypted to its device (RFC 8291 `aes128gcm`, http-ece) with a VAPID signature (RFC 8292,
py-vapid) over httpx, an e-mail through Django's backend — then sleeps until the next row
is due. Several processes may run one: a row is claimed by one at a time."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import http_ece
import httpx
import orjson
from channels.db import database_sync_to_async
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.mail import send_mail

from streaming.brokers.errors import retry_after_header
from streaming.push import keys, outbox
from streaming.push.input import b64url_decode, send_allowed

if TYPE_CHECKING:
    from django.http import HttpRequest

log = logging.getLogger(__name__)

#: Backoff of a retried push: 1 s doubling, at most 5 min (or the service's Retry-After).
RETRY_FIRST, RETRY_CAP = 1.0, 300.0
#: How long one push waits for the push service's answer.
SEND_TIMEOUT = 10.0
#: The longest a sender sleeps without looking again (a row another process wrote).
IDLE_LOOK = 60.0


def encrypt(message: dict[str, str], p256dh: str, auth: str) -> bytes:
    """The message as an `aes128gcm` body to the device's keys (a fresh key pair and salt
    per message: http-ece puts the sender's public key in the header)."""
    plaintext = orjson.dumps(message)
    if len(plaintext) > outbox.MAX_MESSAGE_BYTES:
        raise ValueError(f"a push message has at most {outbox.MAX_MESSAGE_BYTES} bytes")
    return http_ece.encrypt(
        plaintext,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=b64url_decode(p256dh),
        auth_secret=b64url_decode(auth),
        version="aes128gcm",
    )


def push_headers(endpoint: str, event: str) -> dict[str, str]:
    """TTL, urgency, topic and the VAPID authorization for one push (a fresh claims dict
    each time: `aud` is the push service's origin)."""
    parts = urlsplit(endpoint)
    signer = keys.vapid()
    claims = {
        "aud": f"{parts.scheme}://{parts.netloc}",
        "exp": int(time.time()) + 12 * 3600,
        "sub": settings.PUSH_CONTACT,
    }
    signed = signer.sign(claims)
    return {
        "TTL": str(settings.PUSH_TTL),
        "Urgency": "high",
        "Topic": hashlib.sha256(event.encode()).hexdigest()[:32],
        "Content-Encoding": "aes128gcm",
        "Content-Type": "application/octet-stream",
        "Authorization": signed["Authorization"],
    }


class PushSender:
    """This process's sender (`sender`, below)."""

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def kick(self) -> None:
        """Look at the outbox now (an event was written); start the task if needed."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop here (a management command): the next process's look sends it
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._task = loop.create_task(self._run())
        self._wake.set()

    async def _run(self) -> None:
        async with httpx.AsyncClient(
            timeout=SEND_TIMEOUT, follow_redirects=False, trust_env=False
        ) as client:
            while True:
                self._wake.clear()
                try:
                    await self.send_due(client)
                    wait = await database_sync_to_async(outbox.seconds_to_next)(IDLE_LOOK)
                except Exception:
                    log.exception("push: sending the outbox failed; looking again soon")
                    wait = RETRY_FIRST
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()

    async def send_due(self, client: httpx.AsyncClient) -> int:
        """Claim and send every due row; how many were claimed."""
        total = 0
        while due := await database_sync_to_async(outbox.claim_due)():
            total += len(due)
            await asyncio.gather(*(self._send_one(client, row) for row in due))
        return total

    async def _send_one(self, client: httpx.AsyncClient, row: outbox.Due) -> None:
        if row.channel == "email":
            await self._email(row)
            return
        refused = await asyncio.to_thread(send_allowed, row.endpoint, debug=settings.DEBUG)
        if refused is not None:
            await database_sync_to_async(outbox.mark_failed)(row.id, row.subscription_id, refused)
            return
        try:
            headers = await database_sync_to_async(push_headers)(row.endpoint, row.message["id"])
            body = encrypt(row.message, row.p256dh, row.auth)
            answer = await client.post(row.endpoint, content=body, headers=headers)
        except (httpx.HTTPError, OSError) as exc:
            await self._retry(row, None, f"no answer: {type(exc).__name__}")
            return
        status = answer.status_code
        if status in (200, 201, 202):
            await database_sync_to_async(outbox.mark_sent)(row.id, row.subscription_id)
        elif status in (404, 410):
            await database_sync_to_async(outbox.mark_gone)(
                row.id, row.subscription_id, f"the push service answered {status}"
            )
        elif status == 429 or status >= 500:
            await self._retry(row, retry_after_header(answer.headers), f"answered {status}")
        else:
            await database_sync_to_async(outbox.mark_failed)(
                row.id, row.subscription_id, f"the push service refused it ({status})"
            )

    async def _retry(self, row: outbox.Due, retry_after: float | None, error: str) -> None:
        delay = min(RETRY_CAP, RETRY_FIRST * 2**row.attempts)
        if retry_after is not None:
            delay = max(delay, retry_after)
        await database_sync_to_async(outbox.mark_retry)(row.id, delay, error)

    async def _email(self, row: outbox.Due) -> None:
        if not row.email:
            await database_sync_to_async(outbox.mark_failed)(row.id, None, "no e-mail address")
            return
        said = row.message
        text = f"{said['body']}\n\n{said['url']}"
        try:
            await asyncio.to_thread(
                send_mail, said["title"], text, settings.DEFAULT_FROM_EMAIL, [row.email]
            )
        except OSError as exc:
            await self._retry(row, None, f"e-mail not sent: {exc}")
            return
        await database_sync_to_async(outbox.mark_sent)(row.id, None)


def push_sender_of(request: HttpRequest) -> PushSender:
    """The process's push sender, as its node hands it to a request (streaming/node.py)."""
    sender: PushSender = request.node.push  # type: ignore[attr-defined]
    return sender
