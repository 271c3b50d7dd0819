"""The API's description (streaming/api/openapi.yaml) is valid OpenAPI 3.1, is served at
/api/schema, and matches the URLconf both ways: every route is described or named here as
a page (with why), every path described is a route, and an operation readable with an API
token is exactly one whose view `token_readable` marks, with the same limit.
The methods each path takes are checked against the running app by the fuzz
(tests/e2e/test_api_fuzz.py: an undocumented method must be a 405)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver
from openapi_spec_validator import OpenAPIV31SpecValidator

from config import urls
from streaming.api.description import description, openapi_path
from streaming.tabs.bearer import PUBLIC_ATTRIBUTE, VIEW_ATTRIBUTE

#: Routes that are not JSON endpoints, and why (a page answers HTML; its data comes from
#: the JSON endpoints described).
NOT_API: dict[str, str] = {
    "login/": "the login page (a form)",
    "logout/": "logs out, then redirects",
    "ops/streams/": "the stream-health page; its data is /ops/streams.json",
    "settings/tokens": "the API tokens page (a form: the token is shown once, in the page)",
    "settings/tokens/<int:token_id>/revoke": "the tokens page's revoke form",
    "settings/display": "the display preferences' form; its API is /api/preferences",
    "market": "the market overview page",
    "chart/<path:symbol>": "the chart page",
    "chain/<str:symbol>": "the option chain page",
    "alerts": "the alerts page",
    "settings/notifications": "the devices page",
    "sw.js": "the service worker (JavaScript)",
    "offline": "the offline page",
    "news/<str:symbol>": "a symbol's news page",
    "risk": "the risk page",
    "pnl": "the P&L page",
    "settings/limits": "the limits' form; its API is /api/risk/limits",
    "": "the dashboard",
    "trading": "the trading page",
    "replay": "the recorded days' page",
    "replay/<str:day>": "a recorded day's replay page (its data: the /ws/replay/ socket)",
    "api/risk/": "names no curve: its one answer is the JSON 404 of any unknown /api/ path",
}
#: Included URLconfs that are not ours to describe.
NOT_API_INCLUDES = {"admin/": "Django's admin"}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def routes(patterns: Iterable[URLPattern | URLResolver]) -> Iterator[tuple[str, URLPattern]]:
    """Every route of the URLconf (an included one named in NOT_API_INCLUDES aside)."""
    for pattern in patterns:
        route = str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            assert route in NOT_API_INCLUDES, f"an include to describe: {route!r}"
            continue
        yield route, pattern


def mismatches(
    described: Iterable[str], routed: Iterable[str], pages: Mapping[str, str]
) -> dict[str, list[str]]:
    """What does not match: routes with no entry, entries with no route, pages that are
    no route (a stale exclusion), pages described all the same."""
    described, routed = set(described), set(routed)
    api = {openapi_path(route) for route in routed if route not in pages}
    return {
        "route without an entry": sorted(api - described),
        "entry without a route": sorted(described - {openapi_path(r) for r in routed}),
        "page that is no route": sorted(set(pages) - routed),
        "page described": sorted(described & {openapi_path(p) for p in pages}),
    }


NONE = {
    "route without an entry": [],
    "entry without a route": [],
    "page that is no route": [],
    "page described": [],
}


def test_the_description_is_valid_openapi_3_1():
    document = description()
    assert document["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(document).validate()


def test_every_route_has_an_entry_and_every_entry_a_route():
    routed = [route for route, _ in routes(urls.urlpatterns)]
    assert mismatches(description()["paths"], routed, NOT_API) == NONE


def test_the_comparison_names_each_kind_of_mismatch():
    """The check itself can fail: on a made-up URLconf, each difference is named."""
    described = ["/api/alerts", "/api/gone", "/alerts"]
    routed = ["api/alerts", "api/alerts/<int:alert_id>", "alerts"]
    assert mismatches(described, routed, {"alerts": "a page", "old": "a page"}) == {
        "route without an entry": ["/api/alerts/{alert_id}"],
        "entry without a route": ["/api/gone"],
        "page that is no route": ["old"],
        "page described": ["/alerts"],
    }


def token_roles(operation: Mapping[str, object]) -> set[str]:
    """The limits an operation's `apiToken` security requirement names (none: no token)."""
    requirements = operation.get("security", description().get("security", []))
    assert isinstance(requirements, list)
    return {role for requirement in requirements for role in requirement.get("apiToken", ())}


def test_an_operation_takes_a_token_exactly_where_its_view_is_token_readable():
    """`apiToken: [snapshot]` where the route's view is `token_readable("snapshot")`; a
    token-readable route reads with a token (GET), and nothing else does."""
    paths = description()["paths"]
    wrong = []
    for route, pattern in routes(urls.urlpatterns):
        entry = paths.get(openapi_path(route))
        if entry is None:
            continue
        kind = getattr(pattern.callback, VIEW_ATTRIBUTE, None)
        for method in METHODS:
            if method not in entry:
                continue
            roles = token_roles(entry[method])
            expected = {kind} if kind is not None and method == "get" else set()
            if roles != expected:
                wrong.append(f"{method.upper()} /{route}: {sorted(roles)}, view: {kind}")
    assert wrong == []


#: Error statuses whose answer is not the Error shape, and why.
NOT_ERROR_SHAPED = {("/ready", "get", "503"): "the readiness report, naming each failing part"}


def error_shape_mismatches(document: Mapping[str, object]) -> list[str]:
    """Operations without an id or a success, and error answers (4xx, 5xx) that are not
    the Error shape (`error` and `message`)."""
    components = document["components"]["responses"]  # type: ignore[index]
    wrong = []
    for path, entry in document["paths"].items():  # type: ignore[attr-defined]
        for method in METHODS:
            if method not in entry:
                continue
            operation = entry[method]
            if not operation.get("operationId") or not any(
                code.startswith("2") for code in operation["responses"]
            ):
                wrong.append(f"{method.upper()} {path}: no operationId or no success")
            for code, answer in operation["responses"].items():
                if code < "400" or (path, method, code) in NOT_ERROR_SHAPED:
                    continue
                answer = components.get(answer.get("$ref", "").rsplit("/", 1)[-1], answer)
                body = answer.get("content", {}).get("application/json", {}).get("schema")
                if body != {"$ref": "#/components/schemas/Error"}:
                    wrong.append(f"{method.upper()} {path} {code}: not the Error shape")
    return wrong


def test_an_operation_needs_no_caller_exactly_where_its_view_is_public():
    """`security: []` where the route's view is marked `public` (a token is not looked
    at there), and only there."""
    paths = description()["paths"]
    wrong = []
    for route, pattern in routes(urls.urlpatterns):
        entry = paths.get(openapi_path(route))
        if entry is None:
            continue
        marked = getattr(pattern.callback, PUBLIC_ATTRIBUTE, False)
        for method in METHODS:
            if method in entry and (entry[method].get("security") == []) != marked:
                wrong.append(f"{method.upper()} /{route}: security {entry[method].get('security')}")
    assert wrong == []


def test_every_operation_names_its_success_and_its_errors_are_the_error_shape():
    assert error_shape_mismatches(description()) == []


def test_the_error_shape_check_names_an_error_without_it():
    """The check can fail: a 400 described as a bare object is named."""
    document = {
        "components": {"responses": {}},
        "paths": {
            "/api/x": {
                "get": {
                    "operationId": "x",
                    "responses": {
                        "200": {"description": "ok"},
                        "400": {"content": {"application/json": {"schema": {"type": "object"}}}},
                    },
                }
            }
        },
    }
    assert error_shape_mismatches(document) == ["GET /api/x 400: not the Error shape"]


@pytest.mark.django_db
def test_the_description_is_served_at_api_schema_as_json_without_a_login():
    response = Client().get("/api/schema")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json"
    assert response.json() == description()
