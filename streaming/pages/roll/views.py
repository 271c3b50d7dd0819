"""`GET /api/roll/candidates` (docs/streaming-contract.md, "The roll picker"): thin — the
query is read (query.py), the rows computed (service.py). Session or API token (its
`snapshot` scope); anonymous → 403 JSON; a refused query → its status and sentence."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from streaming.api import errors
from streaming.cluster.agents import agents_of
from streaming.pages.roll.query import Refused, parse_query
from streaming.pages.roll.service import roll_candidates


async def api_roll_candidates(request: HttpRequest) -> JsonResponse:
    """→ `{"position", "candidates", "notes", "as_of", "delta"}`."""
    user = await request.auser()
    if not user.is_authenticated:
        return errors.not_authenticated()
    if request.method != "GET":
        return errors.sentence_error(
            405, "Only GET reads roll candidates.", code="method_not_allowed"
        )
    try:
        query = parse_query(request.GET.dict())
    except Refused as exc:
        return errors.sentence_error(exc.status, exc.sentence, code=exc.code)
    status, body = await roll_candidates(agents_of(request), user.id, query)
    if status >= 400:
        return errors.sentence_error(status, str(body.get("error")), code=body.get("code"))
    return JsonResponse(body, status=status)
