"""Replaying a recorded day through the stream a live day runs through (docs/streaming.md,
"Replaying a day"): `day.py` reads a user's day into its runs, `player.py` plays them."""
