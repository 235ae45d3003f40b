"""What a finished promotion must have left in the destination, checked against a scenario's truth:
shared by the whole-promotion and the rollout-step tests."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from eventreplay.worker.contract.checkpoints import PromotionCheckpoint, combine_digests
from eventreplay.worker.contract.names import promotion_key
from eventreplay.worker.runtime import digest
from eventreplay.worker.runtime.canonical import canonical_hash
from support.kafka_tools import read_topic
from support.reconciliation_scenario import DEST_PARTITIONS, SOURCE_PARTITIONS, Scenario
from support.worker_run import TASK_NAMESPACE


def check_sink(kafka_bootstrap: str, sc: Scenario, promoted_summary: dict[str, Any]) -> None:
    """Per id the last record is the correct output; the promoted records are the delta, once each."""
    records = read_topic(kafka_bootstrap, sc.destination, DEST_PARTITIONS)
    last: dict[str, bytes] = {}
    home: dict[str, set[int]] = defaultdict(set)
    promoted: list[tuple[int, Any]] = []
    for p, rec in records:
        if rec.key is None:
            continue
        last[rec.key.decode()] = rec.value
        if "er-promoted-by" in rec.headers:
            promoted.append((p, rec))
        else:
            home[rec.key.decode()].add(p)
    for event_id, right in sc.truth.items():
        assert canonical_hash(last[event_id]) == canonical_hash(right), event_id
    ids = Counter(rec.key.decode() for _, rec in promoted)
    assert [i for i, n in ids.items() if n > 1] == [], "an id was promoted twice"
    assert set(ids) == sc.delta
    chains: dict[int, list[tuple[int, bytes, bytes]]] = defaultdict(list)
    for p, rec in promoted:
        event_id = rec.key.decode()
        assert rec.value == sc.truth[event_id]  # the sandbox's winning copy, byte for byte
        assert rec.headers["er-promoted-by"] == f"tests/r-{sc.uid}".encode()
        assert rec.headers["er-replay-uid"] == sc.uid.encode()
        assert rec.headers["er-report-hash"] == promoted_summary["reportHash"].encode()
        if home[event_id]:
            assert home[event_id] == {p}, "promoted record landed away from the key's partition"
        src = int(rec.headers["er-source-partition"])
        chains[src].append((int(rec.headers["er-source-offset"]), rec.key, rec.value))
    per_partition = [(p, digest.chain((k, v) for _, k, v in sorted(chains[p])).hex()) for p in range(SOURCE_PARTITIONS)]
    assert promoted_summary["sha256"] == combine_digests(per_partition)
    assert promoted_summary["written"] == len(sc.delta)


def promoted_per_partition(kafka_bootstrap: str, sc: Scenario) -> dict[str, int]:
    """The promoted records in the destination (committed) per sandbox partition (as a string), none
    of an id twice."""
    records = read_topic(kafka_bootstrap, sc.destination, DEST_PARTITIONS)
    promoted = [rec for _, rec in records if rec.key is not None and "er-promoted-by" in rec.headers]
    ids = Counter(rec.key.decode() for rec in promoted if rec.key is not None)
    assert [i for i, n in ids.items() if n > 1] == [], "an id was promoted twice"
    return dict(Counter(rec.headers["er-source-partition"].decode() for rec in promoted))


def promotion_mirrors(redis_client: Any, sc: Scenario) -> dict[str, PromotionCheckpoint]:
    """The promotion's checkpoint mirror per sandbox partition (as a string) that has one."""
    keys = [promotion_key(TASK_NAMESPACE, sc.uid, p) for p in range(SOURCE_PARTITIONS)]
    return {str(p): PromotionCheckpoint.from_json(raw) for p, raw in enumerate(redis_client.mget(keys)) if raw}
