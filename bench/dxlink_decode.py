"""CPU per DXLink event: the SDK's models + tastytrade_wire vs the compact decoder.

    python -m bench.dxlink_decode              # 20,000 rows per type, best of 5

Decodes the same COMPACT payloads (rows as the sandbox sends them, in the models' field
order) both ways in this process and prints µs per event. No network: this is the parse
only, which a profile of daphne put at ~5-8 % of daphne's CPU (docs/performance.md, "Why the
hot path looks as it does").
"""

from __future__ import annotations

import argparse
import os
import random
import time


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dxlink_decode", description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from streaming.brokers.tastytrade import compact
    from tests.streaming.test_tastytrade_compact import MODEL_PATH, random_row

    rng = random.Random(1)
    load = os.getloadavg()[0]
    print(f"- load average: {load:.2f}; {args.rows} rows per type, best of {args.repeat}")
    print("\n| event | models + fields (µs/event) | compact (µs/event) | ratio |")
    print("|---|---|---|---|")
    for kind, (cls, to_fields) in MODEL_PATH.items():
        data = [v for _ in range(args.rows) for v in random_row(kind, rng, 0.0)]
        decoder = compact.DECODERS[kind]

        def models(cls=cls, to_fields=to_fields, data=data) -> None:
            for e in cls.from_stream(data):
                to_fields(e)

        def rows(decoder=decoder, data=data) -> None:
            decoder.rows(data)

        best = {}
        for name, fn in (("models", models), ("compact", rows)):
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                fn()
                times.append(time.perf_counter() - started)
            best[name] = min(times) / args.rows * 1e6
        print(
            f"| {kind} | {best['models']:.1f} | {best['compact']:.1f} | "
            f"{best['models'] / best['compact']:.1f}x |"
        )


if __name__ == "__main__":
    main()
