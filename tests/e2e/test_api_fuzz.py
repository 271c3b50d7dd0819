"""The JSON API fuzzed from its own description (docs/streaming-contract.md, "The JSON API:
its description, and its errors"): every operation of /api/schema, valid and broken input,
as the demo trader (session cookie, CSRF token and Origin on writes; trading off, so no
order is placed: every trading write must answer a clean 403) and as a read-only API
token, against a real daphne and the sandbox's brokers. No 500, no HTML, every status,
content type and body as described, every 4xx with a sentence; a method a path does not
take is a JSON 405 with `Allow`. Bounded (a fixed number of cases per operation) and
derandomized: the same cases in every run (tests/support/fuzz.py).

The streams (`/api/events`, `/api/news/stream`) are described but not fuzzed here: they
answer `text/event-stream` until the client goes (their refusals: tests/e2e/test_sse.py,
tests/e2e/test_news_stream.py). The per-minute limits of tokens and of trading are raised
for this app: at their defaults the run would mostly fuzz the limiter (its own tests:
tests/e2e/test_api_tokens.py, tests/streaming/test_trading_tickets.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import schemathesis

from sandbox.server import SandboxServer
from streaming.api.description import description
from tests.support.fuzz import FuzzRun, error_in_words, fuzz, html_answer, no_500
from tests.support.live import DEMO_USER, LiveApp, read_json

#: Cases per operation and generation mode (valid input, broken input).
MAX_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "5"))
#: A run is a few hundred requests, each answered by the live app: on a starved box (CI,
#: 2026-11-29) the read-only token's took 39 s, the trader's 112 s, past the suite's 120 s
#: with its fixtures.
pytestmark = pytest.mark.timeout(360)
#: The methods every path is tried with; the ones it does not list must be a JSON 405.
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
STREAMS = {
    "GET /api/events": "a stream (text/event-stream until the client goes): tests/e2e/test_sse.py",
    "GET /api/news/stream": "a stream: tests/e2e/test_news_stream.py",
}
UNLIMITED = "1000000"
#: What would place an order, or preview one: trading is off for the fuzzed trader.
PLACING = frozenset({"/api/orders", "/api/orders/preview"})


def nothing_placed(response: requests.Response) -> str | None:
    """A preview or a confirm taken while trading is off (the trader never turned it on)."""
    request = response.request
    path = urlsplit(request.url or "").path
    if request.method == "POST" and path in PLACING and response.status_code < 300:
        return f"{request.method} {path} answered {response.status_code} with trading off"
    return None


@pytest.fixture(scope="module")
def live_app(live_sandbox: SandboxServer, tmp_path_factory) -> Iterator[LiveApp]:
    app = LiveApp(
        live_sandbox.url,
        tmp_path_factory.mktemp("fuzz"),
        API_TOKEN_SNAPSHOTS_PER_MINUTE=UNLIMITED,
        API_TOKEN_CONNECTS_PER_MINUTE=UNLIMITED,
        TRADING_RATE_PER_MINUTE=UNLIMITED,
    ).start()
    yield app
    app.stop()


def described(app: LiveApp, **credentials: dict[str, str]):
    """The description as the app serves it, with the credentials schemathesis puts in
    each case for its security schemes (a case that drops them on purpose goes without)."""
    config = schemathesis.Config.from_dict({"auth": {"openapi": credentials}})
    return schemathesis.openapi.from_url(f"{app.url}/api/schema", config=config)


@pytest.fixture(scope="module")
def trader(live_app: LiveApp, demo: httpx.Client) -> Iterator[tuple[object, requests.Session]]:
    """The demo trader's browser (its six accounts streaming: `demo`): the session cookie,
    the CSRF token on writes and the page's Origin."""
    session = requests.Session()
    session.headers["Origin"] = live_app.url
    session.cookies["csrftoken"] = demo.cookies["csrftoken"]  # the header's pair
    schema = described(
        live_app,
        session={"api_key": demo.cookies["sessionid"]},
        csrf={"api_key": demo.cookies["csrftoken"]},
    )
    yield schema, session
    session.close()


@pytest.fixture(scope="module")
def script(live_app: LiveApp, demo: httpx.Client) -> Iterator[tuple[object, requests.Session]]:
    """A script with the demo trader's read-only API token (no cookie), sent on every
    request: where only a session may go, it must be refused in words."""
    raw = live_app.python(
        "from django.contrib.auth import get_user_model\n"
        "from accounts.tokens import api_token_create\n"
        f"user = get_user_model().objects.get(username={DEMO_USER[0]!r})\n"
        "print(api_token_create(user=user, name='fuzz', lifetime_days=7).raw)\n"
    ).strip()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {raw}"
    yield described(live_app, apiToken={"bearer": raw}), session
    session.close()


def _passes(run: FuzzRun) -> None:
    print(f"\n{run.report()}")  # the numbers docs/operations.md records
    assert run.operations and run.cases > len(run.operations)
    assert run.findings == {}, run.report()


def order_ids(client: httpx.Client) -> set[str]:
    """Every order of the trader's the list holds (any status), by link and id."""
    page = read_json(client, "/api/orders", limit="200")
    return {f"{order['link']}:{order['id']}" for order in page["orders"]}


def test_every_operation_as_the_demo_trader(live_app, trader, demo):
    """Trading is off for the trader: no order is previewed or placed (every such request
    is refused: 403, or 400 for a body that is no order), and no order is new after."""
    schema, session = trader
    before = order_ids(demo)
    run = fuzz(
        schema,
        who="the demo trader (session)",
        base_url=live_app.url,
        session=session,
        max_examples=MAX_EXAMPLES,
        exclude=STREAMS,
        answer_checks=(no_500, html_answer, error_in_words, nothing_placed),
    )
    _passes(run)
    assert order_ids(demo) - before == set()


def test_every_operation_with_a_read_only_token(live_app, script):
    schema, session = script
    run = fuzz(
        schema,
        who="a read-only API token",
        base_url=live_app.url,
        session=session,
        headers={"Authorization": session.headers["Authorization"]},
        max_examples=MAX_EXAMPLES,
        exclude=STREAMS,
    )
    _passes(run)


def concrete(path: str, entry: dict) -> str:
    """`path` with each parameter a value its route takes (an integer, the enum's first)."""
    for method in entry.values():
        if not isinstance(method, dict):
            continue
        for parameter in [*entry.get("parameters", []), *method.get("parameters", [])]:
            if "$ref" in parameter or parameter["in"] != "path":
                continue
            schema = parameter["schema"]
            value = "1" if schema.get("type") == "integer" else schema.get("enum", ["SPY"])[0]
            path = path.replace("{" + parameter["name"] + "}", value)
    return path


def test_a_method_no_path_lists_is_a_json_405_naming_the_ones_it_takes(live_app, demo):
    """Each path tried with every method it does not list (as the trader, CSRF and all):
    a JSON 405 with a sentence, its `Allow` naming at least the methods listed."""
    trader = requests.Session()
    trader.cookies.update(dict(demo.cookies.items()))
    trader.headers.update({"X-CSRFToken": demo.cookies["csrftoken"], "Origin": live_app.url})
    wrong = []
    tried = 0
    for path, entry in description()["paths"].items():
        listed = {method.upper() for method in entry if method.upper() in METHODS}
        url = live_app.url + concrete(path, entry)
        for method in sorted(set(METHODS) - listed):
            tried += 1
            try:
                response = trader.request(method, url, timeout=10, stream=True)
            except requests.Timeout:
                wrong.append(f"{method} {path}: no answer in 10 s")
                continue
            with response:
                allow = {
                    m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()
                }
                json = response.headers.get("Content-Type", "").startswith("application/json")
                body = response.json() if json else {}
            if response.status_code != 405 or not body.get("message") or not listed <= allow:
                wrong.append(
                    f"{method} {path}: {response.status_code} "
                    f"{response.headers.get('Content-Type')} Allow={sorted(allow)} {body}"
                )
    print(f"\n{tried} methods no path lists tried")
    assert wrong == [], "\n".join(wrong)
