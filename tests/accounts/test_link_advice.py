"""What the server-rendered dashboard says about a rejected link (accounts/link_advice.py):
the same sentence as the page's script, case by case (tests/fixtures/link-advice.json,
also run by tests/js/link-advice.test.mjs)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.template import Context, Template

from accounts.link_advice import link_advice, wait_text

CASES = json.loads((Path(__file__).parents[1] / "fixtures" / "link-advice.json").read_text())[
    "cases"
]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_same_sentence_as_the_page_script(case):
    assert link_advice(case["link"], case["now"]) == case["advice"]


@pytest.mark.parametrize("link", [None, "error", {}, {"state": "live"}])
def test_nothing_to_say_without_a_link_in_error(link):
    assert link_advice(link, 0) == ""


def test_a_wait_is_rounded_up():
    assert [wait_text(ms) for ms in (1, 59_000, 59_001, 60_001, 3_600_000, 3_600_001)] == [
        "1 s",
        "59 s",
        "1 min",
        "2 min",
        "1 h",
        "2 h",
    ]


def test_the_template_filter_counts_from_the_time_of_rendering():
    now = time.time() * 1000
    link = {
        "broker": "tradier",
        "label": "<b>T</b>",
        "state": "error",
        "reason": "credential rejected: HTTP 401",
        "since": now,
        "kinds": {"account": {"state": "error", "reason": "credential rejected", "since": now}},
        "retry_in": 600,
    }
    html = Template("{% load link_advice %}<p>{{ link|link_advice }}</p>").render(
        Context({"link": link})
    )
    assert html == (
        "<p>Tradier rejected the saved credential for “&lt;b&gt;T&lt;/b&gt;”: ask your"
        " operator to link the account again in the admin (Broker links). streamdesk tries"
        " it again by itself in about 10 min.</p>"
    )
    ok = Template("{% load link_advice %}{{ link|link_advice }}").render(
        Context({"link": {**link, "state": "live"}})
    )
    assert ok == ""
