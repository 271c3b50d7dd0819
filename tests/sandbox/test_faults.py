"""Every fault the control API can inject, seen through the real SDK as the real
server's failure would be seen."""

from __future__ import annotations

import time

import anyio
import pytest
from httpx2.websockets import WebSocketDisconnect, WebSocketUpgradeError
from tastytrade import Account, DXLinkStreamer
from tastytrade.dxfeed import Quote
from tastytrade.utils import TastytradeError

from tests.support.sdk import alert_streamer, cred, leaves, sdk_session


async def wait_for_sessions(control, refresh_token: str, kind: str, count: int) -> list[dict]:
    with anyio.fail_after(5):
        while True:
            entry = control.state()["credentials"].get(cred(refresh_token), {})
            sessions = entry.get(kind, [])
            if len(sessions) == count:
                return sessions
            await anyio.sleep(0.05)


async def test_drop_dxlink_surfaces_websocket_disconnect(sandbox, control, refresh_token):
    """A dropped DXLink socket ends the SDK's context with WebSocketDisconnect(1011)."""
    async with sdk_session(sandbox, refresh_token) as session:
        with pytest.raises(BaseException) as info:
            async with DXLinkStreamer(session) as streamer:
                await streamer.subscribe(Quote, ["SPY"])
                await streamer.get_event(Quote)
                assert control.fault("drop", target="dxlink", credential=cred(refresh_token)) == {
                    "affected": 1
                }
                with anyio.fail_after(5):
                    async for _ in streamer.listen(Quote):
                        pass
    disconnects = [e for e in leaves(info.value) if isinstance(e, WebSocketDisconnect)]
    assert disconnects and disconnects[0].code == 1011
    await wait_for_sessions(control, refresh_token, "dxlink", 0)


async def test_drop_with_1009_is_the_sdks_message_too_long(sandbox, control, refresh_token):
    """Close code 1009 surfaces as the SDK's bare 'Subscription message too long' error."""
    async with sdk_session(sandbox, refresh_token) as session:
        with pytest.raises(TastytradeError, match="Subscription message too long"):
            async with DXLinkStreamer(session) as streamer:
                await streamer.subscribe(Quote, ["SPY"])
                await streamer.get_event(Quote)
                control.fault("drop", target="dxlink", code=1009)
                with anyio.fail_after(5):
                    async for _ in streamer.listen(Quote):
                        pass


async def test_silent_dxlink_stays_open_and_sends_nothing(sandbox, control, refresh_token):
    """A silenced socket stays open but delivers nothing: only a watchdog notices."""
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, ["SPY", "QQQ"])
        await streamer.get_event(Quote)
        control.fault("silence", target="dxlink", credential=cred(refresh_token))
        await anyio.sleep(0.3)
        while streamer.get_event_nowait(Quote) is not None:
            pass  # drain what was already in flight
        with anyio.move_on_after(1.5) as scope:
            await streamer.get_event(Quote)
        assert scope.cancelled_caught
        sessions = await wait_for_sessions(control, refresh_token, "dxlink", 1)
        assert sessions[0]["silent"] and sessions[0]["messages_suppressed"] > 0
        control.clear_faults()
        with anyio.fail_after(5):
            assert (await streamer.get_event(Quote)).event_symbol in {"SPY", "QQQ"}


async def test_timed_silence_ends_by_itself(sandbox, control, refresh_token):
    """A silence with a duration lifts on its own."""
    async with sdk_session(sandbox, refresh_token) as session, DXLinkStreamer(session) as streamer:
        await streamer.subscribe(Quote, ["SPY"])
        await streamer.get_event(Quote)
        control.fault("silence", target="dxlink", seconds=1.0)
        started = time.monotonic()
        await anyio.sleep(0.2)
        while streamer.get_event_nowait(Quote) is not None:
            pass
        with anyio.fail_after(5):
            await streamer.get_event(Quote)
        assert time.monotonic() - started >= 0.9


async def test_hang_auth_blocks_the_sdk_handshake(sandbox, control, refresh_token):
    """Without AUTHORIZED the SDK waits forever: only the caller's timeout ends it."""
    control.fault("hang_auth")
    async with sdk_session(sandbox, refresh_token) as session:
        with pytest.raises(TimeoutError), anyio.fail_after(1.5):
            async with DXLinkStreamer(session):
                pass
        control.clear_faults()
        async with DXLinkStreamer(session) as streamer:
            await streamer.subscribe(Quote, ["SPY"])
            assert (await streamer.get_event(Quote)).event_symbol == "SPY"


@pytest.mark.parametrize("target", ["dxlink", "streamer"])
async def test_refused_sessions_fail_the_upgrade(sandbox, control, refresh_token, target):
    """Refused handshakes answer 503, which the SDK raises as WebSocketUpgradeError."""
    control.fault("refuse_sessions", target=target, status=503)
    async with sdk_session(sandbox, refresh_token) as session:
        await Account.get(session)
        with pytest.raises(BaseException) as info:
            if target == "dxlink":
                async with DXLinkStreamer(session):
                    pass
            else:
                async with alert_streamer(session, sandbox):
                    pass
    upgrade = [e for e in leaves(info.value) if isinstance(e, WebSocketUpgradeError)]
    assert upgrade and upgrade[0].response.status_code == 503


async def test_drop_streamer_surfaces_websocket_disconnect(sandbox, control, refresh_token):
    """A dropped account streamer ends the SDK's context with WebSocketDisconnect."""
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        with pytest.raises(BaseException) as info:
            async with alert_streamer(session, sandbox) as streamer:
                await streamer.subscribe_accounts(accounts)
                control.fault("drop", target="streamer", code=4000)
                await anyio.sleep(5)
    disconnects = [e for e in leaves(info.value) if isinstance(e, WebSocketDisconnect)]
    assert disconnects and disconnects[0].code == 4000


@pytest.mark.parametrize("fault", ["silence", "hang_acks"])
async def test_unacked_subscribe_times_out(sandbox, control, refresh_token, fault):
    """A silent streamer (or one that never acks) makes subscribe time out after 10 s."""
    async with sdk_session(sandbox, refresh_token) as session:
        accounts = await Account.get(session)
        with pytest.raises(BaseException) as info:
            async with alert_streamer(session, sandbox) as streamer:
                if fault == "silence":
                    assert control.fault("silence", target="streamer") == {"affected": 1}
                else:
                    control.fault("hang_acks")
                await streamer.subscribe_accounts(accounts)
    assert any(isinstance(e, TimeoutError) for e in leaves(info.value))


async def test_faults_target_one_credential_only(sandbox, control, refresh_token):
    """A drop aimed at one credential leaves another credential's sockets alone."""
    other = refresh_token + "-other"
    async with (
        sdk_session(sandbox, refresh_token) as mine,
        sdk_session(sandbox, other) as theirs,
        DXLinkStreamer(theirs) as their_streamer,
    ):
        await their_streamer.subscribe(Quote, ["SPY"])
        await their_streamer.get_event(Quote)
        with pytest.raises(BaseExceptionGroup):
            async with DXLinkStreamer(mine) as my_streamer:
                await my_streamer.subscribe(Quote, ["SPY"])
                await my_streamer.get_event(Quote)
                assert control.fault("drop", target="dxlink", credential=cred(refresh_token)) == {
                    "affected": 1
                }
                with anyio.fail_after(5):
                    async for _ in my_streamer.listen(Quote):
                        pass
        while their_streamer.get_event_nowait(Quote) is not None:
            pass
        with anyio.fail_after(5):
            assert (await their_streamer.get_event(Quote)).event_symbol == "SPY"
