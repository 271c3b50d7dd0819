"""No socket outlives its session: logout, a password change, deactivation and expiry
end every open stream of that session (4401) within seconds, on every process."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.chaos.conftest import Tabs
from tests.support.cluster import Cluster

#: The contract: a tab ends within a few seconds of its session (checked every 2 s).
BOUND = 5.0


def logout(cluster: Cluster, client: httpx.Client) -> None:
    page = client.get("/")
    token = (
        client.cookies.get("csrftoken")
        or re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    )
    response = client.post(
        "/logout/", headers={"X-CSRFToken": token, "Referer": f"{cluster.a.url}/"}
    )
    assert response.status_code == 200  # no LOGOUT_REDIRECT_URL: the logged-out page
    assert "sessionid" not in client.cookies


def end_session(cluster: Cluster, how: str, client: httpx.Client) -> None:
    if how == "logout":
        logout(cluster, client)
        return
    code = {
        "password": "u.set_password('changed-elsewhere'); u.save()",
        "deactivated": "u.is_active = False; u.save()",
        "expired": (
            "from django.contrib.sessions.models import Session\n"
            "from django.utils import timezone\n"
            "Session.objects.all().update(expire_date=timezone.now())"
        ),
    }[how]
    cluster.a.python(
        "from django.contrib.auth import get_user_model\n"
        "u = get_user_model().objects.get(username='demo')\n" + code,
    )


@pytest.mark.parametrize("how", ["logout", "password", "deactivated", "expired"])
async def test_open_streams_end_with_their_session(cluster: Cluster, tabs: Tabs, how: str):
    client = cluster.a.login("demo", "demo-sandbox")
    cookie = cluster.a.cookie_header(client)
    other_session = cluster.cookie()  # the same trader in another browser
    owner_tab = await tabs.ws(cluster.a, cookie, "ws-a")
    _, other = cluster.owner_and_other()
    tabs_of_session = [
        owner_tab,
        await tabs.ws(other, cookie, "ws-b"),
        await tabs.sse(cluster.a, cookie, "sse-a"),
        await tabs.sse(other, cookie, "sse-b"),
    ]
    bystander = await tabs.ws(other, other_session, "other-browser")

    end_session(cluster, how, client)
    ended = time.monotonic()
    for tab in tabs_of_session:
        await tab.wait_for(lambda t=tab: t.stopped_by == 4401, within=BOUND + 5)
        assert tab.segments[-1].closed - ended <= BOUND, tab.name
    if how == "logout":  # only that session ended: the other browser streams on
        seen = time.monotonic()
        await bystander.wait_for(lambda: bystander.quote_frames_since(seen) >= 5)
        assert bystander.stopped_by is None
    else:  # the user's every session ended
        await bystander.wait_for(lambda: bystander.stopped_by == 4401, within=BOUND + 5)
    # and the closed streams stay closed: a reconnect with the old cookie is refused
    frames = len(owner_tab.frames)
    assert owner_tab.stopped_by == 4401 and len(owner_tab.frames) == frames
