"""The sandbox's broker façades fuzzed from minimal OpenAPI descriptions of what the brokers
document (sandbox/openapi/: tastytrade, Tradier, Alpaca's Trading API), as a customer with
real credentials and accounts: no 5xx, and every refusal in the broker's own error shape
(docs/sandbox.md "One error vocabulary per broker"), as the description says it. Bounded
and derandomized like the app's fuzz (tests/support/fuzz.py), over a real socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
import schemathesis

from sandbox.server import SandboxServer
from tests.support.fuzz import DESCRIBED, FuzzRun, fuzz, html_answer, no_5xx

DESCRIPTIONS = Path(__file__).resolve().parents[2] / "sandbox" / "openapi"
#: Cases per operation and generation mode.
MAX_EXAMPLES = 4


def described(broker: str, **credentials: dict[str, str]):
    config = schemathesis.Config.from_dict({"auth": {"openapi": credentials}})
    return schemathesis.openapi.from_path(DESCRIPTIONS / f"{broker}.yaml", config=config)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    session = requests.Session()
    yield session
    session.close()


def _passes(run: FuzzRun) -> None:
    print(f"\n{run.report()}")  # the numbers docs/operations.md records
    assert run.operations and run.cases > len(run.operations)
    assert run.findings == {}, run.report()


def _fuzz(broker: str, schema, sandbox: SandboxServer, http, **kwargs) -> FuzzRun:
    return fuzz(
        schema,
        who=f"{broker} (sandbox)",
        base_url=sandbox.url + schema.raw_schema["servers"][0]["url"].rstrip("/"),
        session=http,
        max_examples=MAX_EXAMPLES,
        exclude={},
        answer_checks=(no_5xx, html_answer),
        conformance=DESCRIBED,
        **kwargs,
    )


def test_tastytrade(sandbox: SandboxServer, http):
    token = httpx.post(
        f"{sandbox.url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "fuzz", "client_secret": "fuzz"},
        timeout=10,
    ).json()["access_token"]
    accounts = httpx.get(
        f"{sandbox.url}/customers/me/accounts",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["data"]["items"]
    number = accounts[0]["account"]["account-number"]
    schema = described("tastytrade", bearer={"bearer": token})
    _passes(_fuzz("tastytrade", schema, sandbox, http, path_parameters={"account_number": number}))


def test_tradier(sandbox: SandboxServer, http):
    http.headers["Accept"] = "application/json"  # Tradier answers XML otherwise
    profile = httpx.get(
        f"{sandbox.url}/tradier/v1/user/profile",
        headers={"Authorization": "Bearer fuzz", "Accept": "application/json"},
        timeout=10,
    ).json()["profile"]
    number = profile["account"][0]["account_number"]
    schema = described("tradier", bearer={"bearer": "fuzz"})
    _passes(_fuzz("Tradier", schema, sandbox, http, path_parameters={"account_id": number}))


def test_alpaca_trading_api(sandbox: SandboxServer, http):
    schema = described("alpaca", keyId={"api_key": "fuzzkey"}, secretKey={"api_key": "fuzz"})
    _passes(_fuzz("Alpaca", schema, sandbox, http))
