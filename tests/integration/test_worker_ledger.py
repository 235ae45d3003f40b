"""The ledger script against real Redis: every verdict, first offset wins, bucket TTLs."""

from __future__ import annotations

from typing import Any

import pytest

from eventreplay.worker.contract.names import replay_prefix
from eventreplay.worker.ledger.dedup import ProductionLedger, ReplayLedger, pack
from support.worker_run import TASK_NAMESPACE

pytestmark = pytest.mark.stack

TTL = 3600


def _ledger(redis_client: Any, unique: str, mode: str = "withinReplay", **extra: Any) -> ReplayLedger:
    return ReplayLedger(
        redis_client,
        namespace=TASK_NAMESPACE,
        ledger=unique,
        uid=f"uid-{unique}",
        partition=0,
        span=10_000,
        mode=mode,  # type: ignore[arg-type]
        ttl_seconds=TTL,
        hash_content=True,
        **extra,
    )


def _buckets(redis_client: Any, unique: str) -> list[bytes]:
    return list(
        redis_client.scan_iter(match=f"{replay_prefix(TASK_NAMESPACE, unique, f'uid-{unique}', 0)}*", count=1000)
    )


def test_verdicts_first_offset_wins_and_own_marks(redis_client: Any, unique: str) -> None:
    ledger = _ledger(redis_client, unique)
    # a new, a repeat (same content), a conflict (other content), another new id.
    batch = [("a", b"1", 10), ("a", b"1", 11), ("a", b"2", 12), ("b", b"1", 13)]
    assert ledger.classify(b"".join(pack(i, v, o) for i, v, o in batch)) == "NDCN"
    # A retried attempt replays the same offsets: its own marks are recognised, not duplicates.
    assert ledger.classify(b"".join(pack(i, v, o) for i, v, o in batch)) == "NDCN"
    # An attempt that got further (offset 20 marked, never committed) loses to an earlier offset,
    # and the mark then carries the earlier offset: the later one becomes the duplicate.
    assert ledger.classify(pack("c", b"1", 20)) == "N"
    assert ledger.classify(pack("c", b"1", 15)) == "N"
    # Offsets compare as numbers whatever Redis's locale (bytes differ in several positions).
    assert ledger.classify(pack("e", b"1", 2**40 + 255)) == "N"
    assert ledger.classify(pack("e", b"1", 256)) == "N"
    assert ledger.classify(pack("e", b"1", 2**40 + 255)) == "D"
    assert ledger.classify(pack("c", b"1", 20)) == "D"
    assert ledger.classify(pack("c", b"1", 15)) == "N"


def test_production_ledger_verdicts(redis_client: Any, unique: str) -> None:
    ProductionLedger(redis_client, unique, namespace=TASK_NAMESPACE).mark([("p", b"same"), ("q", b"old"), ("r", None)])
    ledger = _ledger(redis_client, unique, mode="skipProcessed")
    events = [("p", b"same", 1), ("q", b"new", 2), ("r", b"any", 3), ("s", b"x", 4)]
    blob = b"".join(pack(i, v, o) for i, v, o in events)
    assert ledger.classify(blob) == "PXPN"


def test_every_bucket_expires_and_a_low_ttl_is_refreshed(redis_client: Any, unique: str) -> None:
    ledger = _ledger(redis_client, unique)
    ledger.classify(b"".join(pack(f"id-{n}", b"v", n) for n in range(2000)))
    buckets = _buckets(redis_client, unique)
    assert len(buckets) > 100
    ttls = [redis_client.pttl(key) for key in buckets]
    assert all(0.99 * TTL * 1000 < ttl <= TTL * 1000 for ttl in ttls), sorted(ttls)[:3]

    # Age every bucket: one to 50 % of its TTL (below the 90 % floor), the rest to 95 %.
    low, high = buckets[0], buckets[1:]
    redis_client.pexpire(low, TTL * 500)
    for key in high:
        redis_client.pexpire(key, TTL * 950)
    ledger.classify(b"".join(pack(f"more-{n}", b"v", 5000 + n) for n in range(4000)))
    assert redis_client.pttl(low) > TTL * 990, "a write refreshes a TTL that fell below 90 %"
    assert all(0 < redis_client.pttl(key) <= TTL * 950 for key in high), "above the floor: no EXPIRE"
    assert all(redis_client.pttl(key) > 0 for key in _buckets(redis_client, unique))


def test_production_ids_age_out_under_steady_marking(redis_client: Any, unique: str) -> None:
    """#14 goal 5: marking keeps going, yet an id older than its TTL (+ one slice) is forgotten
    while recent ones are still seen, by `contains` and by a skipProcessed replay."""
    import time

    ttl = 4  # slices of 1 s; an id lives between 4 and 5 s
    production = ProductionLedger(redis_client, unique, ttl_seconds=ttl, namespace=TASK_NAMESPACE)
    production.mark([("old", b"v")])
    deadline = time.time() + ttl + 1.5
    n = 0
    while time.time() < deadline:  # steady marking: under the old scheme every flush re-armed TTLs
        production.mark([(f"steady-{n}", b"v")])
        n += 1
        time.sleep(0.05)
    assert not production.contains("old")
    assert production.contains(f"steady-{n - 1}")
    replay = _ledger(redis_client, unique, "skipProcessed", production_ttl_seconds=ttl)
    assert replay.classify(pack("old", b"v", 1) + pack(f"steady-{n - 1}", b"v", 2)) == "NP"


def test_marks_of_the_unsliced_layout_are_still_read(redis_client: Any, unique: str) -> None:
    """Stored formats change additively: a mark written before the sliced layout (one bucket level
    under `production_prefix`) is still seen by `contains` and by a skipProcessed replay."""
    from eventreplay.worker.contract.names import production_prefix
    from eventreplay.worker.ledger.dedup import PRODUCTION_BITS, content_hash, id_digest

    digest = id_digest("before-upgrade")
    bucket = int.from_bytes(digest[10:14], "big") & ((1 << PRODUCTION_BITS) - 1)
    redis_client.hset(f"{production_prefix(TASK_NAMESPACE, unique)}{bucket:x}", digest[:10], content_hash(b"v"))
    production = ProductionLedger(redis_client, unique, namespace=TASK_NAMESPACE)
    assert production.contains("before-upgrade") and not production.contains("never-marked")
    replay = _ledger(redis_client, unique, "skipProcessed")
    assert replay.classify(pack("before-upgrade", b"v", 1) + pack("never-marked", b"v", 2)) == "PN"
