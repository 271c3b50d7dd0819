"""tastytrade's OAuth token endpoint, `POST /oauth/token`: the refresh_token grant.

A token request is what RFC 6749 defines (§6, §4.1.3 and Appendix B): form parameters in
`application/x-www-form-urlencoded`, UTF-8; the tastytrade SDK sends the same parameters
as a JSON object (`Session.refresh`), which is taken too. The body is parsed here with the
standard library (no form parser, no python-multipart). The client secret comes as the
`client_secret` parameter, or by HTTP Basic (§2.3.1: `client_id:client_secret`, each
form-encoded), not both (§2.3: one method per request).

Refusals are §5.2's error codes — `invalid_request` (a content type that is neither, a
body that does not parse, a parameter missing or sent twice, §3.2), `unsupported_grant_type`,
`invalid_client` (401), `invalid_grant` (401: a revoked refresh token) — in the error object
the SDK parses, `{"error": {"code", "message"}}` (an RFC-style string `error` crashes it).
An answer with a token is not to be cached (§5.1: `Cache-Control: no-store`).
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core import demo_seed
from sandbox.core.credentials import AuthError
from sandbox.http import json_response
from sandbox.tastytrade.rest import error_response, sandbox_of

__all__ = ["oauth_token", "routes", "token_parameters"]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
GRANT = "refresh_token"
#: §5.1: "The authorization server MUST include the HTTP Cache-Control response header
#: field with a value of no-store in any response containing tokens".
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _invalid(message: str) -> AuthError:
    return AuthError(400, "invalid_request", message)


def _form(body: bytes, charset: str) -> list[tuple[str, str]]:
    if charset not in ("", "utf-8"):
        raise _invalid(f"Form parameters are UTF-8, not {charset} (RFC 6749 Appendix B)")
    try:
        text = body.decode("ascii")  # anything else is percent-encoded in a form body
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise _invalid("The body is not application/x-www-form-urlencoded UTF-8") from None


def _json(body: bytes) -> list[tuple[str, str]]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _invalid("The body is not JSON") from None
    if not isinstance(value, dict):
        raise _invalid("The body must be a JSON object")
    if not all(isinstance(v, str) for v in value.values()):
        raise _invalid("Every parameter must be a string")
    return list(value.items())


def token_parameters(content_type: str, body: bytes) -> dict[str, str]:
    """A token request's parameters, or AuthError (`invalid_request`)."""
    media, _, rest = content_type.partition(";")
    media = media.strip().lower()
    charset = ""
    for parameter in rest.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if media == FORM:
        pairs = _form(body, charset)
    elif media == JSON:
        pairs = _json(body)
    else:
        raise _invalid(f"Send the parameters as {FORM} (RFC 6749 §4.1.3) or as {JSON}")
    found: dict[str, str] = {}
    for name, value in pairs:
        if name in found:
            raise _invalid(f"{name} is sent more than once (RFC 6749 §3.2)")
        found[name] = value
    return found


def _basic_secret(authorization: str) -> str | None:
    """The client secret of an HTTP Basic `Authorization` header (§2.3.1), else None."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError(401, "invalid_client", "Client authentication failed") from None
    _, colon, secret = decoded.partition(":")
    if not colon:
        raise AuthError(401, "invalid_client", "Client authentication failed")
    return unquote_plus(secret)


async def oauth_token(request: Request) -> Response:
    sandbox = sandbox_of(request)
    try:
        found = token_parameters(request.headers.get("content-type", ""), await request.body())
        grant = found.get("grant_type")
        if not grant:
            raise _invalid("grant_type is required")
        if grant != GRANT:
            raise AuthError(400, "unsupported_grant_type", f"Only {GRANT} is supported")
        secret = _basic_secret(request.headers.get("authorization", ""))
        if secret is not None and "client_secret" in found:
            raise _invalid("Authenticate the client one way: HTTP Basic or client_secret")
        token, credential = sandbox.credentials.refresh(
            client_secret=found.get("client_secret", "") if secret is None else secret,
            refresh_token=found.get("refresh_token", ""),
            required_secret=sandbox.config.client_secret,
            lifetime=sandbox.config.token_lifetime,
        )
    except AuthError as exc:
        return error_response(exc.status, exc.code, exc.message)
    sandbox.open_customer(credential, demo_seed.TASTYTRADE)
    answer = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(sandbox.config.token_lifetime),
        "id_token": None,
    }
    return json_response(answer, headers=NO_STORE)


routes = [Route("/oauth/token", oauth_token, methods=["POST"])]
