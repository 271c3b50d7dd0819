"""`/api/orders`: one route, two features' views: GET reads the order list (orders), POST
confirms a preview (trading; a session only: an API token never trades)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from streaming.api import errors
from streaming.orders.views import api_orders
from streaming.tabs.bearer import SCOPE_KEY, token_readable
from streaming.trading.views import confirm_view


@token_readable("snapshot")
async def orders_view(request: HttpRequest) -> HttpResponse:
    """`/api/orders`: GET the order list (session or API token); POST confirm a preview
    (a session only: an API token never trades)."""
    if request.method == "POST":
        if getattr(request, SCOPE_KEY, None) is not None:
            return errors.token_read_only()
        return await confirm_view(request)
    return await api_orders(request)
