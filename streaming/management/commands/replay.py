"""`manage.py replay`: play a user's recorded day and write what one tab would have received.

    manage.py replay --user demo --date 2026-11-27 --speed max --frames-out day.jsonl
    manage.py replay --user demo --date 2026-11-27 --from 10:25 --to 10:35 --speed 10 \\
        --frames-out 1031.jsonl

The day goes through the stream a live day runs through, on a clock of its own
(docs/streaming.md, "Replaying a day"): at `--speed max`, two runs write the same file,
byte for byte. Times of day are New York's. Whatever cannot be replayed is said in a
sentence, with exit status 2.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from streaming.instruments.symbols import NEW_YORK
from streaming.replay.day import ReplayError, load_day
from streaming.replay.player import SPEEDS, DayPlayer, day_window
from streaming.stream.day_file import day_path
from streaming.wiring import quote_waits

#: A day file written to this recently (s) is still being recorded (the writer appends
#: every 0.5 s while the stream runs).
STILL_RECORDING_S = 60


class Command(BaseCommand):
    help = "Replay a user's recorded day; write the frames one tab would have received."

    def add_arguments(self, parser: CommandParser) -> None:
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--user", help="whose day (a username)")
        who.add_argument(
            "--user-id",
            type=int,
            help="whose day, by the user's id (a recording whose database is gone: a soak's)",
        )
        parser.add_argument("--date", required=True, help="the trading day, YYYY-MM-DD")
        parser.add_argument(
            "--from", dest="start", help="HH:MM, New York time (default: the day's start)"
        )
        parser.add_argument(
            "--to", dest="end", help="HH:MM, New York time (default: the day's end)"
        )
        parser.add_argument(
            "--speed", default="max", help="1, 10, 60 (times real time) or max (default)"
        )
        parser.add_argument(
            "--frames-out", required=True, help="the JSON lines file to write ('-': stdout)"
        )

    def handle(self, *args: object, **options: object) -> None:
        try:
            self._replay(options)
        except ReplayError as exc:
            raise CommandError(str(exc), returncode=2) from None

    def _replay(self, options: dict[str, object]) -> None:
        speed_name = str(options["speed"])
        if speed_name not in SPEEDS:
            raise ReplayError(f"--speed {speed_name} is not one of 1, 10, 60 or max.")
        try:
            day = dt.date.fromisoformat(str(options["date"]))
        except ValueError:
            raise ReplayError(f"--date {options['date']} is not a date (YYYY-MM-DD).") from None
        try:
            from_ms = day_window(day, _opt(options["start"]), NEW_YORK)
            to_ms = day_window(day, _opt(options["end"]), NEW_YORK)
        except ValueError as exc:
            raise ReplayError(str(exc)) from None
        if from_ms is not None and to_ms is not None and to_ms <= from_ms:
            raise ReplayError(f"--to {options['end']} is not after --from {options['start']}.")
        folder = settings.STREAM_RECORD_DIR
        if not folder:
            raise ReplayError("Streams are not recorded here: STREAM_RECORD_DIR is empty.")
        user_id, username = self._user(options)
        recorded = load_day(Path(folder), user_id, username, day)
        out_name = str(options["frames_out"])
        out = sys.stdout.buffer if out_name == "-" else open(out_name, "wb")  # noqa: SIM115
        try:
            player = DayPlayer(
                user_id,
                recorded,
                emit=out.write,
                speed=SPEEDS[speed_name],
                from_ms=from_ms,
                to_ms=to_ms,
                flush_interval=settings.STREAM_FLUSH_INTERVAL,
                quote_waits=quote_waits(),
            )
            played = asyncio.run(player.play())
        finally:
            if out is not sys.stdout.buffer:
                out.close()
        said = (
            f"{username}'s {day.isoformat()}: {played.records:,} records in {played.runs} "
            f"run(s) of the stream, {played.frames:,} frames written to {out_name}."
        )
        if played.left_out:
            said += f" The recording left out {played.left_out:,} quotes (the disk was behind)."
        if recorded.unplayable:
            said += f" {recorded.unplayable:,} records before the first start were not played."
        if recorded.damage:
            said += f" Played up to the damage: {recorded.damage}"
        path = day_path(Path(folder), user_id, day)
        if to_ms is None and time.time() - path.stat().st_mtime < STILL_RECORDING_S:
            last = dt.datetime.fromtimestamp(recorded.last_ms / 1000, NEW_YORK)
            said += (
                f" The day is still being recorded: this replay ends at its last record,"
                f" {last:%H:%M:%S} New York; give --to {last:%H:%M} (or earlier) for the same"
                f" frames on every run."
            )
        self.stderr.write(said)

    @staticmethod
    def _user(options: dict[str, object]) -> tuple[int, str]:
        """Whose day: (their id, how the sentences name them)."""
        if options["user_id"] is not None:
            user_id = int(str(options["user_id"]))
            return user_id, f"user {user_id}"
        username = str(options["user"])
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise ReplayError(f"There is no user {username!r}.")
        return user.pk, username


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
