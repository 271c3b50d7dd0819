"""What tastytrade's list endpoints share: the validation error (`bad_request`), boolean
query flags and one page of items with the `pagination` block the SDK reads."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.http import json_response

DEFAULT_PER_PAGE = 250
MAX_PER_PAGE = 2000
_TRUE = {"true": True, "false": False}


def bad_request(message: str, **errors: str) -> Response:
    """tastytrade's validation error: a summary plus one `{domain, reason}` per field."""
    error: dict[str, Any] = {"code": "validation_error", "message": message}
    if errors:
        error["errors"] = [{"domain": k, "reason": v} for k, v in errors.items()]
    return json_response({"error": error}, 400)


def flag(request: Request, name: str) -> bool | str | None:
    """A boolean query parameter: True/False, None when absent, the raw text if invalid."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    return _TRUE.get(raw.lower(), raw)


def paged(request: Request, items: list[dict[str, Any]]) -> Response:
    """One page of `items` with tastytrade's `pagination` block (what `_paginate` reads)."""
    try:
        per_page = int(request.query_params.get("per-page", DEFAULT_PER_PAGE))
        offset = int(request.query_params.get("page-offset", 0))
    except ValueError:
        return bad_request("Invalid paging", **{"per-page": "must be an integer"})
    if not 1 <= per_page <= MAX_PER_PAGE or offset < 0:
        return bad_request(
            "Invalid paging", **{"per-page": f"must be between 1 and {MAX_PER_PAGE}"}
        )
    total = len(items)
    pages = max(1, -(-total // per_page))
    page = items[offset * per_page : (offset + 1) * per_page]
    return json_response(
        {
            "data": {"items": page},
            "context": request.url.path,
            "pagination": {
                "per-page": per_page,
                "page-offset": offset,
                "item-offset": offset * per_page,
                "total-items": total,
                "total-pages": pages,
                "current-item-count": len(page),
                "previous-link": None,
                "next-link": None,
                "paging-link-template": None,
            },
        }
    )
