"""Every answer under /api/ is JSON, also the ones no view wrote: a path no route matches
(an encoded slash included), a method the route does not take, a failure on the server;
pages still answer HTML (docs/streaming-contract.md, "The JSON API: its description, and
its errors").

Through Django's test client and the whole middleware stack; the one edge replaced is the
view's read that is made to fail, to force a 500."""

from __future__ import annotations

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponseNotAllowed
from django.test import Client, RequestFactory
from django.urls import resolve

from accounts.tokens import api_token_create
from streaming.api.description import description
from streaming.api.errors import with_message
from streaming.api.middleware import json_not_allowed

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


# ------------------------------------------- what the fuzz found (tests/e2e/test_api_fuzz.py)

CSRF = "b" * 32
ORIGIN = "http://testserver"


@pytest.fixture
def browser() -> Client:
    """A trader's browser with CSRF checks on: the session, the CSRF cookie."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.create_user("api-browser", password="pw"))
    client.cookies["csrftoken"] = CSRF
    return client


def send(client: Client, method: str, path: str, body: object = None, **headers: str | None):
    """`method` to `path` with a JSON body (bytes as they are) and the page's headers (one
    given as None is not sent)."""
    data = body if isinstance(body, bytes) else (b"" if body is None else orjson.dumps(body))
    sent = {"X-CSRFToken": CSRF, "Origin": ORIGIN, **headers}
    kept = {name: value for name, value in sent.items() if value is not None}
    return client.generic(method, path, data, content_type="application/json", headers=kept)


def in_words(response) -> str:
    """The sentence of a JSON 4xx (fails for anything else)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:200])
    assert response["Content-Type"].split(";")[0] == "application/json", response.content[:200]
    message = response.json().get("message")
    assert isinstance(message, str) and message.strip()[-1:] in (".", "!", "?"), response.json()
    return message


def concrete(path: str) -> str:
    """A described path with a value its route takes for each parameter."""
    return (
        path.replace("{alert_id}", "999999")
        .replace("{kind}", "orders")
        .replace("{ticket_id}", "no-such-ticket")
        .replace("{order_id}", "no-such-order")
        .replace("{symbol}", "SPY")
        .replace("{underlying}", "SPY")
    )


def described_operations(*, public: bool) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation that needs a caller (`public`: that does not)."""
    document = description()
    found = []
    for path, entry in document["paths"].items():
        for method, operation in entry.items():
            described = method in ("get", "put", "post", "patch", "delete")
            if described and (operation.get("security") == []) == public:
                found.append((method.upper(), path))
    return found


@pytest.mark.parametrize(("method", "path"), described_operations(public=False))
def test_nobody_logged_in_is_refused_in_words_everywhere(method, path):
    """Found by the fuzz: `{"error": "not_authenticated"}`, a code and no sentence (and
    Django's HTML CSRF page for a JSON endpoint outside /api/)."""
    in_words(send(Client(enforce_csrf_checks=True), method, concrete(path), {}))


#: One refusal of each kind each view family writes, as a logged-in trader.
REFUSALS = [
    ("GET", "/api/snapshot?tab=x", None),
    ("GET", "/api/orders?status=nope", None),
    ("GET", "/api/exports/nope.csv", None),
    ("PUT", "/api/preferences", {"flashes": "yes"}),
    ("PUT", "/api/notifications/settings", {"nope": True}),
    ("POST", "/watchlist", {"add": [1]}),
    ("POST", "/market/symbols", []),
    ("GET", "/api/chain/SP;Y", None),
    ("GET", "/api/chain/SPY/expirations?x=%00", None),
    ("POST", "/api/alerts", {"symbol": "SPY"}),
    ("PATCH", "/api/alerts/999999", {"level": 1}),
    ("DELETE", "/api/alerts/999999", None),
    ("POST", "/api/push/subscriptions", {"endpoint": "http://x"}),
    ("DELETE", "/api/push/subscriptions", {"id": 999999}),
    ("POST", "/api/push/test", {"id": 999999}),
    ("GET", "/api/news", None),
    ("GET", "/api/pnl?day=yesterday", None),
    ("PUT", "/api/risk/limits", {"daily_loss": "x"}),
    ("GET", "/api/risk/strategies?x=1", None),
    ("GET", "/api/risk/portfolio?iv_shift=999", None),
    ("GET", "/api/risk/strategies/x", None),
    ("GET", "/api/risk/SPY/scenarios?iv_shift=5", None),
    ("GET", "/api/risk/SPY/scenarios?date=someday", None),
    ("GET", "/api/risk/portfolio/scenarios", None),
    ("POST", "/api/orders/preview", b"[]"),
    ("POST", "/api/orders", {"preview_id": 1}),
    ("GET", "/api/orders/tickets/no-such-ticket", None),
    ("DELETE", "/api/orders/no-such-order", None),
    ("POST", "/api/orders/cancel-all", {}),
    ("POST", "/api/trading/kill-switch", {"x": 1}),
    ("POST", "/api/trading/enable", {}),
    ("POST", "/api/trading/disable", {"x": 1}),
    ("GET", "/api/trading/audit?limit=0", None),
    ("POST", "/api/trading/totp/confirm", {"password": "x"}),
    ("GET", "/metrics", None),
    ("GET", "/ops/streams.json", None),
]


@pytest.mark.parametrize(("method", "path", "body"), REFUSALS)
def test_every_refusal_of_a_logged_in_trader_is_in_words(browser, method, path, body):
    """Found by the fuzz: sentences in `error` with no `message`, codes with no sentence."""
    in_words(send(browser, method, path, body))


def test_a_write_without_the_csrf_token_is_refused_in_json_outside_api_too(browser):
    """Found by the fuzz: `POST /watchlist` without the token got Django's HTML page."""
    response = browser.post("/watchlist", data=b"{}", content_type="application/json")
    assert response.json()["code"] == "csrf"
    in_words(response)


def test_a_trading_write_without_its_pages_origin_is_refused_in_words(browser):
    """Found by the fuzz: trading's guard answered `bad_origin` with no `message`."""
    response = send(browser, "POST", "/api/trading/disable", {}, Origin=None)
    assert response.json()["code"] == "bad_origin"
    in_words(response)


@pytest.fixture
def token() -> str:
    user = get_user_model().objects.create_user("api-script", password="pw")
    return api_token_create(user=user, name="script", lifetime_days=7).raw


def test_a_token_is_refused_in_words_where_it_may_not_go_and_a_bad_one_too(token):
    """Found by the fuzz: `token_read_only`, `invalid_token` as codes only."""
    script = Client()
    refused = script.get("/api/alerts", headers={"Authorization": f"Bearer {token}"})
    assert refused.json()["error"] == "token_read_only"
    in_words(refused)
    bad = script.get("/api/snapshot", headers={"Authorization": "Bearer sdt_nope"})
    assert (bad.status_code, bad.json()["error"]) == (401, "invalid_token")
    in_words(bad)


@pytest.mark.parametrize(("method", "path"), described_operations(public=True))
def test_a_public_endpoint_serves_a_script_that_sends_its_token(token, method, path):
    """Found by the fuzz: `/health`, `/ready`, `/api/schema` and the manifest answered a
    valid token 403 `token_read_only`: they need no caller, so a token changes nothing."""
    response = Client().generic(method, path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 503) and response.status_code == (
        Client().generic(method, path).status_code
    ), response.content[:200]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/api/snapshot", "GET"),
        ("PUT", "/api/risk/portfolio", "GET"),
        ("DELETE", "/api/risk/SPY", "GET"),
        ("POST", "/api/events", "GET"),
        ("PATCH", "/api/news/stream", "GET"),
        ("POST", "/health", "GET"),
        ("PUT", "/api/candles/SPY", "GET"),
        ("PUT", "/api/push/subscriptions", "GET, POST, DELETE"),
        ("POST", "/ops/streams.json", "GET"),
        ("GET", "/api/orders/preview", "POST"),
        ("PUT", "/api/alerts", "GET, POST"),
    ],
)
def test_a_method_the_description_does_not_list_is_a_405_naming_the_ones_it_does(
    browser, method, path, allowed
):
    """Found by the fuzz: the snapshot, the risk curves, the streams and the health checks
    answered any method as GET (200, or a stream opened by a DELETE); other routes
    answered 400 or 403 before their own method check, or a 405 with no `Allow`."""
    response = send(browser, method, path, {})
    assert response.status_code == 405, response.content[:200]
    assert response["Allow"] == allowed
    assert in_words(response).endswith(f"not {method}.")


def test_djangos_own_405_to_the_api_becomes_json_and_a_pages_stays_as_it_is():
    """The second line: were a view's `require_http_methods` to refuse a method the
    description lists, its empty `text/html` 405 still reaches a script as JSON."""
    factory = RequestFactory()
    api = factory.delete("/api/preferences")
    api.resolver_match = resolve("/api/preferences")
    answer = json_not_allowed(api, HttpResponseNotAllowed(["GET", "PUT"]))
    assert (answer.status_code, answer["Allow"]) == (405, "GET, PUT")
    assert orjson.loads(answer.content) == {
        "error": "method_not_allowed",
        "message": "/api/preferences takes GET or PUT, not DELETE.",
    }
    page = factory.delete("/settings/display")
    page.resolver_match = resolve("/settings/display")
    django_own = HttpResponseNotAllowed(["GET", "POST"])
    assert json_not_allowed(page, django_own) is django_own


def test_an_error_body_without_its_sentence_still_gets_one():
    """A broker that refused without a reason (trading's `said.error` None) must not turn
    the refusal into a 500: `error` and `message` say so, with the code."""
    assert with_message({"error": None, "code": "rejected"}) == {
        "error": "Refused (rejected), with no reason given.",
        "code": "rejected",
        "message": "Refused (rejected), with no reason given.",
    }
    assert with_message({"error": "No such ticket.", "code": "not_found"})["message"] == (
        "No such ticket."
    )
