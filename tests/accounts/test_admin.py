"""The broker link admin: write-only secrets, saving through services, verifying."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.models import BrokerLink
from accounts.selectors import broker_link_credentials_get
from accounts.services import broker_link_create
from tests.support.sdk import cred

pytestmark = pytest.mark.django_db

PROVIDER_SECRET = "admin-provider-secret-7Hq2"
ADD_URL = reverse("admin:accounts_brokerlink_add")
CHANGELIST_URL = reverse("admin:accounts_brokerlink_changelist")


def change_url(link: BrokerLink) -> str:
    return reverse("admin:accounts_brokerlink_change", args=[link.pk])


def verify_url(link: BrokerLink) -> str:
    return reverse("admin:accounts_brokerlink_verify", args=[link.pk])


@pytest.fixture
def trader(django_user_model):
    return django_user_model.objects.create_user(username="trader", password="pw-trader-1")


@pytest.fixture
def link(trader, refresh_token) -> BrokerLink:
    return broker_link_create(
        user=trader,
        broker="tastytrade",
        label="main",
        provider_secret=PROVIDER_SECRET,
        refresh_token=refresh_token,
    )


def assert_no_secret(html: str, refresh_token: str) -> None:
    assert PROVIDER_SECRET not in html
    assert refresh_token not in html


def password_inputs(html: str) -> dict[str, str]:
    """name → the whole <input> tag, for every password input on the page."""
    return {
        re.search(r'name="([^"]+)"', tag).group(1): tag
        for tag in re.findall(r"<input[^>]*type=\"password\"[^>]*>", html)
    }


def test_add_form_has_empty_password_inputs(admin_client):
    """The add form renders every broker's secrets as password inputs with no value."""
    html = admin_client.get(ADD_URL).content.decode()
    inputs = password_inputs(html)
    assert set(inputs) == {
        "provider_secret",
        "refresh_token",
        "access_token",
        "key_id",
        "secret_key",
    }
    assert all("value=" not in tag for tag in inputs.values())
    assert "encrypted_secrets" not in html
    assert "SIMULATED" in html


def test_add_through_admin_stores_encrypted_and_never_shows_secrets(
    admin_client, trader, refresh_token
):
    """Adding a link saves encrypted secrets; no admin page ever contains them."""
    response = admin_client.post(
        ADD_URL,
        {
            "user": trader.pk,
            "broker": "tastytrade",
            "label": "from admin",
            "enabled": "on",
            "provider_secret": PROVIDER_SECRET,
            "refresh_token": refresh_token,
            "_continue": "1",
        },
        follow=True,
    )
    assert response.status_code == 200
    link = BrokerLink.objects.get()
    assert (link.user, link.label, link.environment) == (trader, "from admin", "sandbox")
    assert broker_link_credentials_get(link=link) == {
        "provider_secret": PROVIDER_SECRET,
        "refresh_token": refresh_token,
    }
    assert_no_secret(link.encrypted_secrets, refresh_token)
    pages = [
        response.content.decode(),
        admin_client.get(change_url(link)).content.decode(),
        admin_client.get(CHANGELIST_URL).content.decode(),
    ]
    for html in pages:
        assert_no_secret(html, refresh_token)
        assert link.encrypted_secrets not in html
    assert all("value=" not in tag for tag in password_inputs(pages[1]).values())


def test_add_with_errors_does_not_echo_the_secret(admin_client, trader, refresh_token):
    """A rejected add form (refresh token missing) re-renders without the typed secret."""
    response = admin_client.post(
        ADD_URL,
        {
            "user": trader.pk,
            "broker": "tastytrade",
            "label": "x",
            "provider_secret": PROVIDER_SECRET,
        },
    )
    assert response.status_code == 200
    assert "Required for tastytrade links." in response.content.decode()
    assert_no_secret(response.content.decode(), refresh_token)
    assert not BrokerLink.objects.exists()


def test_change_with_blank_secrets_keeps_them(admin_client, link, refresh_token):
    """Saving the change form with blank secret fields keeps the stored secrets."""
    link.status = BrokerLink.Status.VERIFIED
    link.save()
    response = admin_client.post(
        change_url(link),
        {"label": "renamed", "provider_secret": "", "refresh_token": "", "_save": "1"},
    )
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.label == "renamed"
    assert not link.enabled  # unchecked box
    assert link.status == BrokerLink.Status.VERIFIED
    assert broker_link_credentials_get(link=link) == {
        "provider_secret": PROVIDER_SECRET,
        "refresh_token": refresh_token,
    }


def test_change_with_new_refresh_token_replaces_it(admin_client, link):
    """A new refresh token replaces only that secret and resets the status."""
    link.status = BrokerLink.Status.VERIFIED
    link.save()
    admin_client.post(
        change_url(link),
        {"label": "main", "enabled": "on", "refresh_token": "brand-new-token", "_save": "1"},
    )
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.UNVERIFIED
    assert broker_link_credentials_get(link=link) == {
        "provider_secret": PROVIDER_SECRET,
        "refresh_token": "brand-new-token",
    }


def test_change_page_is_read_only_for_state(admin_client, link):
    """Environment, status and the other verify results cannot be posted in."""
    admin_client.post(
        change_url(link),
        {
            "label": "main",
            "enabled": "on",
            "status": "verified",
            "environment": "live",
            "account_numbers": '["X"]',
            "_save": "1",
        },
    )
    link.refresh_from_db()
    assert (link.status, link.environment, link.account_numbers) == ("unverified", "sandbox", [])


def test_verify_action_from_changelist(admin_client, broker_at_sandbox, control, link, trader):
    """The changelist action verifies each link and reports success or the readable error."""
    bad = broker_link_create(
        user=trader, broker="tastytrade", label="bad", provider_secret="p", refresh_token="gone"
    )
    control.fault("revoke", credential=cred("gone"))
    response = admin_client.post(
        CHANGELIST_URL,
        {"action": "verify_selected", "_selected_action": [link.pk, bad.pk]},
        follow=True,
    )
    link.refresh_from_db()
    bad.refresh_from_db()
    assert link.status == BrokerLink.Status.VERIFIED
    assert bad.status == BrokerLink.Status.ERROR
    sent = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert (
        "success",
        f"“main” verified: 2 account(s) ({', '.join(link.account_numbers)}).",
    ) in sent
    assert any(level == "error" and "invalid_grant" in text for level, text in sent)


def test_verify_button_posts_and_redirects(admin_client, broker_at_sandbox, link):
    """POST <id>/verify/ verifies and redirects to the change page; GET is not allowed."""
    assert admin_client.get(verify_url(link)).status_code == 405
    html = admin_client.get(change_url(link)).content.decode()
    assert f'formaction="{verify_url(link)}"' in html
    response = admin_client.post(verify_url(link))
    assert response.status_code == 302
    assert response["Location"] == change_url(link)
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.VERIFIED


def test_verify_button_needs_csrf_token(admin_user, link):
    """Without a CSRF token the verify POST is refused and nothing changes."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(verify_url(link)).status_code == 403
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.UNVERIFIED


def test_verify_button_needs_change_permission(django_user_model, link):
    """A staff member who may only view links gets 403 from the verify URL."""
    staff = django_user_model.objects.create_user(
        username="viewer", password="pw-viewer-1", is_staff=True
    )
    staff.user_permissions.add(Permission.objects.get(codename="view_brokerlink"))
    client = Client()
    client.force_login(staff)
    assert client.get(CHANGELIST_URL).status_code == 200
    assert client.post(verify_url(link)).status_code == 403


def test_non_staff_is_sent_to_admin_login(client, trader, link):
    """A logged-in non-staff user is redirected to the admin login, for pages and verify."""
    client.force_login(trader)
    for response in (client.get(CHANGELIST_URL), client.post(verify_url(link))):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
    link.refresh_from_db()
    assert link.status == BrokerLink.Status.UNVERIFIED
