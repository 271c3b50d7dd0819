"""The login page: Django's form, and the trader's stream started the moment they log in."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.contrib.auth import views as auth_views
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from accounts.selectors import broker_link_exists
from streaming.cluster.agents import agents_of
from streaming.lockout.forms import LoginForm
from streaming.portfolio.owner import stream_hold

#: How long a login keeps the trader's stream up for the page it redirects to (seconds).
LOGIN_HOLD = 10.0


#: Django's view with the throttle's form: a lock and the tries left said in words.
_login_form = auth_views.LoginView.as_view(authentication_form=LoginForm)


async def login(request: HttpRequest) -> HttpResponseBase:
    """Django's login form. A trader who just logged in has their stream started at once:
    its broker sessions connect while the browser follows the redirect and the dashboard
    is asked for (the page waits for the stream's first snapshot)."""
    response = await sync_to_async(_login_form)(request)
    user = getattr(request, "user", None)
    logged_in = request.method == "POST" and response.status_code == 302
    if (
        logged_in
        and user
        and user.is_authenticated
        and await database_sync_to_async(broker_link_exists)(user_id=user.pk)
    ):
        await stream_hold(agents_of(request), user.pk, grace=LOGIN_HOLD)
    return response
