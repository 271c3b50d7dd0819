"""tastytrade's OAuth token endpoint (`POST /oauth/token`, the sandbox's only token
endpoint: Tradier's sandbox takes a standing bearer token and Alpaca API keys) as RFC 6749
defines token requests, over a real socket with httpx.

- §4.1.3 / §6 and Appendix B: the request is `application/x-www-form-urlencoded` (UTF-8);
  the tastytrade SDK sends JSON, which keeps working (`Session.refresh`).
- §2.3.1: the client may authenticate with HTTP Basic instead of a `client_secret`
  parameter.
- §3.2: a parameter sent twice is refused; §5.1: a token answer carries
  `Cache-Control: no-store`.
- §5.2: a bad request is a 400 with `invalid_request` (bad content type, broken body,
  missing `grant_type`), `unsupported_grant_type` for an unknown grant — in the error
  object the tastytrade SDK parses (`{"error": {"code", "message"}}`), never a 500.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest

SECRET = "oauth-test-secret"
FORM = "application/x-www-form-urlencoded"


def _refresh_token() -> str:
    return f"oauth-{uuid.uuid4().hex[:12]}"


def _post(sandbox: Any, content: bytes | str, content_type: str | None, **headers: str) -> Any:
    if content_type is not None:
        headers["Content-Type"] = content_type
    return httpx.post(f"{sandbox.url}/oauth/token", content=content, headers=headers, timeout=10)


def _works(sandbox: Any, answer: httpx.Response) -> None:
    """A token answer whose access token opens the customer's accounts."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    accounts = httpx.get(
        f"{sandbox.url}/customers/me/accounts",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10,
    )
    assert accounts.status_code == 200 and accounts.json()["data"]["items"]


def test_a_form_encoded_refresh_grant_gets_a_token(sandbox):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": _refresh_token(),
        "client_secret": SECRET,
    }
    _works(sandbox, httpx.post(f"{sandbox.url}/oauth/token", data=form, timeout=10))
    # the same with a charset, and the client secret by HTTP Basic (RFC 6749 §2.3.1)
    basic = base64.b64encode(f"streamdesk:{SECRET}".encode()).decode()
    body = f"grant_type=refresh_token&refresh_token={_refresh_token()}"
    _works(sandbox, _post(sandbox, body, f"{FORM}; charset=UTF-8", Authorization=f"Basic {basic}"))


def test_a_json_refresh_grant_still_gets_a_token(sandbox):
    grant = {
        "grant_type": "refresh_token",
        "refresh_token": _refresh_token(),
        "client_secret": SECRET,
    }
    _works(sandbox, httpx.post(f"{sandbox.url}/oauth/token", json=grant, timeout=10))


GRANT = f"grant_type=refresh_token&refresh_token=r-1&client_secret={SECRET}"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (GRANT, "text/plain", 400, "invalid_request"),
        (GRANT, None, 400, "invalid_request"),
        (GRANT, "multipart/form-data; boundary=x", 400, "invalid_request"),
        ('{"grant_type": "refresh_token"', "application/json", 400, "invalid_request"),
        ('["grant_type", "refresh_token"]', "application/json", 400, "invalid_request"),
        (
            '{"grant_type": "refresh_token", "refresh_token": 7}',
            "application/json",
            400,
            "invalid_request",
        ),
        (b"grant_type=refresh_token&refresh_token=%ff%fe", FORM, 400, "invalid_request"),
        (b"grant_type=refresh_\xff", FORM, 400, "invalid_request"),
        ("grant_type&refresh_token=r-1", FORM, 400, "invalid_request"),
        (f"{GRANT}&grant_type=refresh_token", FORM, 400, "invalid_request"),
        (f"refresh_token=r-1&client_secret={SECRET}", FORM, 400, "invalid_request"),
        ('{"refresh_token": "r-1"}', "application/json", 400, "invalid_request"),
        (
            f"grant_type=password&username=u&password=p&client_secret={SECRET}",
            FORM,
            400,
            "unsupported_grant_type",
        ),
        ('{"grant_type": "client_credentials"}', "application/json", 400, "unsupported_grant_type"),
        ("grant_type=refresh_token&client_secret=x", FORM, 400, "invalid_request"),
        ("grant_type=refresh_token&refresh_token=r-1", FORM, 401, "invalid_client"),
        ("", FORM, 400, "invalid_request"),
    ],
)
def test_a_malformed_token_request_gets_an_oauth_error(
    sandbox, content, content_type, status, code
):
    answer = _post(sandbox, content, content_type)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]
