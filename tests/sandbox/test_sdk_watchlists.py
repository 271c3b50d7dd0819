"""The real SDK's public, pairs and private watchlists against the sandbox, over real sockets."""

from __future__ import annotations

import httpx
import pytest
from tastytrade.order import InstrumentType
from tastytrade.utils import TastytradeError
from tastytrade.watchlists import PairsWatchlist, PrivateWatchlist, PublicWatchlist

from tests.support.sdk import sdk_session


async def test_public_and_pairs_watchlists(sandbox, refresh_token):
    """Fixed lists of the market's symbols: all, one by name, counts only; unknown is a 404."""
    async with sdk_session(sandbox, refresh_token) as session:
        lists = await PublicWatchlist.get(session)
        assert {"Liquid ETFs", "Mega Caps", "Indices"} <= {w.name for w in lists}
        mega = await PublicWatchlist.get(session, "Mega Caps")
        assert mega.watchlist_entries is not None
        assert {"symbol": "AAPL", "instrument-type": "Equity"} in mega.watchlist_entries
        counts = await PublicWatchlist.get(session, counts_only=True)
        assert [w.watchlist_entries for w in counts] == [None] * len(lists)
        with pytest.raises(TastytradeError, match="record_not_found"):
            await PublicWatchlist.get(session, "No Such List")
        pairs = await PairsWatchlist.get(session)
        assert pairs and all(p.pairs_equations for p in pairs)
        one = await PairsWatchlist.get(session, pairs[0].name)
        assert one == pairs[0]


async def test_private_watchlist_lifecycle(sandbox, refresh_token):
    """Upload, list, fetch, add and remove symbols through the model, update, delete."""
    async with sdk_session(sandbox, refresh_token) as session:
        assert await PrivateWatchlist.get(session) == []
        mine = PrivateWatchlist(name="Tech Megacaps", group_name="Sectors", order_index=10)
        mine.add_symbol("AAPL", InstrumentType.EQUITY)
        mine.add_symbol("MSFT", InstrumentType.EQUITY)
        await mine.upload(session)
        [listed] = await PrivateWatchlist.get(session)
        assert listed == mine
        fetched = await PrivateWatchlist.get(session, "Tech Megacaps")
        fetched.add_symbol("SPY   261218C00600000", InstrumentType.EQUITY_OPTION)
        fetched.remove_symbol("AAPL", InstrumentType.EQUITY)
        await fetched.update(session)
        again = await PrivateWatchlist.get(session, "Tech Megacaps")
        assert again.watchlist_entries == [
            {"symbol": "MSFT", "instrument-type": "Equity"},
            {"symbol": "SPY   261218C00600000", "instrument-type": "Equity Option"},
        ]
        assert (again.group_name, again.order_index) == ("Sectors", 10)
        await PrivateWatchlist.remove(session, "Tech Megacaps")
        with pytest.raises(TastytradeError, match="record_not_found"):
            await PrivateWatchlist.get(session, "Tech Megacaps")
        with pytest.raises(TastytradeError, match="record_not_found"):
            await PrivateWatchlist.remove(session, "Tech Megacaps")


async def test_private_watchlists_belong_to_their_customer(sandbox, refresh_token):
    """Another customer sees none of them, and may use the same name."""
    async with (
        sdk_session(sandbox, refresh_token) as mine,
        sdk_session(sandbox, refresh_token + "-other") as theirs,
    ):
        await PrivateWatchlist(name="Shared Name", watchlist_entries=[]).upload(mine)
        assert await PrivateWatchlist.get(theirs) == []
        with pytest.raises(TastytradeError, match="record_not_found"):
            await PrivateWatchlist.get(theirs, "Shared Name")
        await PrivateWatchlist(name="Shared Name", watchlist_entries=[]).upload(theirs)
        assert [w.name for w in await PrivateWatchlist.get(mine)] == ["Shared Name"]


async def test_bad_watchlist_bodies_are_refused_in_tastytrades_shape(sandbox, refresh_token):
    """Missing name or entries, bad entries, a taken name, a non-JSON body: 400/422 JSON errors."""
    async with sdk_session(sandbox, refresh_token) as session:
        with pytest.raises(TastytradeError, match="name: is missing"):
            await session._post("/watchlists", json={"watchlist-entries": []})
        with pytest.raises(TastytradeError, match="watchlist-entries: is missing"):
            await PrivateWatchlist(name="No Entries").upload(session)
        with pytest.raises(TastytradeError, match=r"watchlist-entries\[1\].symbol: is missing"):
            await session._post(
                "/watchlists",
                json={"name": "X", "watchlist-entries": [{"symbol": "SPY"}, {"symbol": ""}]},
            )
        with pytest.raises(TastytradeError, match="instrument-type: is not a valid type"):
            await session._post(
                "/watchlists",
                json={"name": "X", "watchlist-entries": [{"symbol": "SPY", "instrument-type": 7}]},
            )
        await PrivateWatchlist(name="Taken", watchlist_entries=[]).upload(session)
        with pytest.raises(TastytradeError, match="watchlist_already_exists"):
            await PrivateWatchlist(name="Taken", watchlist_entries=[]).upload(session)
        with pytest.raises(TastytradeError, match="record_not_found"):
            await PrivateWatchlist(name="Never Made", watchlist_entries=[]).update(session)
        response = await session._client.post(
            "/watchlists", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert response.json() == {
            "error": {"code": "invalid_json", "message": "Body must be JSON"}
        }
    async with httpx.AsyncClient(base_url=sandbox.url) as client:
        response = await client.get("/watchlists")
    assert response.status_code == 401 and "error" in response.json()
