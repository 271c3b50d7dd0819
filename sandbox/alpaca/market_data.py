"""What Alpaca's market data feeds share (`data.alpaca.markets`, here `/alpaca/data`):
the key check, the `{"message": ...}` errors, query parameter parsing, and the real-time
socket protocol every feed speaks (news.py, crypto_stream.py).

Keys: market data takes any Alpaca key (Trading API headers `APCA-API-KEY-ID` /
`APCA-API-SECRET-KEY`, or a Broker API key as HTTP Basic). A known customer's secret must
match; an unknown key's first secret seen by market data is its secret from then on (a key
seen here first opens no customer: it must still work on the Broker or Trading API later).

The socket (Alpaca's "real-time stream" page, common to every feed): `[{"T":"success",
"msg":"connected"}]` at once; authenticated by handshake headers (then `authenticated`
follows at once) or `{"action":"auth","key","secret"}` within the feed's auth timeout
(else error 404 and close); `{"action":"subscribe"|"unsubscribe", <channel>: [symbols],
...}` → `[{"T":"subscription", <channel>: [...], ...}]` (the whole current set). Errors
`[{"T":"error","code","msg"}]`: 400 invalid syntax, 401 not authenticated, 402 auth
failed, 403 already authenticated, 404 auth timeout, 406 connection limit exceeded (one
socket of a feed per key: the newer one is refused and closed), 410 invalid subscribe
action for this feed (a channel the feed does not have). JSON text frames, or MessagePack
binary frames when the handshake says `Content-Type: application/msgpack` (alpaca-py
always does): a feed then sends its times as MessagePack timestamps (aware datetimes),
which alpaca-py reads with `.to_datetime()`.

Guess (UNCONFIRMED): a failed auth leaves the socket open for another try.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

import msgpack  # type: ignore[import-untyped]  # msgpack ships no type information (no py.typed, no stubs)
import orjson
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from sandbox.alpaca.facade import AlpacaSandbox
from sandbox.alpaca.wire import parse_time
from sandbox.core.credentials import credential_id
from sandbox.core.hub import WsSession

__all__ = ["BadParameter", "DataSocket", "attach", "credential", "message"]

#: Where the market data host is mounted.
MOUNT = "/alpaca/data"


def message(status: int, text: str) -> Response:
    """Every market data refusal: `{"message": ...}`."""
    return Response(orjson.dumps({"message": text}), status, media_type="application/json")


def _secrets(facade: AlpacaSandbox) -> dict[str, str]:
    """Secret digests of keys market data saw before any customer did, by credential id."""
    found: dict[str, str] = vars(facade).setdefault("data_secrets", {})
    return found


def credential(facade: AlpacaSandbox, headers: Mapping[str, str]) -> str | None:
    """The key's credential id; "" when no key was sent at all, None when it is wrong."""
    key, secret = headers.get("apca-api-key-id", ""), headers.get("apca-api-secret-key", "")
    if not key:
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return ""
        try:
            key, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
    if not key or not secret:
        return None
    cid = credential_id(key)
    known = facade.sandbox.credentials.known().get(cid)
    if known is not None and known.revoked:
        return None
    digest = hashlib.sha256(secret.encode()).hexdigest()
    customer = facade.keys.by_cid.get(cid)
    if customer is not None:
        return cid if customer.secret_hash == digest else None
    return cid if _secrets(facade).setdefault(cid, digest) == digest else None


def attach(facade: AlpacaSandbox) -> None:
    """List the keys seen by market data only in the state report, so their sockets are
    reported under them."""

    def keys() -> dict[str, dict[str, Any]]:
        known = facade.keys.by_cid
        return {
            cid: {"broker": "alpaca", "api": "data"} for cid in _secrets(facade) if cid not in known
        }

    facade.sandbox.credential_reporters.append(keys)


# --------------------------------------------------------------------------- parameters


class BadParameter(Exception):
    """A query parameter the API refuses: 400 with this text."""


def unexpected(params: Mapping[str, str], allowed: set[str]) -> None:
    """Refuse parameters the endpoint does not take, as the real API does."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadParameter(f"unexpected query parameter(s): {', '.join(unknown)}")


def flag(raw: str | None, name: str) -> bool:
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):
        raise BadParameter(f"invalid {name}: {raw!r}")
    return raw.lower() == "true"


def instant(raw: str | None, name: str, zone: dt.tzinfo = dt.UTC) -> float | None:
    """`start`/`end`: RFC 3339, or YYYY-MM-DD (that day's midnight in `zone`)."""
    if raw is None:
        return None
    if len(raw) == 10:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            raise BadParameter(f"invalid {name}: {raw!r}") from None
        return dt.datetime.combine(day, dt.time(), zone).timestamp()
    parsed = parse_time(raw) if "T" in raw else None
    if parsed is None:
        raise BadParameter(f"invalid {name}: {raw!r}")
    return parsed


def limit(raw: str | None, default: int, most: int) -> int:
    text = raw or str(default)
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise BadParameter(f"invalid limit: must be between 1 and {most}")
    return int(text)


def sort(raw: str | None, default: str) -> str:
    value = (raw or default).lower()
    if value not in ("asc", "desc"):
        raise BadParameter(f"invalid sort: {raw!r}")
    return value


def page_token(value: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode()


def page_from(raw: str | None) -> list[Any] | None:
    """The position a `page_token` names (what `page_token()` encoded), or None."""
    if not raw:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise BadParameter("invalid page_token") from None
    if not isinstance(value, list):
        raise BadParameter("invalid page_token")
    return value


# --------------------------------------------------------------------------- the socket


class DataSocket(WsSession):
    """One real-time market data socket of a feed (see the module doc). A feed names its
    session `kind`, its subscribe `channels` and its auth timeout setting, and says what a
    subscription changes (`subscribe`) and what it is now (`subscriptions`)."""

    kind = "alpaca-data"
    #: The subscribe message's keys this feed takes (any other with symbols: 410).
    channels: tuple[str, ...] = ()
    #: The SandboxConfig field holding the seconds a socket may stay unauthenticated.
    auth_timeout_setting = "alpaca_news_auth_timeout"

    def __init__(self, websocket: WebSocket, facade: AlpacaSandbox) -> None:
        super().__init__(websocket, facade.sandbox)
        self.facade = facade
        content_type = websocket.headers.get("content-type", "").lower()
        self.msgpack = "msgpack" in content_type
        self.authenticated = False
        self._outbox: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue()

    # -- what a feed says --------------------------------------------------------------
    def subscribe(self, action: str, wanted: dict[str, set[str]]) -> None:
        """Add (`subscribe`) or remove (`unsubscribe`) these symbols, by channel."""
        raise NotImplementedError

    def subscriptions(self) -> dict[str, list[str]]:
        """The current subscriptions, by channel, as the `subscription` message lists them."""
        raise NotImplementedError

    # -- the protocol ------------------------------------------------------------------
    async def _receive_loop(self) -> None:
        self.send([{"T": "success", "msg": "connected"}])
        if self.websocket.headers.get("apca-api-key-id"):
            await self._authenticate(
                self.websocket.headers.get("apca-api-key-id", ""),
                self.websocket.headers.get("apca-api-secret-key", ""),
            )
        while True:
            received = await self.websocket.receive()
            if received["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(received.get("code", 1000))
            self.messages_received += 1
            msg = self._decode(received)
            if not isinstance(msg, dict):
                self.error(400, "invalid syntax")
                continue
            await self._handle(msg)

    def _decode(self, received: Mapping[str, Any]) -> Any:
        if received.get("bytes") is not None:
            try:
                return msgpack.unpackb(received["bytes"])
            except Exception:
                pass
        try:
            return orjson.loads(received.get("text") or received.get("bytes") or b"")
        except orjson.JSONDecodeError:
            return None

    async def _handle(self, msg: dict[str, Any]) -> None:
        action = msg.get("action")
        if action == "auth":
            if self.authenticated:
                self.error(403, "already authenticated")
                return
            await self._authenticate(str(msg.get("key") or ""), str(msg.get("secret") or ""))
            return
        if action in ("subscribe", "unsubscribe"):
            if not self.authenticated:
                self.error(401, "not authenticated")
                return
            others = [k for k, v in msg.items() if k != "action" and k not in self.channels and v]
            lists = [msg.get(channel, []) for channel in self.channels]
            if others or not all(
                isinstance(symbols, list) and all(isinstance(s, str) for s in symbols)
                for symbols in lists
            ):
                self.error(410, "invalid subscribe action for this feed")
                return
            wanted = {
                channel: {s.strip().upper() for s in symbols if s.strip()}
                for channel, symbols in zip(self.channels, lists, strict=True)
            }
            self.subscribe(action, wanted)
            self.send([{"T": "subscription", **self.subscriptions()}])
            return
        self.error(400, "invalid syntax")

    async def _authenticate(self, key: str, secret: str) -> None:
        headers = {"apca-api-key-id": key, "apca-api-secret-key": secret}
        cid = credential(self.facade, headers) if key else None
        if not cid:
            self.error(402, "auth failed")
            return
        if any(s is not self for s in self.sandbox.hub.find(self.kind, cid)):
            self.error(406, "connection limit exceeded")
            self._outbox.put_nowait(None)  # close once the error is out
            return
        self.authenticated = True
        self.credential = cid
        self.send([{"T": "success", "msg": "authenticated"}])

    async def _background(self) -> None:
        """The ordered sender, and the auth deadline."""
        deadline = float(getattr(self.sandbox.config, self.auth_timeout_setting))
        waited: asyncio.Task[Any] = asyncio.create_task(asyncio.sleep(deadline))
        getter: asyncio.Task[Any] | None = None
        try:
            while True:
                getter = asyncio.create_task(self._outbox.get())
                done, _ = await asyncio.wait({getter, waited}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    if not self.authenticated:
                        self.error(404, "auth timeout")
                        self._outbox.put_nowait(None)
                    waited = asyncio.create_task(asyncio.Event().wait())
                    continue
                batch = getter.result()
                if batch is None:
                    await self.close(1008, "closed")
                    return
                await self._write(batch)
        finally:
            waited.cancel()
            if getter is not None:
                getter.cancel()

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        if not await self.may_send():
            return
        if self.msgpack:
            await self.websocket.send_bytes(msgpack.packb(batch, datetime=True))
        else:
            await self.websocket.send_text(orjson.dumps(batch).decode())

    def send(self, batch: list[dict[str, Any]]) -> None:
        """Queue one frame (an array of messages), sent in order."""
        self._outbox.put_nowait(batch)

    def error(self, code: int, text: str) -> None:
        self.send([{"T": "error", "code": code, "msg": text}])

    def state(self) -> dict[str, Any]:
        return {**super().state(), **self.subscriptions(), "msgpack": self.msgpack}
