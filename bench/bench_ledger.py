"""Redis CPU per event of the replay ledger script, and of variants that drop one part of it.

Each variant is the production script with one part cut out, so the difference prices that part
(issue #15's levers): the per-bucket PTTL (+ EXPIRE on first write) after the writes, and the
HSETNX itself (what is left is the Lua decoding of the batch). Variants run interleaved over
`--rounds`, each on a fresh ledger of fresh ids (every event new: the common case), batches of
`--batch` events as the worker sends them; medians of Redis CPU (not wall time) per event.

.venv/bin/python bench/bench_ledger.py --events 200000
"""

from __future__ import annotations

import argparse
import statistics
import uuid

import redis
from bench_worker import REDIS_URL
from cpu_split import services_cpu

from eventreplay.worker import ledger

_EXPIRY = "  if call('PTTL', k) < floor then call('EXPIRE', k, ttl) end"
_WRITE = "if call('HSETNX', rk, field, h .. off) == 1 then"
VARIANTS = {
    "ledger script (main)": ledger._SCRIPT,
    "without the PTTL/EXPIRE per bucket": ledger._SCRIPT.replace(_EXPIRY, ""),
    "without PTTL/EXPIRE and HSETNX (Lua decoding only)": (
        ledger._SCRIPT.replace(_EXPIRY, "").replace(_WRITE, "if true then")
    ),
}


def redis_us_per_event(client: redis.Redis, script: str, events: int, batch: int) -> float:
    assert _EXPIRY in ledger._SCRIPT and _WRITE in ledger._SCRIPT, "the ledger script changed: update the variants"
    ledger._SCRIPT = script  # ReplayLedger loads the script on its first send
    name = f"bench-ledger-{uuid.uuid4().hex[:8]}"
    replay = ledger.ReplayLedger(
        client, ledger=name, uid="u", partition=0, span=events, mode="withinReplay", ttl_seconds=3600, hash_content=True
    )
    blobs = [
        b"".join(ledger.pack(f"{name}-{n}", b"v", n) for n in range(start, min(events, start + batch)))
        for start in range(0, events, batch)
    ]
    before = services_cpu(REDIS_URL)["redis-server"]
    for blob in blobs:
        assert set(replay.classify(blob)) == {"N"}
    spent = services_cpu(REDIS_URL)["redis-server"] - before
    keys = list(client.scan_iter(match=f"er:{{{name}}}:*", count=5000))
    for start in range(0, len(keys), 5000):
        client.unlink(*keys[start : start + 5000])
    return spent / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    client = redis.Redis.from_url(REDIS_URL)
    original = ledger._SCRIPT
    spent: dict[str, list[float]] = {label: [] for label in VARIANTS}
    try:
        for _ in range(args.rounds):
            for label, script in VARIANTS.items():
                ledger._SCRIPT = original
                spent[label].append(redis_us_per_event(client, script, args.events, args.batch))
    finally:
        ledger._SCRIPT = original
    print(f"Redis CPU per event, {args.events:,} new ids in batches of {args.batch} (medians of {args.rounds} rounds)")
    for label, figures in spent.items():
        rounds = ", ".join(f"{f:.2f}" for f in figures)
        print(f"  {label:<52} {statistics.median(figures):5.2f} µs/event  rounds {rounds}")


if __name__ == "__main__":
    main()
