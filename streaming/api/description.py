"""The API's description (openapi.yaml beside this module, OpenAPI 3.1, edited by hand) as
the app reads it: the document, its JSON as `/api/schema` serves it, and which routes of the
URLconf it describes (tests/streaming/test_api_schema.py keeps the two the same, both ways).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import orjson
import yaml

DOCUMENT = Path(__file__).with_name("openapi.yaml")
#: A Django route's parameter (`<int:alert_id>`, `<path:symbol>`) and OpenAPI's (`{alert_id}`).
ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
#: What every path under it is: the API, whose every answer is JSON.
API_PREFIX = "/api/"
#: The methods an OpenAPI path item may describe, as HTTP names them.
HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")


@functools.cache
def description() -> dict[str, Any]:
    """The document, parsed once per process."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with DOCUMENT.open(encoding="utf-8") as text:
        document = yaml.load(text, Loader=loader)  # a safe loader (CSafeLoader or SafeLoader)
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise ValueError(f"{DOCUMENT} is not an OpenAPI document with paths")
    return document


@functools.cache
def description_json() -> bytes:
    """The document as JSON, encoded once per process."""
    return orjson.dumps(description())


def openapi_path(route: str) -> str:
    """The OpenAPI path of a Django route: `api/alerts/<int:alert_id>` →
    `/api/alerts/{alert_id}`."""
    return "/" + ROUTE_PARAMETER.sub(r"{\1}", route)


@functools.cache
def described_paths() -> frozenset[str]:
    return frozenset(description()["paths"])


@functools.cache
def described_methods(route: str) -> tuple[str, ...] | None:
    """The methods the description lists for a Django route, in its order (`("GET",
    "PUT")`); None for a route it does not describe (a page)."""
    entry = description()["paths"].get(openapi_path(route))
    if entry is None:
        return None
    return tuple(method.upper() for method in entry if method.upper() in HTTP_METHODS)


def is_api_route(route: str | None) -> bool:
    """Whether the route a request resolved to is one the description lists (a JSON
    endpoint, under /api/ or not: `POST /watchlist`)."""
    return route is not None and openapi_path(route) in described_paths()


def is_api_path(path: str) -> bool:
    """Whether a path that matched no route is the API's (every answer under /api/ is JSON)."""
    return path.startswith(API_PREFIX) or path.rstrip("/") == API_PREFIX.rstrip("/")
