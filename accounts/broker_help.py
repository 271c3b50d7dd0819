"""What an operator needs to know to link an account at each broker, for the admin's
broker-link form: where each secret comes from at that broker, which of the broker's
environments it belongs to, and what this server is pointed at now (`BROKER_ENV` and
the broker URLs, which are configuration, never secrets).

Kept apart from the form so the words live in one place: the form's field help, its
per-broker sections and their tests all read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

#: The SDK's own production URL: tastytrade requests go there when no base URL is set.
TASTYTRADE_PRODUCTION_URL = "https://api.tastyworks.com"


@dataclass(frozen=True)
class BrokerHelp:
    """One broker: where its secrets come from and which environment they belong to."""

    name: str
    #: secret field name -> where that secret comes from at the broker (one sentence or two)
    sources: dict[str, str]
    #: which of the broker's environments a credential belongs to, and what that means here
    environments: str


HELP: dict[str, BrokerHelp] = {
    "tastytrade": BrokerHelp(
        name="tastytrade",
        sources={
            "provider_secret": "The client secret of your OAuth application: on"
            " my.tastytrade.com, Manage → My Profile → API → OAuth Applications →"
            " “+ New OAuth client”. It is shown once, when the application is created:"
            " copy it then (a lost one means a new application).",
            "refresh_token": "A refresh token of that application: in the same list, the"
            " application's Manage → Create Grant. It does not expire; deleting the grant"
            " or the application makes tastytrade reject it.",
        },
        environments="tastytrade's production (api.tastyworks.com) and its developer"
        " sandbox (api.cert.tastyworks.com, with sandbox users of its own) are separate:"
        " an application and its grant work only in the environment they were made in.",
    ),
    "tradier": BrokerHelp(
        name="Tradier",
        sources={
            "access_token": "On tradier.com, logged in: your name → API Access"
            " (dash.tradier.com, Settings → API Access). The “Account Access” token is"
            " your live brokerage account's; the “Sandbox Account Access” token is a"
            " paper account's (15-minute delayed data).",
        },
        environments="A live token works only against https://api.tradier.com, a paper"
        " (sandbox) token only against https://sandbox.tradier.com: the server's"
        " TRADIER_API_URL decides which one this link must be.",
    ),
    "alpaca": BrokerHelp(
        name="Alpaca",
        sources={
            "key_id": "The key id of an API key pair. Broker API: the Broker dashboard's"
            " API keys (a brokerage built on Alpaca). Trading API: on app.alpaca.markets,"
            " switch to the paper or the live account and generate a pair on its home"
            " page (API Keys).",
            "secret_key": "The secret of the same pair: Alpaca shows it once, when the"
            " pair is generated.",
        },
        environments="Each key pair belongs to one API and one environment: Broker API"
        " keys (sandbox or production), or a Trading API paper account's or live"
        " account's keys. Pick the matching “Alpaca API” below; keys of another work"
        " nowhere else.",
    ),
}


def _sandboxed() -> bool:
    return settings.BROKER_ENV == "sandbox"


def broker_targets(broker: str) -> list[tuple[str, str]]:
    """(what, URL) this server sends a broker's requests to now."""
    if broker == "tastytrade":
        return [("tastytrade API", settings.TASTYTRADE_BASE_URL or TASTYTRADE_PRODUCTION_URL)]
    if broker == "tradier":
        return [
            ("Tradier API", settings.TRADIER_API_URL),
            ("Tradier stream", settings.TRADIER_STREAM_URL),
        ]
    if broker == "alpaca":
        return [
            ("Broker API", settings.ALPACA_API_URL),
            ("Trading API, paper", settings.ALPACA_TRADING_PAPER_URL),
            ("Trading API, live", settings.ALPACA_TRADING_LIVE_URL),
        ]
    raise ValueError(f"unknown broker {broker!r}")


def server_advice(broker: str) -> str:
    """One sentence: which credential this server can use for the broker right now."""
    if _sandboxed():
        return (
            "That is the built-in sandbox: a link added now is SIMULATED for good and"
            " never reaches a real broker."
        )
    if broker == "tastytrade":
        url = settings.TASTYTRADE_BASE_URL or TASTYTRADE_PRODUCTION_URL
        if "cert.tastyworks" in url:
            return "Pointed at tastytrade's sandbox: use an application and grant made there."
        return "Use an application and grant made on my.tastytrade.com (production)."
    if broker == "tradier":
        if "sandbox.tradier.com" in settings.TRADIER_API_URL:
            return "Pointed at Tradier's paper environment: paste a Sandbox Account Access token."
        return "Pointed at Tradier's live API: paste a live Account Access token."
    return (
        "Broker API keys go with the Broker API URL; paper or live Trading API keys with"
        " the Trading API URL of the same name."
    )


def environment_help() -> SafeString:
    """What `BROKER_ENV` does and what this server runs with now (the add form's top)."""
    if _sandboxed():
        now = format_html(
            "This server runs with <code>BROKER_ENV=sandbox</code>: every broker is the"
            " built-in sandbox at <code>{}</code>, and a link added now is"
            " <strong>SIMULATED</strong> for its whole life (it keeps the environment it"
            " was added in). Real credentials are never sent to a real broker here.",
            settings.SANDBOX_URL,
        )
        todo = mark_safe(
            "To link a real account, run the server with <code>BROKER_ENV=live</code>"
            " (the production default; see the operations guide), then add the link."
        )
    else:
        now = mark_safe(
            "This server runs with <code>BROKER_ENV=live</code>: a link added now talks to"
            " the brokers' own APIs at the addresses shown under each broker, and is LIVE"
            " for its whole life (it keeps the environment it was added in)."
        )
        todo = mark_safe(
            "The URLs come from the server's settings (<code>TASTYTRADE_BASE_URL</code>,"
            " <code>TRADIER_API_URL</code>, <code>ALPACA_API_URL</code>, …); a broker's paper"
            " environment needs its URL there and that environment's credential here."
        )
    return format_html(
        '<div class="broker-env-help" data-broker-env="{}"><p>{}</p><p>{}</p>'
        "<p>Choose the broker: only its secrets are asked for, and its notes say where"
        " they come from. Secrets are stored encrypted and never shown again.</p></div>",
        settings.BROKER_ENV,
        now,
        todo,
    )


def secret_help(name: str) -> str:
    """Where one secret comes from at its broker (the field's help)."""
    for info in HELP.values():
        if name in info.sources:
            return info.sources[name]
    raise ValueError(f"unknown secret {name!r}")


def broker_help(broker: str) -> SafeString:
    """A broker's section help (each secret's own source is its field's help): which
    environment a credential belongs to, and where this server sends its requests now."""
    info = HELP[broker]
    targets = format_html_join(
        ", ", "{} <code>{}</code>", ((what, url) for what, url in broker_targets(broker))
    )
    return format_html(
        '<div class="broker-help" data-broker-help="{}">'
        "<p><strong>Environment.</strong> {}</p>"
        "<p><strong>This server</strong> (<code>BROKER_ENV={}</code>): {}. {}</p></div>",
        broker,
        info.environments,
        settings.BROKER_ENV,
        targets,
        server_advice(broker),
    )
