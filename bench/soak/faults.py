"""The soak's faults, one at random every 20-60 s: kill -9 of the process owning a trader's
stream (a fresh one replaces it and its tabs reconnect there), a Redis restart, a broker fault
through the sandbox's control API (drop DXLink or the account streamer, 429 or 500 on REST,
expired tokens, a silent streamer, every broker dead), or SIGSTOP of an owner for 10 s."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

from bench.soak.day import Soak, Trader
from tests.support.live import LiveApp

FAULTS = {  # kind: weight
    "kill": 2,
    "redis": 1,
    "drop-dxlink": 2,
    "drop-streamer": 2,
    "rest-429": 1,
    "rest-500": 1,
    "expire-tokens": 1,
    "silence-streamer": 1,
    "blackout": 1,
    "pause": 1,
}


class Faults:
    """The faults of one run, on the day they strike."""

    def __init__(self, day: Soak) -> None:
        self.day = day

    async def run(self, until: float) -> None:
        """One fault at random every `--fault-min`..`--fault-max` s until `until`, each given
        `RECOVERY` s to heal before the next one's pause starts."""
        kinds = [k for k in FAULTS if k in self.day.args.faults]
        weights = [FAULTS[k] for k in kinds]
        while True:
            await asyncio.sleep(
                self.day.rng.uniform(self.day.args.fault_min, self.day.args.fault_max)
            )
            if time.monotonic() >= until:
                return
            kind = self.day.rng.choices(kinds, weights)[0]
            began = time.monotonic()
            try:
                await getattr(self, "fault_" + kind.replace("-", "_"))()
            except Exception as exc:
                self.day.note(f"fault {kind} failed to inject: {exc!r}")
            await self.day.recovered(f"after {kind}", began)

    async def fault_kill(self) -> None:
        by_pid = {app.pid: name for name, app in self.day.apps.items()}
        candidates = self.day.traders[:]
        self.day.rng.shuffle(candidates)
        victim = trader = None
        for trader in candidates:
            pid = await asyncio.to_thread(self.day.holder, trader.user_id)
            if pid in by_pid:
                victim = by_pid[pid]
                break
        if victim is None:
            victim = self.day.rng.choice(sorted(self.day.apps))
            trader = None
        app = self.day.apps.pop(victim)
        owner = f"owner of {trader.username}" if trader else "no owner found: a random process"
        app.kill()
        self.day.dead[victim] = app
        self.day.note(f"FAULT kill -9 {victim} (pid {app.pid}, {owner})")
        name = chr(ord(max(list(self.day.apps) + list(self.day.dead))) + 1)
        for attempt in range(1, 4):  # a busy machine can miss the start deadline: again
            fresh = LiveApp(
                self.day.cluster.sandbox.url,
                self.day.workdir,
                seed=False,
                DATABASE_URL=self.day.cluster.database_url,
                **self.day.env,
            )
            self.day.extra.append(fresh)
            try:
                await asyncio.to_thread(fresh.start)
                break
            except RuntimeError as exc:
                self.day.note(f"  replacement {name} did not start (attempt {attempt}): {exc}")
                if attempt == 3:
                    raise
        self.day.apps[name] = fresh
        moved = 0
        for tab in self.day.tabs:
            if tab.apps[-1] == victim:
                tab.client.base_url = fresh.url  # the tab reconnects there, with its position
                tab.apps.append(name)
                moved += 1
        self.day.note(
            f"  started {name} (pid {fresh.pid}) and pointed {moved} tabs of {victim} at it"
        )

    async def fault_redis(self) -> None:
        self.day.note("FAULT redis restart (down 1 s, comes back empty)")
        await asyncio.to_thread(self.day.cluster.redis.restart, 1.0)

    def _some_trader(self) -> Trader:
        return self.day.rng.choice(self.day.traders)

    async def _control(self, kind: str, **params: Any) -> Any:
        return await asyncio.to_thread(self.day.control.fault, kind, **params)

    async def fault_drop_dxlink(self) -> None:
        trader = self._some_trader()
        result = await self._control("drop", target="dxlink", credential=trader.credential)
        self.day.note(f"FAULT drop DXLink of {trader.username}: {result}")

    async def fault_drop_streamer(self) -> None:
        trader = self._some_trader()
        result = await self._control("drop", target="streamer", credential=trader.credential)
        self.day.note(f"FAULT drop account streamer of {trader.username}: {result}")

    async def fault_rest_429(self) -> None:
        await self._control("http_error", status=429, path_prefix="/", count=20, retry_after=1)
        self.day.note("FAULT the next 20 REST requests (any broker) get 429, Retry-After: 1")

    async def fault_rest_500(self) -> None:
        await self._control("http_error", status=500, path_prefix="/", count=20)
        self.day.note("FAULT the next 20 REST requests (any broker) get 500")

    async def fault_silence_streamer(self) -> None:
        trader = self._some_trader()
        result = await self._control(
            "silence", target="streamer", credential=trader.credential, seconds=30
        )
        self.day.note(f"FAULT account streamer of {trader.username} silent for 30 s: {result}")

    async def fault_blackout(self) -> None:
        result = await self._control("blackout", seconds=35)
        self.day.note(f"FAULT every broker dead for 35 s (connections hang, no answers): {result}")

    async def fault_pause(self) -> None:
        trader = self._some_trader()
        pid = await asyncio.to_thread(self.day.holder, trader.user_id)
        by_pid = {app.pid: name for name, app in self.day.apps.items()}
        if pid not in by_pid:
            self.day.note(f"FAULT pause skipped: nobody owns {trader.username}'s stream")
            return
        self.day.note(
            f"FAULT SIGSTOP {by_pid[pid]} (pid {pid}, owner of {trader.username}) for 10 s"
        )
        os.kill(pid, signal.SIGSTOP)
        try:
            await asyncio.sleep(10)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.day.note(f"  SIGCONT {by_pid[pid]}")

    async def fault_expire_tokens(self) -> None:
        trader = self._some_trader()
        result = await self._control("expire_tokens", credential=trader.credential)
        self.day.note(f"FAULT access tokens of {trader.username} expire now: {result}")
