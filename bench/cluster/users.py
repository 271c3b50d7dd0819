"""Create the benchmark's users (run by bench/cluster/ in a subprocess with the app's env).

    python -m bench.cluster.users OUT.json --users 250 --symbols 20 --pool 100 --seed 1

Each user gets a tastytrade sandbox link (no verify: a link without account numbers
streams all of the credential's accounts), a watchlist of `--symbols` tickers drawn
from `B000`..`B0nn` (so users overlap like real watchlists) and a logged-in session.
Writes `[{index, user_id, username, refresh_token, sessionid, symbols}]` to OUT.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time


def create_users(n_users: int, n_symbols: int, pool_size: int, seed: int) -> list[dict]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import Client

    from accounts.services import broker_link_create
    from streaming.watchlist.service import watchlist_set

    rng = random.Random(seed)
    pool = [f"B{i:03d}" for i in range(pool_size)]
    user_model = get_user_model()
    out = []
    with transaction.atomic():
        for i in range(n_users):
            username = f"bench{i:05d}"
            user = user_model(username=username)
            user.set_unusable_password()  # force_login needs none; hashing 250 is slow
            user.save()
            refresh = f"bench-refresh-{i}"
            broker_link_create(
                user=user,
                broker="tastytrade",
                label=f"bench {i}",
                provider_secret="bench-secret",
                refresh_token=refresh,
            )
            symbols = watchlist_set(user_id=user.id, symbols=rng.sample(pool, n_symbols))
            client = Client()
            client.force_login(user)
            out.append(
                {
                    "index": i,
                    "user_id": user.id,
                    "username": username,
                    "refresh_token": refresh,
                    "sessionid": client.cookies["sessionid"].value,
                    "symbols": symbols,
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--users", type=int, default=250)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--pool", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.monotonic()
    users = create_users(args.users, args.symbols, args.pool, args.seed)
    with open(args.out, "w") as f:
        json.dump(users, f)
    print(f"created {len(users)} users in {time.monotonic() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
