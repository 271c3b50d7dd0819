"""Every REST endpoint the installed tastytrade SDK calls is served by the sandbox, or listed
as deliberately absent (here and in the docs).

The SDK's source is read with `ast`: each call of `session._get/_post/_put/_delete`, of
`_paginate` (a GET), of `._client.<verb>` and of `._client.build_request("VERB", path)` gives
a (method, path); a path given as a name is followed to its `url = ...` / `url += ...`
assignments in the same function. Placeholders become sample values and each path is
matched against the routes of `build_app()`. A new SDK endpoint, or a call written in a
way this reader does not understand, fails the test.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest
import tastytrade
from starlette.routing import Match

from sandbox.app import build_app

SDK = Path(tastytrade.__file__).parent
DOC = Path(__file__).parents[2] / "docs" / "sandbox.md"

HELPERS = {"_get": "GET", "_post": "POST", "_put": "PUT", "_delete": "DELETE", "_paginate": "GET"}
CLIENT_VERBS = {"get", "post", "put", "patch", "delete"}
#: session.py's own helpers take the path as a parameter: they are not endpoints.
GENERIC = {("session.py", name) for name in ("_get", "_post", "_put", "_delete", "_paginate")}

#: What each placeholder of the SDK's f-string paths stands for, as a sample value.
SAMPLES = {
    "self.account_number": "5WT00001",
    "account_number": "5WT00001",
    "order_id": "123456",
    "old_order_id": "123456",
    "currency": "USD",
    "root_symbol": "ES",
    "self.name": "my-list",
    "id": "123456",
    "symbol": "AAPL",
    "symbols": "NKLAW",
    "name": "my-list",
    "exchange": "CME",
    "code": "ES",
    "exchange.value": "CME",
    "instrument_type.value": "equity",
}

#: Endpoints the SDK calls that the sandbox deliberately does not serve: (method, path) →
#: why. Each must be unserved and named in docs/sandbox.md.
ABSENT = {
    ("POST", "/accounts"): "tastyware's paid paper-trading API (PaperSession), not tastytrade's",
    ("DELETE", "/accounts"): "tastyware's paid paper-trading API (PaperSession), not tastytrade's",
    ("POST", "/accounts/deposit"): "tastyware's paid paper-trading API (PaperSession)",
}


def _template(node: ast.expr) -> str | None:
    """A path expression as text with `{placeholder}`s, or None if it is not a path."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                parts.append("{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    return None


def _assigned(function: ast.AST, name: str) -> list[str]:
    """Every value a local path variable can hold: its `=` value, plus each `+=` suffix."""
    bases, suffixes = [], []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            text = _template(node.value)
            if text is not None:
                bases.append(text)
        elif (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
            and isinstance(node.op, ast.Add)
        ):
            suffixes.append(_template(node.value))
    return [b + s for b in bases for s in ["", *suffixes] if s is not None]


def _call(node: ast.Call) -> tuple[str, ast.expr] | None:
    """(method, path expression) if this is a call of the SDK's HTTP layer."""
    func = node.func
    if not isinstance(func, ast.Attribute):
        return None
    args = node.args
    if func.attr in HELPERS:
        index = 1 if func.attr == "_paginate" else 0
        return (HELPERS[func.attr], args[index]) if len(args) > index else None
    on_client = isinstance(func.value, ast.Attribute) and func.value.attr == "_client"
    if on_client and func.attr in CLIENT_VERBS and args:
        return func.attr.upper(), args[0]
    if on_client and func.attr == "build_request" and len(args) >= 2:
        verb = args[0]
        if isinstance(verb, ast.Constant) and isinstance(verb.value, str):
            return verb.value.upper(), args[1]
    return None


@functools.cache
def sdk_calls() -> dict[tuple[str, str], str]:
    """(method, path template) → where the SDK calls it; unreadable calls fail here."""
    found: dict[tuple[str, str], str] = {}
    unreadable = []
    for source in sorted(SDK.rglob("*.py")):
        tree = ast.parse(source.read_text(), str(source))
        functions = [
            n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for function in functions:
            if (source.name, function.name) in GENERIC:
                continue
            for node in ast.walk(function):
                if not isinstance(node, ast.Call) or (call := _call(node)) is None:
                    continue
                method, expr = call
                where = f"{source.name}:{node.lineno}"
                if isinstance(expr, ast.Name):
                    paths = _assigned(function, expr.id)
                else:
                    paths = [t] if (t := _template(expr)) is not None else []
                if not paths or not all(p.startswith("/") for p in paths):
                    unreadable.append(f"{where} {ast.unparse(node)[:80]}")
                for path in paths:
                    found.setdefault((method, path), where)
    assert not unreadable, f"SDK calls this test cannot read: {unreadable}"
    return found


def sample_path(template: str) -> str:
    text = template
    while "{" in text:
        start = text.index("{")
        end = text.index("}", start)
        placeholder = text[start + 1 : end]
        assert placeholder in SAMPLES, f"no sample value for {{{placeholder}}} in {template}"
        text = text[:start] + SAMPLES[placeholder] + text[end + 1 :]
    return text


@functools.cache
def _routes():
    return build_app().routes


def served(method: str, path: str) -> bool:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return any(route.matches(scope)[0] == Match.FULL for route in _routes())


def test_the_reader_finds_the_sdks_calls():
    """The reader sees the calls it must (one of each style), so an empty result cannot pass."""
    calls = sdk_calls()
    assert len(calls) > 50
    for expected in (
        ("GET", "/customers/me/accounts"),  # session._get, a constant
        ("GET", "/accounts/{self.account_number}/transactions"),  # _paginate, an f-string
        ("POST", "/accounts/{self.account_number}/orders/dry-run"),  # url += "/dry-run"
        ("GET", "/margin-requirements-public-configuration"),  # _client.build_request
        ("GET", "/symbols/search/{symbol}"),  # session._client.get
        ("POST", "/accounts/deposit"),  # self._client.post
    ):
        assert expected in calls, expected


SERVED = sorted(set(sdk_calls()) - set(ABSENT))


@pytest.mark.parametrize(("method", "template"), SERVED, ids=[f"{m} {t}" for m, t in SERVED])
def test_every_sdk_endpoint_is_served(method, template):
    path = sample_path(template)
    assert served(method, path), f"{method} {path} ({sdk_calls()[(method, template)]}) unserved"


def test_absent_endpoints_are_real_unserved_and_documented():
    calls = sdk_calls()
    doc = DOC.read_text()
    for (method, template), reason in ABSENT.items():
        assert (method, template) in calls, f"stale ABSENT entry {method} {template}"
        assert not served(method, sample_path(template)), f"{method} {template} is served"
        assert f"`{method} {template}`" in doc, f"{method} {template} missing from {DOC.name}"
        assert reason
