"""Redis CPU per event of the replay ledger: native marks against the script, and variants of the
script that each drop one part of it.

Native marks (one pipelined HSETNX per event, an EXPIRE per bucket first written: what a
`withinReplay` worker sends for ids not yet marked) are priced against the script. Each variant
is the production script with one part cut out, so the difference prices that part (issue #15's
levers): the per-bucket PTTL (+ EXPIRE on first write) after the writes, and the
HSETNX itself (what is left is the Lua decoding of the batch). Variants run interleaved over
`--rounds`, each on a fresh ledger of fresh ids (every event new: the common case), batches of
`--batch` events as the worker sends them; medians of Redis CPU (not wall time) per event.

.venv/bin/python bench/bench_ledger.py --events 200000
.venv/bin/python bench/bench_ledger.py --production --events 1000000   # bytes per production mark,
    and the Redis CPU of `skipProcessed` lookups (every live slice read) against `withinReplay`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))  # PYTHONSAFEPATH (make) leaves bench/ out
from bench_worker import REDIS_URL
from cpu_split import services_cpu

from eventreplay.worker.ledger import dedup as ledger
from eventreplay.worker.ledger import script as ledger_script

_EXPIRY = "  if call('PTTL', k) < floor then call('EXPIRE', k, ttl) end"
_WRITE = "if call('HSETNX', rk, field, h .. off) == 1 then"
NATIVE = "native marks: HSETNX + an EXPIRE per bucket"
VARIANTS = {
    NATIVE: NATIVE,  # withinReplay's path for every id not yet marked
    "the script (skipProcessed; ids already marked)": ledger_script.SCRIPT,
    "without the PTTL/EXPIRE per bucket": ledger_script.SCRIPT.replace(_EXPIRY, ""),
    "without PTTL/EXPIRE and HSETNX (Lua decoding only)": (
        ledger_script.SCRIPT.replace(_EXPIRY, "").replace(_WRITE, "if true then")
    ),
}


def redis_us_per_event(client: redis.Redis, script: str, events: int, batch: int) -> float:
    assert _EXPIRY in ledger_script.SCRIPT and _WRITE in ledger_script.SCRIPT, "the script changed: update the variants"
    if script != NATIVE:
        ledger_script.SCRIPT = script  # ReplayLedger loads the script on its first send
    name = f"bench-ledger-{uuid.uuid4().hex[:8]}"
    replay = ledger.ReplayLedger(
        client,
        namespace="bench",
        ledger=name,
        uid="u",
        partition=0,
        span=events,
        mode="withinReplay",
        ttl_seconds=3600,
        hash_content=True,
    )
    ranges = [range(start, min(events, start + batch)) for start in range(0, events, batch)]
    if script == NATIVE:
        batches = []
        for offsets in ranges:
            replay.start_marks()
            batches.append(
                [replay.mark_command(ledger.id_digest(f"{name}-{n}"), ledger.content_hash(b"v"), n) for n in offsets]
            )
    else:
        blobs = [b"".join(ledger.pack(f"{name}-{n}", b"v", n) for n in offsets) for offsets in ranges]
    before = services_cpu(REDIS_URL)["redis-server"]
    if script == NATIVE:
        for commands in batches:
            assert set(replay.receive(replay.send_marks(commands, len(commands)))) == {"N"}
    else:
        for blob in blobs:
            assert set(replay.classify(blob)) == {"N"}
    spent = services_cpu(REDIS_URL)["redis-server"] - before
    keys = list(client.scan_iter(match=f"er:{{{name}}}:*", count=5000))
    for start in range(0, len(keys), 5000):
        client.unlink(*keys[start : start + 5000])
    return spent / events * 1e6


def _classify_all(client: redis.Redis, name: str, events: int, batch: int, mode: str) -> tuple[float, str]:
    """Redis CPU µs per event of classifying `events` ids (those `production_marks` marked) in `mode`."""
    replay = ledger.ReplayLedger(
        client, namespace="bench", ledger=name, uid=uuid.uuid4().hex[:6], partition=0, span=events, mode=mode,  # type: ignore[arg-type]
        ttl_seconds=3600, hash_content=True,
    )  # fmt: skip
    verdicts = ""
    before = services_cpu(REDIS_URL)["redis-server"]
    for start in range(0, events, batch):
        verdicts += replay.classify(b"".join(ledger.pack(f"id-{n}", b"v", n) for n in range(start, start + batch)))
    return (services_cpu(REDIS_URL)["redis-server"] - before) / events * 1e6, "".join(sorted(set(verdicts)))


def production_figures(client: redis.Redis, events: int, batch: int) -> dict[str, str]:
    """Issue #14's bounded production ledger: bytes per marked id, and what `skipProcessed` costs."""
    name = f"bench-prod-{uuid.uuid4().hex[:8]}"
    unmarked, _ = _classify_all(client, name, events, batch, "withinReplay")
    empty, _ = _classify_all(client, name, events, batch, "skipProcessed")
    used = int(client.info("memory")["used_memory"])
    ledger.ProductionLedger(client, name, namespace="bench").mark((f"id-{n}", b"v") for n in range(events))
    per_entry = (int(client.info("memory")["used_memory"]) - used) / events
    marked, verdicts = _classify_all(client, name, events, batch, "skipProcessed")
    keys = list(client.scan_iter(match=f"er:{{{name}}}:*", count=5000))
    for start in range(0, len(keys), 5000):
        client.unlink(*keys[start : start + 5000])
    live = len(ledger.live_slices("bench", name, ledger.DEFAULT_TTL_SECONDS, 0)) - 1
    return {
        "production ledger, bytes per marked id (INFO used_memory)": f"{per_entry:.1f}",
        "withinReplay, Redis µs/event": f"{unmarked:.2f}",
        f"skipProcessed, nothing marked ({live} live slices + the old layout read), Redis µs/event": f"{empty:.2f}",
        f"skipProcessed, every id marked (verdicts {verdicts}), Redis µs/event": f"{marked:.2f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--production", action="store_true", help="the production ledger's figures instead")
    args = parser.parse_args()
    client = redis.Redis.from_url(REDIS_URL)
    if args.production:
        for label, figure in production_figures(client, args.events, args.batch).items():
            print(f"  {label:<80} {figure}")
        return
    original = ledger_script.SCRIPT
    spent: dict[str, list[float]] = {label: [] for label in VARIANTS}
    try:
        for _ in range(args.rounds):
            for label, script in VARIANTS.items():
                ledger_script.SCRIPT = original
                spent[label].append(redis_us_per_event(client, script, args.events, args.batch))
    finally:
        ledger_script.SCRIPT = original
    print(f"Redis CPU per event, {args.events:,} new ids in batches of {args.batch} (medians of {args.rounds} rounds)")
    for label, figures in spent.items():
        rounds = ", ".join(f"{f:.2f}" for f in figures)
        print(f"  {label:<52} {statistics.median(figures):5.2f} µs/event  rounds {rounds}")


if __name__ == "__main__":
    main()
