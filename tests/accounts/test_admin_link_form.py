"""Linking a real account from the admin alone: the add page says, per broker, where each
secret comes from and which environment it belongs to, what `BROKER_ENV` does and what
this server runs with now; it validates and saves only the chosen broker's inputs."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from accounts.broker_help import HELP
from accounts.models import BrokerLink
from accounts.selectors import broker_link_credentials_get

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:accounts_brokerlink_add")
#: One valid set of secrets per broker (what a complete form of that broker sends).
SECRETS = {
    "tastytrade": {"provider_secret": "tt-client-secret-91", "refresh_token": "tt-refresh-3k"},
    "tradier": {"access_token": "tradier-token-77q"},
    "alpaca": {"key_id": "PKFORMTEST123", "secret_key": "alpaca-secret-0p"},
}
EVERY_SECRET = {name: value for secrets in SECRETS.values() for name, value in secrets.items()}


class Sections(HTMLParser):
    """The page's fieldsets: their class names, the input names inside, and their text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "fieldset":
            classes = (attributes.get("class") or "").split()
            self._open = {"classes": classes, "inputs": set(), "text": ""}
            self.found.append(self._open)
        elif tag in ("input", "select", "textarea") and self._open and attributes.get("name"):
            self._open["inputs"].add(attributes["name"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data

    def of_broker(self, broker: str) -> dict:
        (section,) = [s for s in self.found if f"broker-{broker}" in s["classes"]]
        return section


def sections(html: str) -> Sections:
    parser = Sections()
    parser.feed(html)
    return parser


def text(html: str) -> str:
    """The page's words, one space between them (what a person reads)."""
    inline = re.sub(r"</?(code|strong|em|b)>", "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inline)).split())


@pytest.fixture
def trader(django_user_model):
    return django_user_model.objects.create_user(username="trader", password="pw-trader-1")


def test_each_broker_has_a_section_of_its_own_inputs_and_help(admin_client):
    """One section per broker holds exactly its secrets (Alpaca's also its API choice),
    titled with the broker, with its environment note and each secret's source."""
    page = sections(admin_client.get(ADD_URL).content.decode())
    for broker, names in BrokerLink.SECRET_FIELDS.items():
        section = page.of_broker(broker)
        assert "broker-fields" in section["classes"]
        extra = {"alpaca_api"} if broker == "alpaca" else set()
        assert section["inputs"] == set(names) | extra
        words = " ".join(section["text"].split())
        assert f"{HELP[broker].name}: credentials (write-only)" in words
        assert " ".join(HELP[broker].environments.split()) in words
        for name in names:
            assert " ".join(HELP[broker].sources[name].split()) in words, name
    (main,) = [s for s in page.found if "broker-fields" not in s["classes"]]
    assert {"user", "broker", "label", "enabled"} <= main["inputs"]
    assert "alpaca_api" not in main["inputs"]


def test_the_help_says_where_the_secrets_come_from(admin_client):
    words = text(admin_client.get(ADD_URL).content.decode())
    for where in (
        "my.tastytrade.com, Manage → My Profile → API → OAuth Applications",
        "Manage → Create Grant",
        "api.cert.tastyworks.com",
        "your name → API Access",
        "“Sandbox Account Access” token is a paper account's",
        "A live token works only against https://api.tradier.com",
        "the Broker dashboard's API keys",
        "Alpaca shows it once",
        "Pick the matching “Alpaca API” below",
    ):
        assert where in words, where


def test_a_sandbox_server_says_links_are_simulated_and_how_to_link_a_real_one(
    admin_client, settings
):
    settings.BROKER_ENV = "sandbox"
    settings.SANDBOX_URL = "http://127.0.0.1:8765"
    html = admin_client.get(ADD_URL).content.decode()
    words = text(html)
    assert 'data-broker-env="sandbox"' in html
    assert "This server runs with BROKER_ENV=sandbox" in words
    assert "built-in sandbox at http://127.0.0.1:8765" in words
    assert "To link a real account, run the server with BROKER_ENV=live" in words
    assert words.count("a link added now is SIMULATED for good") == 3  # once per broker


def test_a_live_server_says_where_each_brokers_requests_go(admin_client, settings):
    settings.BROKER_ENV = "live"
    settings.TASTYTRADE_BASE_URL = ""
    settings.TRADIER_API_URL = "https://api.tradier.com"
    settings.TRADIER_STREAM_URL = "https://stream.tradier.com"
    settings.ALPACA_API_URL = "https://broker-api.alpaca.markets"
    settings.ALPACA_TRADING_PAPER_URL = "https://paper-api.alpaca.markets"
    settings.ALPACA_TRADING_LIVE_URL = "https://api.alpaca.markets"
    html = admin_client.get(ADD_URL).content.decode()
    words = text(html)
    assert 'data-broker-env="live"' in html
    assert "This server runs with BROKER_ENV=live" in words
    assert "SIMULATED for good" not in words
    for expected in (
        "tastytrade API https://api.tastyworks.com",
        "made on my.tastytrade.com (production)",
        "Tradier API https://api.tradier.com",
        "Tradier stream https://stream.tradier.com",
        "Pointed at Tradier's live API: paste a live Account Access token.",
        "Broker API https://broker-api.alpaca.markets",
        "Trading API, paper https://paper-api.alpaca.markets",
        "Trading API, live https://api.alpaca.markets",
    ):
        assert expected in words, expected
    assert words.count("(BROKER_ENV=live)") == 3


def test_a_server_pointed_at_paper_environments_asks_for_their_credentials(admin_client, settings):
    settings.BROKER_ENV = "live"
    settings.TASTYTRADE_BASE_URL = "https://api.cert.tastyworks.com"
    settings.TRADIER_API_URL = "https://sandbox.tradier.com"
    words = text(admin_client.get(ADD_URL).content.decode())
    assert "Pointed at tastytrade's sandbox: use an application and grant made there." in words
    assert "paste a Sandbox Account Access token" in words


@pytest.mark.parametrize("broker", list(SECRETS))
def test_a_missing_secret_of_the_chosen_broker_is_an_error_on_that_field(
    admin_client, trader, broker
):
    """Nothing typed: every secret of the chosen broker has its error, no other box has
    one, and nothing is saved."""
    response = admin_client.post(
        ADD_URL, {"user": trader.pk, "broker": broker, "label": "new", "alpaca_api": "live"}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    label = BrokerLink.Broker(broker).label
    assert dict(errors) == {name: [f"Required for {label} links."] for name in SECRETS[broker]}
    assert not BrokerLink.objects.exists()


@pytest.mark.parametrize("broker", list(SECRETS))
def test_only_the_chosen_brokers_inputs_are_saved(admin_client, trader, broker):
    """Every box filled (as a page without the script can send it): the link stores its
    own broker's secrets only, and the Alpaca API choice only for an Alpaca link."""
    response = admin_client.post(
        ADD_URL,
        {
            "user": trader.pk,
            "broker": broker,
            "label": "all boxes",
            "enabled": "on",
            "alpaca_api": "live",
            **EVERY_SECRET,
        },
    )
    assert response.status_code == 302
    link = BrokerLink.objects.get()
    assert link.broker == broker
    assert broker_link_credentials_get(link=link) == SECRETS[broker]
    assert link.alpaca_api == ("live" if broker == "alpaca" else "broker")
    others = set(EVERY_SECRET.values()) - set(SECRETS[broker].values())
    assert not any(value in link.encrypted_secrets for value in EVERY_SECRET.values())
    assert others  # every other broker's value was sent, and none is stored
    assert set(link.secrets()) == set(SECRETS[broker])


def test_the_change_page_shows_its_brokers_help_and_secrets_only(admin_client, trader):
    admin_client.post(
        ADD_URL, {"user": trader.pk, "broker": "tradier", "label": "t", **SECRETS["tradier"]}
    )
    link = BrokerLink.objects.get()
    html = admin_client.get(reverse("admin:accounts_brokerlink_change", args=[link.pk]))
    html = html.content.decode()
    assert 'data-broker-help="tradier"' in html
    assert 'data-broker-help="tastytrade"' not in html
    assert 'data-broker-help="alpaca"' not in html
    words = text(html)
    assert "“Sandbox Account Access” token is a paper account's" in words
    assert "leave blank to keep the stored value" in words
    assert 'name="alpaca_api"' not in html
    assert SECRETS["tradier"]["access_token"] not in html


def test_the_page_loads_the_broker_switch_as_a_module(admin_client):
    html = admin_client.get(ADD_URL).content.decode()
    (tag,) = re.findall(r"<script[^>]*broker-link-form\.js[^>]*>", html)
    assert 'type="module"' in tag
    assert 'src="/static/js/admin/broker-link-form.js"' in tag
