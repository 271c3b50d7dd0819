"""Every refusal in the broker's own error shape, never plain text (issue 11, item 2):
an unknown route, a method a route does not take, a sandbox bug. The SDKs parse error
bodies: a plain-text one reads as "Couldn't parse response" or as a network fault."""

from __future__ import annotations

import httpx
import pytest
from tastytrade.paper import PaperSession
from tastytrade.utils import TastytradeError


@pytest.fixture
def http(sandbox):
    with httpx.Client(base_url=sandbox.url, timeout=5) as client:
        yield client


def test_tastytrade_unknown_route_and_method(http):
    missing = http.get("/no/such/thing")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {"code": "not_found", "message": "No such endpoint: GET /no/such/thing"}
    }
    refused = http.delete("/api-quote-tokens")
    assert refused.status_code == 405
    assert "GET" in refused.headers["allow"]
    assert refused.json() == {
        "error": {
            "code": "method_not_allowed",
            "message": "DELETE is not allowed on /api-quote-tokens",
        }
    }


def test_tradier_unknown_route_in_json_and_xml(http):
    json_answer = http.get("/tradier/v1/no/such", headers={"Accept": "application/json"})
    assert json_answer.status_code == 404
    assert json_answer.json() == {
        "errors": {"error": ["No such endpoint: GET /tradier/v1/no/such"]}
    }
    xml_answer = http.get("/tradier/v1/no/such")  # Tradier answers XML unless asked for JSON
    assert xml_answer.status_code == 404
    assert xml_answer.headers["content-type"].startswith("application/xml")
    assert "<error>No such endpoint: GET /tradier/v1/no/such</error>" in xml_answer.text


def test_alpaca_unknown_route(http):
    answer = http.get("/alpaca/v1/no/such")
    assert answer.status_code == 404
    assert answer.json() == {
        "code": 40410000,
        "message": "no such endpoint: get /alpaca/v1/no/such",
    }


def test_the_control_api_refuses_in_json(http):
    answer = http.get("/_sandbox/nothing-here")
    assert answer.status_code == 404
    assert answer.json() == {
        "error": {"code": "not_found", "message": "No such endpoint: GET /_sandbox/nothing-here"}
    }


async def test_the_sdk_reports_the_brokers_error_not_a_parse_failure(sandbox):
    """An endpoint the sandbox deliberately does not serve (tastyware's paper API, see
    test_sdk_coverage's ABSENT): the SDK raises the broker's code and message (it used to
    be "Couldn't parse response: Not Found")."""
    async with PaperSession("sandbox-paper-key") as paper:
        paper._client.base_url = sandbox.url
        with pytest.raises(TastytradeError) as raised:
            await paper.create_account("sandbox")
    assert "not_found: No such endpoint: POST /accounts" in str(raised.value)
