"""The SIMULATED label of the pages that are no live stream (/settings/*, /trading, /pnl …):
the banner and `[SIMULATED]` in the title while an enabled link of the trader's is a sandbox
link; none without one (templates/base.html, accounts/templatetags/simulated.py). The live
pages and every page at 1,440 and 390 px: tests/browser/test_every_page.py."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import BrokerLink
from accounts.services import broker_link_create

pytestmark = pytest.mark.django_db

BANNER = '<div id="simulated-banner" class="sim-banner" role="alert">'


def link(trader, environment: str) -> BrokerLink:
    made = broker_link_create(
        user=trader,
        broker="tastytrade",
        label=environment,
        provider_secret="provider-secret",
        refresh_token="refresh-token",
    )
    BrokerLink.objects.filter(pk=made.pk).update(environment=environment)
    return made


def labelled(client: Client, path: str = "/settings/display") -> tuple[bool, bool]:
    html = client.get(path).content.decode()
    return BANNER in html, "<title>[SIMULATED] " in html


def test_a_sandbox_link_labels_every_page_and_a_live_one_does_not(client, trader):
    assert labelled(client) == (False, False), "no link: nothing simulated to show"
    link(trader, BrokerLink.Environment.LIVE)
    assert labelled(client) == (False, False)
    sandbox = link(trader, BrokerLink.Environment.SANDBOX)
    for path in ("/settings/display", "/settings/tokens", "/settings/notifications"):
        assert labelled(client, path) == (True, True), path
    BrokerLink.objects.filter(pk=sandbox.pk).update(enabled=False)
    assert labelled(client) == (False, False), "a disabled link streams nothing"
