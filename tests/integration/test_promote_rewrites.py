"""The re-check at promotion against real Kafka and Redis: ids production rewrote in the destination
after the report keep production's value, counted and listed; every other delta id is promoted once,
across a SIGKILL inside an open promotion transaction."""

from __future__ import annotations

import random
import signal
from collections import Counter
from typing import Any

import orjson
import pytest

from eventreplay.operator.steps.promotion import promotion_from
from eventreplay.worker.contract.checkpoints import PromotionCheckpoint
from eventreplay.worker.contract.names import promotion_key
from eventreplay.worker.contract.sink_keys import sink_ledger_key
from eventreplay.worker.runtime.canonical import canonical_hash
from eventreplay.worker.runtime.failpoints import FAILPOINT_ENV, OFFSET_PREFIX
from support.kafka_tools import read_topic, watermarks
from support.reconciliation_scenario import DEST_PARTITIONS, SOURCE_PARTITIONS, Scenario, production_rewrites
from support.step_driver import StepDriver
from support.worker_run import TASK_NAMESPACE

pytestmark = pytest.mark.stack


def _promoted(bootstrap: str, sc: Scenario) -> Counter[str]:
    """How often each id was promoted into the destination (committed records only)."""
    records = read_topic(bootstrap, sc.destination, DEST_PARTITIONS)
    return Counter(rec.key.decode() for _, rec in records if rec.key is not None and "er-promoted-by" in rec.headers)


def _last(bootstrap: str, sc: Scenario) -> dict[str, tuple[bytes | None, dict[str, bytes]]]:
    """Per id, the value and headers of its last committed record (an id's records share a partition)."""
    return {
        rec.key.decode(): (rec.value, rec.headers)
        for _, rec in read_topic(bootstrap, sc.destination, DEST_PARTITIONS)
        if rec.key is not None
    }


def test_ids_production_rewrote_after_the_report_keep_its_value_across_a_kill(
    steps: StepDriver, kafka_admin: Any, kafka_bootstrap: str, redis_client: Any
) -> None:
    sc = steps.build(per_partition=1000, seed=43)
    summary = steps.reconciled(sc)
    ends = [high for _, high in watermarks(kafka_bootstrap, sc.destination, DEST_PARTITIONS)]
    mark = summary["sinkMark"]
    assert mark["topic"] == sc.destination
    assert [mark["endOffsets"].get(str(p), 0) for p in range(DEST_PARTITIONS)] == ends

    # While the gate waits: production rewrites some delta ids, and one id the report found unchanged.
    rng = random.Random(5)
    delta = sorted(sc.delta)
    first = sorted(rng.sample(delta, 25))
    unchanged = next(i for i in sorted(sc.truth) if sc.fate[i] == "correct")
    newer = production_rewrites(kafka_bootstrap, sc, [*first, unchanged])

    task = steps.small_promote_task(sc, summary["reportHash"])
    pinned = steps.start_job(task, **{FAILPOINT_ENV: f"{OFFSET_PREFIX}250"})
    assert pinned.wait(120) == -signal.SIGKILL, pinned.stderr.read() if pinned.stderr else ""
    before_restart = _promoted(kafka_bootstrap, sc)
    assert before_restart, "no transaction committed before the kill"
    assert not set(first) & set(before_restart), "an id production rewrote was promoted over it"

    # Between the kill and the restart: production rewrites more ids nothing promoted yet.
    pending = [i for i in delta if i not in before_restart and i not in newer]
    second = sorted(rng.sample(pending, 10))
    newer |= production_rewrites(kafka_bootstrap, sc, second)

    final = steps.run_job(task)
    assert final.returncode == 0, final.stderr
    result = orjson.loads(final.stdout)
    rewritten = sorted({*first, *second})
    assert result["rewritten"] == len(rewritten) and result["rewrittenIds"] == rewritten
    assert (result["written"], result["alreadyPromoted"]) == (len(delta) - len(rewritten), 0)

    promoted = _promoted(kafka_bootstrap, sc)
    assert [i for i, n in promoted.items() if n > 1] == [], "an id was promoted twice"
    assert set(promoted) == sc.delta - set(rewritten)
    last = _last(kafka_bootstrap, sc)
    for event_id, value in newer.items():  # production's newer value is the last record, no er-* header
        assert last[event_id][0] == value, event_id
        assert not any(name.startswith("er-") for name in last[event_id][1]), event_id
    for event_id in sc.delta - set(rewritten):
        assert canonical_hash(last[event_id][0]) == canonical_hash(sc.truth[event_id]), event_id

    # No claim is left on an id production kept (the killed attempt may have claimed some): the
    # ledger never says it was promoted, and blocks no other replay's promotion of it.
    ledger = sink_ledger_key(kafka_admin.list_topics(timeout=10).cluster_id, sc.destination)
    assert redis_client.hmget(ledger, rewritten) == [None] * len(rewritten)

    # What the operator puts in status.promotion, from the same checkpoints it reads.
    raw = redis_client.mget([promotion_key(TASK_NAMESPACE, sc.uid, p) for p in range(SOURCE_PARTITIONS)])
    mirrors = {p: PromotionCheckpoint.from_json(r) for p, r in enumerate(raw) if r is not None}
    status = promotion_from(summary["reportHash"], mirrors, "promote", "now")
    assert (status.rewritten, status.rewritten_ids) == (len(rewritten), rewritten)
    assert status.written == result["written"]
