"""Option chains for the chain page and `/api/chain/...`: the query's rules, the strike
window around the money, the user's held strikes and the last known values.

It runs at the user's stream owner (chains/owner.py `chain.request`), whose quote-source
link holds the broker session; the structure comes from that link's `chains`
(brokers/<broker>/chains.py: cached cluster-wide, paced). Live values then arrive as
ordinary `quotes` frames for the symbols the page subscribes. Shapes and errors:
docs/streaming-contract.md "Option chains".
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from streaming.brokers.market_data_cache import FetchFailed
from streaming.brokers.payloads import GreeksFields, QuoteFields
from streaming.brokers.values import now_ms
from streaming.chains.shapes import (
    ChainAnswer,
    ChainBody,
    ChainError,
    ExpirationsAnswer,
    Right,
    RowAnswer,
    SideAnswer,
    SideField,
)
from streaming.instruments.instrument import parse
from streaming.instruments.kinds import Kind
from streaming.instruments.symbols import OPTION_STREAMER_RE
from streaming.portfolio.expected_move import IvRow, expected_move_text
from streaming.validation import normalize_symbol

if TYPE_CHECKING:
    from streaming.stream.manager import UserStreamManager

#: The strike counts a page may ask for (calls | strike | puts rows).
STRIKE_COUNTS = (10, 20, 40)
DEFAULT_STRIKES = 20
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)
#: What a stream quote and stream greeks bring to a side, when they carry it.
_QUOTE_FIELDS: tuple[Literal["bid", "ask", "last", "volume"], ...] = (
    "bid",
    "ask",
    "last",
    "volume",
)
_GREEK_FIELDS: tuple[Literal["iv", "delta", "gamma", "theta", "vega"], ...] = (
    "iv",
    "delta",
    "gamma",
    "theta",
    "vega",
)
#: How long a `live` chain request waits for its options' quotes and greeks (s).
LIVE_WAIT = 3.0
#: How long a `live` request keeps its options subscribed (s): a roll picked from them
#: previews and confirms at their live quotes.
LIVE_TTL = 120.0
NO_QUOTE_LINK = (
    "Option chains need a link that quotes: {names} links give no quotes in streamdesk. "
    "Link tastytrade (live quotes and greeks) or Tradier (quotes, hourly greeks)."
)


def clean_symbol(raw: str) -> str:
    """An underlying ticker (no options, no futures), or FetchFailed 400 bad_symbol."""
    symbol = normalize_symbol(raw) if isinstance(raw, str) else None
    if symbol is None or symbol.startswith((".", "/")):
        raise FetchFailed("bad_symbol", f"not a valid underlying symbol: {raw[:40]!r}", 400)
    return symbol


def clean_strikes(raw: str | None) -> int:
    """The strike count (default 20), or FetchFailed 400 bad_strikes."""
    if raw in (None, ""):
        return DEFAULT_STRIKES
    if not raw.isdigit() or int(raw) not in STRIKE_COUNTS:
        counts = ", ".join(map(str, STRIKE_COUNTS))
        raise FetchFailed("bad_strikes", f"strikes must be one of {counts} (got {raw[:20]!r})", 400)
    return int(raw)


def clean_expiration(raw: str | None) -> str | None:
    """`YYYY-MM-DD` (a real date), None for the default, or FetchFailed 400."""
    if raw in (None, ""):
        return None
    try:
        if not DATE_RE.match(raw):
            raise ValueError
        dt.date.fromisoformat(raw)
    except ValueError:
        raise FetchFailed(
            "bad_expiration", f"expiration must be a date YYYY-MM-DD (got {raw[:20]!r})", 400
        ) from None
    return raw


def window(
    rows: list[dict[str, Any]], price: float | None, count: int
) -> tuple[list, float | None]:
    """The `count` rows around the money and the ATM strike (nearest to `price`, ties
    to the lower): half below it, half from it up; shifted in near the ends of the
    grid. Without a price, the middle of the grid."""
    if not rows:
        return [], None
    strikes = [r["strike"] for r in rows]
    if price is None:
        atm_index = (len(rows) - 1) // 2
    else:
        i = bisect.bisect_left(strikes, price)
        candidates = [j for j in (i - 1, i) if 0 <= j < len(rows)]
        atm_index = min(candidates, key=lambda j: (abs(strikes[j] - price), strikes[j]))
    start = max(0, min(atm_index - count // 2, len(rows) - count))
    return rows[start : start + count], strikes[atm_index]


def mid(bid: Any, ask: Any) -> float | None:
    if isinstance(bid, int | float) and isinstance(ask, int | float) and bid >= 0 and ask > 0:
        return round((bid + ask) / 2, 4)
    return None


def side_values(
    side: dict[str, Any], quote: QuoteFields | None, greeks: GreeksFields | None
) -> SideAnswer:
    """One side of a row: the broker's values (Tradier's chain), then newer stream values."""
    out: SideAnswer = {
        "symbol": side["symbol"],
        "occ": side["occ"],
        "bid": side.get("bid"),
        "ask": side.get("ask"),
        "mark": side.get("mark"),
        "last": side.get("last"),
        "volume": side.get("volume"),
        "open_interest": side.get("open_interest"),
        "iv": side.get("iv"),
        "delta": side.get("delta"),
        "gamma": side.get("gamma"),
        "theta": side.get("theta"),
        "vega": side.get("vega"),
        "quote_t": side.get("quote_t"),
        "greeks_t": side.get("greeks_t"),
    }
    if quote:
        for field in _QUOTE_FIELDS:
            quoted = quote.get(field)
            if quoted is not None:
                out[field] = quoted
        if quote.get("t") is not None:
            out["quote_t"] = quote["t"]
    if greeks:
        newer = out["greeks_t"] is None or (greeks.get("t") or 0) >= out["greeks_t"]
        if newer:
            for greek in _GREEK_FIELDS:
                value = greeks.get(greek)
                if value is not None:
                    out[greek] = value
            out["greeks_t"] = greeks.get("t", out["greeks_t"])
    out["mark"] = mid(out["bid"], out["ask"])
    return out


def held_options(manager: UserStreamManager, underlying: str) -> list[str]:
    """Streamer symbols of the underlying's options the user holds (any account)."""
    held = set()
    for account in manager.state.accounts.values():
        for p in account.positions.values():
            symbol = p.get("streamer_symbol") or ""
            match = OPTION_STREAMER_RE.match(symbol)
            if match and underlying in (match.group(1), p.get("underlying")):
                held.add(symbol)
    return sorted(held)


def _chains_of(manager: UserStreamManager) -> tuple[Any, Any]:
    """(the quote source's link info, its `chains`), or FetchFailed 409 no_quote_link."""
    source = manager.quote_source()
    adapter = manager.adapters.get(source) if source is not None else None
    chains = getattr(adapter, "chains", None)
    if source is None or chains is None:
        names = sorted({i.broker.capitalize() for i in manager.links.values()}) or ["no link"]
        raise FetchFailed("no_quote_link", NO_QUOTE_LINK.format(names=", ".join(names)), 409)
    return manager.links[source], chains


def _underlying_price(manager: UserStreamManager, symbol: str) -> float | None:
    quote = manager.state.quotes.get(symbol) or {}
    return mid(quote.get("bid"), quote.get("ask")) or quote.get("last")


async def expirations_for(manager: UserStreamManager, symbol: str) -> ExpirationsAnswer:
    """`GET /api/chain/<SYMBOL>/expirations` at the owner."""
    info, chains = _chains_of(manager)
    dates, _ = await chains.expirations(symbol)
    return {
        "underlying": symbol,
        "broker": info.broker,
        "link": info.id,
        "expirations": dates,
        "t": now_ms(),
    }


async def _subscribe_live(
    manager: UserStreamManager, tab: str, rows: list[dict[str, Any]], rights: list[str]
) -> None:
    """Subscribe the rows' options of `rights` (as a polling page, `LIVE_TTL`) and wait at
    most `LIVE_WAIT` for each to have a quote, and greeks where the chain gave none."""
    sides = [row[r] for row in rows for r in ("call", "put") if r in rights]
    if not sides:
        return
    manager.set_tab_symbols(tab, sorted(s["symbol"] for s in sides), ttl=LIVE_TTL)

    def ready() -> bool:
        state = manager.state
        return all(
            s["symbol"] in state.quotes
            and (s.get("delta") is not None or s["symbol"] in state.greeks)
            for s in sides
        )

    deadline = time.monotonic() + LIVE_WAIT
    while not ready() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def chain_for(
    manager: UserStreamManager,
    symbol: str,
    expiration: str | None,
    strikes: int,
    live: list[str] | None = None,
) -> ChainAnswer:
    """`GET /api/chain/<SYMBOL>?expiration=&strikes=` at the owner: the window's rows
    with the last known values (the broker's, then the stream's); `live`: the rights
    whose options are subscribed and awaited first."""
    info, chains = _chains_of(manager)
    dates, _ = await chains.expirations(symbol)
    listed = [d["date"] for d in dates]
    if expiration is None:
        expiration = listed[0]
    elif expiration not in listed:
        shown = ", ".join(listed[:12])
        raise FetchFailed(
            "unknown_expiration",
            f"{symbol} has no expiration on {expiration}; listed: {shown}",
            404,
        )
    structure = await chains.strikes(symbol, expiration)
    if not structure["rows"]:
        raise FetchFailed("no_options", f"no strikes listed for {symbol} {expiration}", 404)
    price = _underlying_price(manager, symbol)
    if price is None:
        price = await chains.underlying_price(symbol)
    rows, atm = window(structure["rows"], price, strikes)
    if live:
        await _subscribe_live(manager, f"chain-live:{symbol}:{expiration}", rows, live)
    quotes, greeks = manager.state.quotes, manager.state.greeks
    out_rows: list[RowAnswer] = [
        {
            "strike": row["strike"],
            "call": side_values(
                row["call"], quotes.get(row["call"]["symbol"]), greeks.get(row["call"]["symbol"])
            ),
            "put": side_values(
                row["put"], quotes.get(row["put"]["symbol"]), greeks.get(row["put"]["symbol"])
            ),
        }
        for row in rows
    ]
    return {
        "underlying": symbol,
        "expiration": expiration,
        "expirations": listed,
        "strikes": strikes,
        "broker": info.broker,
        "link": info.id,
        "quotes_available": True,
        "underlying_price": price,
        "atm_strike": atm,
        "multiplier": structure["multiplier"],
        "rows": out_rows,
        "held": held_options(manager, symbol),
        "fetched_at": structure["fetched_at"],
        "ttl_ms": int(settings.STREAM_CHAIN_CACHE_TTL * 1000),
        "greeks_source": chains.greeks_source,
        "simulated": manager.simulated,
        "t": now_ms(),
    }


async def answer(manager: UserStreamManager, request: dict[str, Any]) -> tuple[int, ChainBody]:
    """A `chain.request` answered at the owner: (HTTP status, JSON body)."""
    symbol = request["symbol"]
    try:
        if request.get("kind") == "expirations":
            return 200, await expirations_for(manager, symbol)
        return 200, await chain_for(
            manager, symbol, request.get("expiration"), request["strikes"], request.get("live")
        )
    except FetchFailed as exc:
        return exc.status, error_body(exc)
    except TimeoutError:
        return 504, {"error": f"the broker's answer for {symbol} took too long", "code": "timeout"}


def error_body(exc: FetchFailed) -> ChainError:
    body: ChainError = {"error": exc.message, "code": exc.code}
    if exc.retry_in is not None:
        body["retry_in"] = exc.retry_in
    return body


# -- the page's text (static/js/stream/chain.js `cellText` writes the same) --------------
#: The columns of each side, in the order the page shows them (calls mirror puts).
COLUMNS: tuple[SideField, ...] = (
    "bid",
    "ask",
    "mark",
    "volume",
    "open_interest",
    "iv",
    "delta",
    "gamma",
    "theta",
    "vega",
)
DASH = "—"
_DECIMALS = {"bid": 2, "ask": 2, "mark": 2, "delta": 3, "gamma": 4, "theta": 3, "vega": 3}


def cell_text(field: str, value: Any) -> str:
    """One cell as the page shows it: prices 2 decimals, IV in % (1 decimal), volume and
    open interest as whole numbers with separators, greeks 3-4 decimals; "—" for null."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return DASH
    if field == "iv":
        return f"{value * 100:.1f}%"
    if field in ("volume", "open_interest"):
        return f"{round(value):,}"
    return f"{value:,.{_DECIMALS.get(field, 2)}f}"


def expected_move_line(chain: ChainAnswer, now: dt.datetime) -> str:
    """The page's expected move at first paint, from the chain's price and its strikes'
    IV: the words the browser writes (static/js/stream/expected-move.js), which then keeps
    it live with the streamed price and IV."""
    rows: list[IvRow] = [
        {"strike": r["strike"], "callIv": r["call"]["iv"], "putIv": r["put"]["iv"]}
        for r in chain["rows"]
    ]
    return expected_move_text(
        name=chain["underlying"],
        expiration=dt.date.fromisoformat(chain["expiration"]),
        price=chain["underlying_price"],
        rows=rows,
        now=now,
    )


def strike_text(strike: float) -> str:
    """`590`, `2.5`, `12.75`: no trailing zeros."""
    return f"{strike:.3f}".rstrip("0").rstrip(".")


def _cells(row: RowAnswer, right: Right, itm: bool) -> str:
    cls = "num itm" if itm else "num"
    side = row[right]
    return "".join(
        f'<td class="{cls}" data-side="{right}" data-field="{f}"'
        f' data-value="{escape("" if side.get(f) is None else side[f])}">'
        f"{escape(cell_text(f, side.get(f)))}</td>"
        for f in COLUMNS
    )


def _held_mark(row: RowAnswer, right: Right, held: set[str], k: str) -> str:
    if row[right]["symbol"] not in held:
        return ""
    return f'<span class="held-mark" data-held="{right}" title="You hold the {k} {right}">●</span>'


def rows_html(chain: ChainAnswer) -> SafeString:
    """The table's rows for the server-rendered page, the markup render/chain.js builds:
    text per cell, ITM shading, the ATM row and held strikes marked. Built here rather
    than in a template loop (40 rows x 21 cells took ~35 ms of the page's time)."""
    held = set(chain.get("held") or ())
    price = chain.get("underlying_price")
    out = []
    for row in chain["rows"]:
        strike = row["strike"]
        k = escape(strike_text(strike))
        attrs = ' class="atm" data-atm="true"' if strike == chain.get("atm_strike") else ""
        out.append(
            f'<tr data-strike="{k}"{attrs}>'
            + _cells(row, "call", price is not None and strike < price)
            + '<th scope="row" class="col-strike" data-field="strike">'
            + f"{_held_mark(row, 'call', held, k)}{k}{_held_mark(row, 'put', held, k)}</th>"
            + _cells(row, "put", price is not None and strike > price)
            + "</tr>"
        )
    return mark_safe("\n".join(out))  # every value above is escaped


def _has_chain(symbol: Any) -> bool:
    """A stock's contract symbol a chain page's path can name (a coin, a future and an
    option on a future have no equity option chain; a slash cannot be in the path)."""
    instrument = parse(symbol) if isinstance(symbol, str) else None
    return instrument is not None and instrument.kind is Kind.EQUITY and "/" not in symbol


def chain_links(snapshot: dict[str, Any], watchlist: list[str]) -> list[str]:
    """The underlyings the dashboard links to a chain page: every position's underlying
    (options by their root), then the watchlist's tickers; in that order, once each."""
    out: list[str] = []
    for account in snapshot.get("accounts") or ():
        for p in account.get("positions") or ():
            match = OPTION_STREAMER_RE.match(p.get("streamer_symbol") or "")
            symbol = match.group(1) if match else p.get("underlying") or p.get("symbol")
            wanted = isinstance(symbol, str) and normalize_symbol(symbol) == symbol
            if wanted and _has_chain(symbol) and symbol not in out:
                out.append(symbol)
    for symbol in watchlist:
        if _has_chain(symbol) and symbol not in out:
            out.append(symbol)
    return out
