"""The order endpoints (docs/streaming-contract.md "Trading: … Endpoints"): thin — every
one passes the guard (`trading_request`), reads its small JSON body, and hands the work
to tickets.py (preview, confirm, a ticket) or cancels.py (cancel, cancel-all, the kill
switch). `GET /api/orders` (the order list) shares its route with the confirm
(streaming/pages/orders_api.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from streaming.api import errors
from streaming.cluster.agents import agents_of
from streaming.request_body import BodyError, json_body
from streaming.trading.cancels import cancel_all, cancel_one, kill_switch
from streaming.trading.guard import trading_request
from streaming.trading.tickets import confirm_order, preview_order, ticket_status
from streaming.validation import MAX_MESSAGE_BYTES


def _answer(status: int, body: Mapping[str, object]) -> JsonResponse:
    """The service's answer; a refusal (its `error` the sentence) with its `message`."""
    return JsonResponse(errors.with_message(body) if status >= 400 else body, status=status)


def _error(status: int, code: str, message: str) -> JsonResponse:
    return errors.sentence_error(status, message, code=code)


def _body(request: HttpRequest) -> Any:
    """The JSON object of the body; `BodyError` (400 `bad_body`) otherwise."""
    body = json_body(request, limit=MAX_MESSAGE_BYTES)
    if not isinstance(body, dict):
        raise BodyError("the body must be a JSON object")
    return body


def _bad_body(exc: BodyError) -> JsonResponse:
    return _error(400, "bad_body", f"{str(exc)[:1].upper()}{str(exc)[1:]}.")


def _posted(request: HttpRequest, what: str) -> dict[str, Any] | JsonResponse:
    """A POST's JSON object, or the refusal to answer (another method; a bad body)."""
    if request.method != "POST":
        return _error(405, "method_not_allowed", f"{what} with POST.")
    try:
        return dict(_body(request))
    except BodyError as exc:
        return _bad_body(exc)


@trading_request
async def preview_view(request: HttpRequest, user: Any) -> HttpResponse:
    body = _posted(request, "Preview")
    if isinstance(body, JsonResponse):
        return body
    return _answer(*await preview_order(agents_of(request), user.pk, body, request))


@trading_request
async def confirm_view(request: HttpRequest, user: Any) -> HttpResponse:
    body = _posted(request, "Confirm")
    if isinstance(body, JsonResponse):
        return body
    second = body.get("second_confirm", False)
    if (
        set(body) - {"preview_id", "second_confirm"}
        or not isinstance(body.get("preview_id"), str)
        or not isinstance(second, bool)
    ):
        return _error(
            400,
            "bad_body",
            'The body is {"preview_id": "<the preview\'s id>"}, with "second_confirm": true '
            "where the preview asks for it.",
        )
    key = request.headers.get("Idempotency-Key")
    return _answer(
        *await confirm_order(
            agents_of(request), user.pk, body["preview_id"], key, request, second_confirm=second
        )
    )


@trading_request
async def ticket_view(request: HttpRequest, user: Any, ticket_id: str) -> HttpResponse:
    if request.method != "GET":
        return _error(405, "method_not_allowed", "Read a ticket with GET.")
    return _answer(*await ticket_status(agents_of(request), user.pk, ticket_id, request))


@trading_request
async def cancel_view(request: HttpRequest, user: Any, order_id: str) -> HttpResponse:
    if request.method != "DELETE":
        return _error(405, "method_not_allowed", "Cancel an order with DELETE.")
    try:
        link = int(request.GET.get("link", ""))
    except ValueError:
        return _error(400, "bad_order", "Name the order's broker link: ?link=<link id>.")
    account = request.GET.get("account", "")
    return _answer(*await cancel_one(agents_of(request), user.pk, order_id, link, account, request))


@trading_request
async def cancel_all_view(request: HttpRequest, user: Any) -> HttpResponse:
    body = _posted(request, "Cancel all")
    if isinstance(body, JsonResponse):
        return body
    link, account = body.get("link"), body.get("account")
    if set(body) - {"link", "account"} or not isinstance(link, int) or not isinstance(account, str):
        return _error(400, "bad_body", 'The body is {"link": <link id>, "account": "<account>"}.')
    return _answer(*await cancel_all(agents_of(request), user.pk, link, account, request))


@trading_request
async def kill_switch_view(request: HttpRequest, user: Any) -> HttpResponse:
    body = _posted(request, "Use the kill switch")
    if isinstance(body, JsonResponse):
        return body
    if body:
        return _bad_body(BodyError("the kill switch takes an empty object"))
    return JsonResponse(await kill_switch(agents_of(request), user.pk, request=request))
