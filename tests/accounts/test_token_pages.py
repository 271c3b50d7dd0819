"""The user's API tokens page (/settings/tokens) and the admin's token list: create (the
secret shown once), list, revoke; staff revoke in the admin."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from accounts.tokens import TOKEN_RE, api_token_create

pytestmark = pytest.mark.django_db

PAGE = "/settings/tokens"
CHANGELIST = reverse("admin:accounts_apitoken_changelist")


def rows(html: str) -> dict[str, str]:
    """prefix → state of every row of the token list."""
    return dict(re.findall(r'<tr data-prefix="([a-z0-9]+)" data-state="(\w+)">', html))


def test_the_page_needs_a_login():
    response = Client().get(PAGE)
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/settings/tokens")


def test_create_shows_the_token_exactly_once(client, trader):
    response = client.post(PAGE, {"name": "alerts bot", "lifetime_days": "90"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    (raw,) = re.findall(r'id="new-token-value" class="token-value" readonly value="([^"]+)"', html)
    token = ApiToken.objects.get()
    assert TOKEN_RE.match(raw).group(1) == token.prefix
    assert (token.name, token.user, (token.expires_at - token.created_at).days) == (
        "alerts bot",
        trader,
        90,
    )
    assert rows(html) == {token.prefix: "active"}
    secret = raw.split("_", 2)[2]
    again = client.get(PAGE).content.decode()
    assert secret not in again and 'id="new-token"' not in again
    assert f"sdt_{token.prefix}_…" in again and "never" in again  # not used yet


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "", "lifetime_days": "30"}, "This field is required."),
        ({"name": "x" * 101, "lifetime_days": "30"}, "Ensure this value has at most 100"),
        ({"name": "bot", "lifetime_days": "31"}, "Select a valid choice."),
        ({"name": "bot", "lifetime_days": "many"}, "Select a valid choice."),
        ({"name": "bot"}, "This field is required."),
    ],
)
def test_bad_input_is_a_400_with_the_reason(client, data, error):
    response = client.post(PAGE, data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert ApiToken.objects.count() == 0


def test_too_many_tokens_is_a_400_with_the_reason(client, trader, settings):
    settings.API_TOKEN_MAX_PER_USER = 1
    api_token_create(user=trader, name="one", lifetime_days=7)
    response = client.post(PAGE, {"name": "two", "lifetime_days": "7"})
    assert response.status_code == 400
    assert "You have 1 active tokens: revoke one first." in response.content.decode()


def test_create_and_revoke_need_the_csrf_token(trader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(trader)
    assert client.post(PAGE, {"name": "bot", "lifetime_days": "7"}).status_code == 403
    token = api_token_create(user=trader, name="bot", lifetime_days=7).token
    assert client.post(reverse("api-token-revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert ApiToken.objects.count() == 1 and token.revoked_at is None


def test_revoke_own_token_only(client, trader, django_user_model):
    mine = api_token_create(user=trader, name="mine", lifetime_days=7).token
    other = django_user_model.objects.create_user(username="other", password="pw-other-1")
    theirs = api_token_create(user=other, name="theirs", lifetime_days=7).token
    assert client.post(reverse("api-token-revoke", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("api-token-revoke", args=[mine.pk])).status_code == 405
    response = client.post(reverse("api-token-revoke", args=[mine.pk]), follow=True)
    assert response.redirect_chain == [("/settings/tokens", 302)]
    html = response.content.decode()
    assert "“mine” is revoked; its open streams close now." in html
    assert rows(html) == {mine.prefix: "revoked"}
    assert f'action="/settings/tokens/{mine.pk}/revoke"' not in html  # no button any more
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_by == trader and theirs.revoked_at is None


# ---------------------------------------------------------------- admin


def test_staff_see_and_revoke_tokens_in_the_admin(admin_client, admin_user, trader):
    token = api_token_create(user=trader, name="bot", lifetime_days=7).token
    listing = admin_client.get(CHANGELIST).content.decode()
    assert f"sdt_{token.prefix}_…" in listing and "trader" in listing
    assert token.secret_hash not in listing
    change = admin_client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))
    assert change.status_code == 200 and token.secret_hash not in change.content.decode()
    assert admin_client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
    response = admin_client.post(
        CHANGELIST, {"action": "revoke_selected", "_selected_action": [token.pk]}, follow=True
    )
    assert "1 token(s) revoked." in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_by == admin_user and token.revoked_at is not None


def test_a_trader_cannot_reach_the_token_admin(client):
    response = client.get(CHANGELIST)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
