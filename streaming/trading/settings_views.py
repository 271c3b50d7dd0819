"""The trader's own trading switch over HTTP, and the `/trading` page.

`GET /api/trading`, `POST /api/trading/enable|disable`, `GET /api/trading/audit`, and
setting an authenticator up (`POST /api/trading/totp`, `.../totp/confirm`). Every API
view passes `trading_request` first (a session, a same-site Origin on writes, a rate
limit; Django's middleware checks CSRF). A wrong code or password is written to the audit
trail as `refused` and answered 403 `second_factor` (docs/streaming-contract.md,
"Trading").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from streaming.api import errors
from streaming.models import TradingAudit
from streaming.request_body import BodyError, json_body
from streaming.trading.audit import audit_entry, audit_record
from streaming.trading.grant import trading_disable, trading_grant, trading_state
from streaming.trading.guard import trading_request
from streaming.trading.second_factor import (
    Factor,
    SecondFactorInputError,
    SecondFactorLocked,
    SecondFactorRefused,
    factor_from_body,
    second_factor_kind,
    totp_confirm,
    totp_start,
    verify_second_factor,
)
from streaming.trading.shapes import AuditPage, TradingState

#: The contract's body limit for trading requests.
MAX_BODY_BYTES = 4096
#: Audit entries per page: the default, and the most a page may ask for.
AUDIT_PAGE = 50
AUDIT_PAGE_MAX = 200


def _bad(message: str, code: str = "bad_body") -> JsonResponse:
    return errors.sentence_error(400, message, code=code)


def _wrong_method(allowed: str) -> JsonResponse:
    return errors.sentence_error(
        405, f"Use {allowed} here.", code="method_not_allowed", headers=errors.allow([allowed])
    )


def _body(request: HttpRequest) -> Any:
    try:
        return json_body(request, limit=MAX_BODY_BYTES)
    except BodyError as exc:
        text = str(exc)
        raise SecondFactorInputError(f"{text[:1].upper()}{text[1:]}.") from None


def _state(user: AbstractBaseUser) -> TradingState:
    assert user.pk is not None
    return trading_state(int(user.pk), second_factor=second_factor_kind(user))


def _refused(
    request: HttpRequest, user: AbstractBaseUser, what: str, exc: SecondFactorRefused
) -> JsonResponse:
    """Audit a failed second factor (`refused`), then the contract's 403 (429 `locked`
    while the login throttle locks password checks)."""
    audit_record(
        user_id=int(user.pk or 0),
        action="refused",
        request=request,
        shown=what,
        outcome=exc.outcome,
    )
    if isinstance(exc, SecondFactorLocked):
        return errors.sentence_error(
            429,
            exc.message,
            code="locked",
            headers={"Retry-After": str(exc.retry_after)},
            retry_after=exc.retry_after,
        )
    return errors.sentence_error(403, exc.message, code="second_factor")


def _enable(request: HttpRequest, user: AbstractBaseUser, factor: Factor) -> JsonResponse:
    try:
        method = verify_second_factor(request, user, factor)
    except SecondFactorRefused as exc:
        return _refused(request, user, "Turn trading on", exc)
    trading_grant(int(user.pk or 0), method=method)
    audit_record(
        user_id=int(user.pk or 0),
        action="trading_on",
        request=request,
        shown="Turn trading on",
        outcome=f"on with {method}",
    )
    return JsonResponse({"trading": _state(user)})


def _disable(request: HttpRequest, user: AbstractBaseUser) -> JsonResponse:
    trading_disable(int(user.pk or 0))
    audit_record(
        user_id=int(user.pk or 0),
        action="trading_off",
        request=request,
        shown="Turn trading off",
        outcome="off",
    )
    return JsonResponse({"trading": _state(user)})


def _totp_start(request: HttpRequest, user: AbstractBaseUser, factor: Factor) -> JsonResponse:
    try:
        verify_second_factor(request, user, factor)
    except SecondFactorRefused as exc:
        return _refused(request, user, "Set up an authenticator", exc)
    setup = totp_start(user)
    return JsonResponse({"totp": {"uri": setup.uri, "secret": setup.secret, "svg": setup.svg}})


def _totp_confirm(request: HttpRequest, user: AbstractBaseUser, factor: Factor) -> JsonResponse:
    if factor.kind != "totp":
        return _bad("Confirm the set-up with the 6-digit code your authenticator shows (otp).")
    try:
        totp_confirm(user, factor.value)
    except SecondFactorRefused as exc:
        return _refused(request, user, "Confirm the authenticator", exc)
    return JsonResponse({"trading": _state(user)})


@trading_request
async def api_trading(request: HttpRequest, user: AbstractBaseUser) -> HttpResponse:
    """`GET`: the contract's `trading` object."""
    if request.method != "GET":
        return _wrong_method("GET")
    return JsonResponse({"trading": await database_sync_to_async(_state)(user)})


FactorStep = Callable[[HttpRequest, AbstractBaseUser, Factor], JsonResponse]


async def _with_factor(
    request: HttpRequest, user: AbstractBaseUser, step: FactorStep
) -> HttpResponse:
    """A `POST` whose body is a second factor (`{"otp"}` or `{"password"}`), then `step`."""
    if request.method != "POST":
        return _wrong_method("POST")
    try:
        factor = factor_from_body(_body(request))
    except SecondFactorInputError as exc:
        return _bad(str(exc))
    return await database_sync_to_async(step)(request, user, factor)


@trading_request
async def api_trading_enable(request: HttpRequest, user: AbstractBaseUser) -> HttpResponse:
    """`POST {"otp"}` or `{"password"}`: trading on for `TRADING_GRANT_TTL` seconds."""
    return await _with_factor(request, user, _enable)


@trading_request
async def api_trading_disable(request: HttpRequest, user: AbstractBaseUser) -> HttpResponse:
    """`POST {}`: trading off now (no second factor: taking risk off is never locked)."""
    if request.method != "POST":
        return _wrong_method("POST")
    try:
        body = _body(request) if request.body else {}
    except SecondFactorInputError as exc:
        return _bad(str(exc))
    if body != {}:
        return _bad("Turning trading off takes an empty body: {}.")
    return await database_sync_to_async(_disable)(request, user)


@trading_request
async def api_totp_start(request: HttpRequest, user: AbstractBaseUser) -> HttpResponse:
    """`POST {"password"}` (or the current device's `{"otp"}`): a new authenticator to
    scan: `{"totp": {uri, secret, svg}}`; it counts once confirmed."""
    return await _with_factor(request, user, _totp_start)


@trading_request
async def api_totp_confirm(request: HttpRequest, user: AbstractBaseUser) -> HttpResponse:
    """`POST {"otp"}`: the new authenticator's code; it replaces any earlier one."""
    return await _with_factor(request, user, _totp_confirm)


def audit_page_query(query: Any) -> tuple[int | None, int]:
    """(`before`, `limit`) from the query string, or `ValueError` with a sentence."""
    before_text = str(query.get("before") or "").strip()
    limit_text = str(query.get("limit") or "").strip()
    before = None
    if before_text:
        if not before_text.isdigit() or int(before_text) < 1:
            raise ValueError("before must be an entry id (a whole number from 1).")
        before = int(before_text)
    limit = AUDIT_PAGE
    if limit_text:
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= AUDIT_PAGE_MAX:
            raise ValueError(f"limit must be a whole number from 1 to {AUDIT_PAGE_MAX}.")
        limit = int(limit_text)
    return before, limit


def audit_page(user_id: int, before: int | None, limit: int) -> AuditPage:
    """The user's entries newest first, older than `before`; `next` pages on."""
    rows = TradingAudit.objects.filter(user_id=user_id)
    if before is not None:
        rows = rows.filter(id__lt=before)
    page = list(rows.order_by("-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {
        "entries": [audit_entry(row) for row in page],
        "next": page[-1].id if more else None,
    }


@trading_request
async def api_trading_audit(request: HttpRequest, user: AbstractBaseUser) -> HttpResponse:
    """`GET ?before=<id>&limit=<1-200>`: the user's own audit trail, newest first."""
    if request.method != "GET":
        return _wrong_method("GET")
    try:
        before, limit = audit_page_query(request.GET)
    except ValueError as exc:
        return _bad(str(exc), code="bad_query")
    return JsonResponse(await database_sync_to_async(audit_page)(int(user.pk or 0), before, limit))


@login_required
def trading_page(request: HttpRequest) -> HttpResponse:
    """The page; static/js/trading/page.js fills it from the API."""
    minutes = round(settings.TRADING_GRANT_TTL / 60)
    return render(request, "streaming/trading.html", {"grant_minutes": minutes})
