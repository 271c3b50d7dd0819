"""Create chain users with one broker link each (run in a subprocess with the app's env).

    python -m bench.chain_users OUT.json --broker tradier --users 20 --prefix tr

Each user gets a password (`chain-pw`), one sandbox link at `--broker` (tastytrade,
Tradier or Alpaca; no verify: a link without account numbers streams all of the
credential's accounts) and a logged-in session. Writes `[{username, user_id,
sessionid, credential}]`. Used by bench/chain.py, tests/cluster/test_chain_fetches.py
and tests/browser/test_chain.py.
"""

from __future__ import annotations

import argparse
import json
import os

PASSWORD = "chain-pw"


def create_users(broker: str, n_users: int, prefix: str) -> list[dict]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.test import Client

    from accounts.services import broker_link_create

    secrets = {
        "tastytrade": lambda i: {"provider_secret": "s", "refresh_token": f"{prefix}-refresh-{i}"},
        "tradier": lambda i: {"access_token": f"{prefix}-token-{i}"},
        "alpaca": lambda i: {"key_id": f"{prefix}-key-{i}", "secret_key": "alpaca-secret"},
    }[broker]
    password = make_password(PASSWORD)
    out = []
    for i in range(n_users):
        user = get_user_model().objects.create(username=f"{prefix}{i:03d}", password=password)
        secret = secrets(i)
        broker_link_create(user=user, broker=broker, label=f"{broker} {prefix}{i}", **secret)
        client = Client()
        client.force_login(user)
        credential = next(iter(v for k, v in secret.items() if k != "provider_secret"))
        out.append(
            {
                "username": user.username,
                "user_id": user.id,
                "sessionid": client.cookies["sessionid"].value,
                "credential": credential,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--broker", choices=["tastytrade", "tradier", "alpaca"], required=True)
    parser.add_argument("--users", type=int, default=1)
    parser.add_argument("--prefix", default="chain")
    args = parser.parse_args()
    with open(args.out, "w") as f:
        json.dump(create_users(args.broker, args.users, args.prefix), f)


if __name__ == "__main__":
    main()
