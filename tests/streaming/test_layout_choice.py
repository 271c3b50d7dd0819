"""The layout choices the server renders from their cookies (streaming/templatetags/layout.py):
a kept value is used only if it is one of the choice's, so a forged cookie cannot reach
the page's markup."""

from __future__ import annotations

from django.template import Context, Template
from django.test import RequestFactory

from streaming.templatetags.layout import CHOICES, choice_value


def render(cookies: dict[str, str]) -> str:
    request = RequestFactory().get("/")
    request.COOKIES.update(cookies)
    template = Template(
        '{% load layout %}{% layout_choice "view" as v %}'
        '{% layout_choice "chain-side" as s %}{{ v }}|{{ s }}'
    )
    return template.render(Context({"request": request}))


def test_defaults_without_cookies():
    """No cookie: each choice's first value."""
    assert render({}) == "positions|call"
    assert {key: choice_value({}, key) for key in CHOICES} == {
        "view": "positions",
        "pos-cols": "prices",
        "chain-side": "call",
        "chain-cols": "prices",
    }


def test_kept_values_are_rendered():
    """The cookies pages/layout-switch.js writes choose what the page renders first."""
    assert render({"sd_view": "orders", "sd_chain_side": "put"}) == "orders|put"
    assert choice_value({"sd_pos_cols": "greeks"}, "pos-cols") == "greeks"


def test_forged_values_fall_back_to_the_default():
    """A value that is not one of the choice's never reaches the markup."""
    assert render({"sd_view": '"><script>', "sd_chain_side": "PUT"}) == "positions|call"


def test_without_a_request_the_default():
    """A template rendered outside a request (an e-mail, a test) gets the defaults."""
    template = Template('{% load layout %}{% layout_choice "view" as v %}{{ v }}')
    assert template.render(Context({})) == "positions"
