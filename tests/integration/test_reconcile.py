"""Reconciliation against real Kafka and Redis: the report's counts equal the seeded truth."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT
from eventreplay.worker.contract.names import report_key
from eventreplay.worker.runtime.canonical import Checksum, canonical_hash, id_order, report_hash
from support.kafka_tools import read_topic
from support.reconciliation_scenario import build, reconcile_task, run_job
from support.worker_run import TASK_NAMESPACE

pytestmark = pytest.mark.stack

COUNTED = (
    "unchanged",
    "changed",
    "missing",
    "extra",
    "unidentified",
    "superseded",
    "replayedIds",
    "replayedRecords",
    "duplicates",
    "existingRecords",
    "existingIds",
)


def _checksum(pairs: dict[str, bytes]) -> str:
    c = Checksum()
    for event_id in sorted(pairs, key=id_order):
        c.add(event_id, canonical_hash(pairs[event_id]))
    return c.hexdigest()


def test_report_counts_equal_the_seeded_truth(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    sc = build(kafka_bootstrap, kafka_admin, unique)
    done = run_job(reconcile_task(sc))
    assert done.returncode == 0, done.stderr
    summary = orjson.loads(done.stdout)
    report = summary["report"]
    counts = report["counts"]
    assert {k: counts[k] for k in COUNTED} == {k: sc.expected[k] for k in COUNTED}
    assert counts["duplicates"] == 50  # 40 identical + 10 differing copies in higher partitions
    assert counts["unchanged"] + counts["changed"] + counts["missing"] == counts["replayedIds"]

    # Stored in Redis, hashed as documented, and the replayed checksum is the truth's.
    stored = orjson.loads(redis_client.get(report_key(TASK_NAMESPACE, sc.uid)))
    assert stored == summary
    assert summary["reportHash"] == report_hash(report)
    assert report["replayedChecksum"] == _checksum(sc.truth)

    # Samples: the smallest ids of each class.
    by_class = {"missing": "missed", "changed": ("wrong", "right_then_wrong")}
    for cls, fates in by_class.items():
        ids = sorted(i for i, f in sc.fate.items() if f in fates)
        assert report["samples"][cls] == ids[:5]
    assert report["samples"]["extra"] == [f"extra-{i:04d}" for i in range(5)]

    # The full list of changed + missing (the delta) and extra ids is on the report topic, tagged
    # with the report hash.
    listed = {}
    for _, rec in read_topic(kafka_bootstrap, f"rc-report-{sc.uid}", 3):
        assert rec.headers["er-report-hash"] == summary["reportHash"].encode()
        listed[rec.key.decode()] = rec.value.decode()
    expected = {i: ("missing" if sc.fate[i] == "missed" else "changed") for i in sc.delta}
    assert {i: cls for i, cls in listed.items() if cls != "extra"} == expected
    assert {i for i, cls in listed.items() if cls == "extra"} == sc.extra != set()
    assert sum(report["deltaByPartition"].values()) == len(sc.delta)

    # Deterministic: a second run over the same data gives the same report hash.
    again = run_job(reconcile_task(sc))
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["reportHash"] == summary["reportHash"]
    assert orjson.loads(again.stdout)["run"] != summary["run"]


def test_explicit_offsets_and_value_field_ids(
    kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    sc = build(kafka_bootstrap, kafka_admin, unique, per_partition=600, seed=5)
    plan = orjson.loads(run_job(reconcile_task(sc)).stdout)["report"]["plan"]["existing"]
    task = reconcile_task(sc, offsets=plan)
    by_offsets = run_job(task)
    assert by_offsets.returncode == 0, by_offsets.stderr
    counts = orjson.loads(by_offsets.stdout)["report"]["counts"]
    assert {k: counts[k] for k in ("unchanged", "changed", "missing", "extra")} == {
        k: sc.expected[k] for k in ("unchanged", "changed", "missing", "extra")
    }
    # Ids from the value's event_id field: the 7 keyless records have no event_id either, the
    # extra records carry theirs in the value.
    by_field = reconcile_task(sc, offsets=plan).model_copy(
        update={"event_id": task.event_id.model_copy(update={"source": "valueField", "field": "event_id"})}
    )
    got = run_job(by_field)
    assert got.returncode == 0, got.stderr
    field_counts = orjson.loads(got.stdout)["report"]["counts"]
    assert field_counts["missing"] == sc.expected["missing"]
    assert field_counts["extra"] == sc.expected["extra"]
    assert field_counts["unidentified"] == 7

    # Retention / impossible ranges are permanent, with a clear message.
    beyond = [{**plan[0], "endOffset": plan[0]["endOffset"] + 10_000}]
    refused = run_job(reconcile_task(sc, offsets=beyond))
    assert refused.returncode == EXIT_PERMANENT
    assert "beyond the log end" in refused.stderr
