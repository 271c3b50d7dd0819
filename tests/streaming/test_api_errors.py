"""Every answer under /api/ is JSON, also the ones no view wrote: a path no route matches
(an encoded slash included), a method the route does not take, a failure on the server;
pages still answer HTML (docs/streaming-contract.md, "The JSON API: its description, and
its errors").

Through Django's test client and the whole middleware stack; the one edge replaced is the
view's read that is made to fail, to force a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


def json_error(response, status: int, error: str) -> dict:
    """The body of a JSON error answer with `status`, `error` and a sentence."""
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"].split(";")[0] == "application/json", response["Content-Type"]
    body = response.json()
    assert body["error"] == error, body
    assert body["message"].endswith("."), body
    return body


@pytest.fixture
def trader() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user("api-errors", password="pw"))
    return client


def test_an_unknown_api_path_is_a_json_404_and_a_page_path_html():
    """No route under /api/: JSON naming the path and where the API is described."""
    body = json_error(Client().get("/api/no-such-thing"), 404, "not_found")
    assert "/api/no-such-thing" in body["message"] and "/api/schema" in body["message"]
    page = Client().get("/no-such-page")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_an_encoded_slash_is_a_slash_and_a_json_404():
    """`%2F` splits the path: `/api/chain/SPY%2FX/expirations` matches no route."""
    body = json_error(Client().get("/api/chain/SPY%2FX/expirations"), 404, "not_found")
    assert "/api/chain/SPY/X/expirations" in body["message"]


def test_a_method_the_route_does_not_take_is_a_json_405_with_allow(trader):
    """Django's own 405 (`require_http_methods`) becomes JSON; `Allow` is kept."""
    response = trader.delete("/api/preferences")
    body = json_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, PUT"
    assert body["message"] == "/api/preferences takes GET or PUT, not DELETE."


def test_a_json_endpoint_outside_api_answers_its_405_as_json(trader):
    """`POST /watchlist` is a JSON endpoint at a page's path: its 405 is JSON too."""
    response = trader.get("/watchlist")
    json_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


def test_a_failure_in_an_api_view_is_a_json_500_without_the_traceback(trader, monkeypatch):
    """The exception is logged, never sent: the body is a sentence."""

    def broken(user_id: int) -> None:
        raise RuntimeError("the secret detail of a failure")

    monkeypatch.setattr("streaming.alerts.views._listing", broken)
    trader.raise_request_exception = False
    response = trader.get("/api/alerts")
    json_error(response, 500, "server_error")
    assert b"secret detail" not in response.content
    assert b"Traceback" not in response.content
