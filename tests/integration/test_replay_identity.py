"""Replay identity on the real stack: a deleted and re-created name shares nothing with its
predecessor. Issue 11 case 2: the re-created replay over a window shifted by 30 minutes must
report exactly its own window (checked against the independent oracle), with no id of the old
window in `missing` and only the planted cross-partition copies counted as duplicates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import Producer

from datagen.orders import MESSY, ORDER_SCHEMA, generate
from eventreplay.operator.kafka import KafkaAccess
from eventreplay.operator.planner import PlanRefused, refuse_foreign_output
from eventreplay.worker.contract.names import ReplayTopics
from support.kafka_tools import create_topic, produce
from support.operator_driver import OperatorDriver
from support.oracle import replay
from support.replay_specs import stack_replay

pytestmark = pytest.mark.stack
PARTITIONS, PER_PARTITION, STEP_MS = 3, 600, 9000  # 600 records over 90 minutes per partition
MINUTE = 60_000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seed(bootstrap: str, admin: Any, topic: str, t0: int) -> list[list[tuple[int, bytes | None]]]:
    """Three partitions of messy orders, one record every 9 s from t0; partition 2 also holds, at
    t0 + 45 min, copies of partition 0's first 20 valid events (which are in the first 3 minutes)."""
    create_topic(admin, topic, PARTITIONS)
    parts = [list(generate(PER_PARTITION, seed=41 + p, mix=MESSY)) for p in range(PARTITIONS)]
    parts[2][300:300] = [r for r in parts[0][:40] if r.kind == "ok"][:20]
    stamped: list[list[tuple[int, bytes | None]]] = []
    for p, records in enumerate(parts):
        stamps = [t0 + i * STEP_MS for i in range(len(records))]
        produce(bootstrap, topic, records, partition=p, timestamp_ms=stamps)
        stamped.append([(s, r.value) for s, r in zip(stamps, records, strict=True)])
    return stamped


def _oracle(stamped: list[list[tuple[int, bytes | None]]], start: int, end: int) -> dict[str, Any]:
    """The report of a replay of [start, end) into an empty destination, by the oracle."""
    emitted: list[str] = []
    for records in stamped:
        inside = [(offset, value) for offset, (stamp, value) in enumerate(records) if start <= stamp < end]
        emitted += [key.decode() for key, _ in replay(inside, ORDER_SCHEMA).emitted]
    ids = set(emitted)
    return {"replayedIds": len(ids), "duplicates": len(emitted) - len(ids), "missing": len(ids), "ids": ids}


def _spec(source: str, sink: str, ledger: str, start: int, end: int) -> dict[str, Any]:
    return stack_replay(
        source,
        ledger=ledger,  # the same ledger name both times
        sink_topic=sink,
        window={"timestamps": {"from": _iso(start), "to": _iso(end)}},
        validation={"eventIdField": "event_id", "jsonSchema": ORDER_SCHEMA},
    )


def _reported(driver: OperatorDriver, name: str, uid: str) -> dict[str, Any]:
    def done(r: dict[str, Any]) -> bool:
        return r["metadata"]["uid"] == uid and (r.get("status") or {}).get("reconciliation", {}).get("reportHash")

    return driver.wait_for_replay(name, done, "reconciled", timeout=300)


def _check(got: dict[str, Any], want: dict[str, Any]) -> None:
    report = got["status"]["reconciliation"]
    assert {c: report[c] for c in ("replayedIds", "duplicates", "missing")} == {
        c: want[c] for c in ("replayedIds", "duplicates", "missing")
    }
    assert (report["unchanged"], report["changed"], report["extra"]) == (0, 0, 0)
    assert set(report["samples"]["missing"]) <= want["ids"], "an id of another window is reported missing"
    plan = got["status"]["plan"]
    topics = ReplayTopics.of(got["metadata"]["namespace"], got["metadata"]["name"], got["metadata"]["uid"])
    assert (plan["sandboxTopic"], plan["deadLetterTopic"], plan["reportTopic"]) == (
        topics.sandbox,
        topics.dead_letter,
        topics.report,
    )
    assert report["reportTopic"] == topics.report


def test_a_recreated_name_over_a_shifted_window_reports_exactly_its_own_window(
    driver: OperatorDriver, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    t0 = int(datetime.now(UTC).timestamp() * 1000) - 4 * 60 * MINUTE
    source, sink = f"id-src-{unique}", f"id-dst-{unique}"
    stamped = _seed(kafka_bootstrap, kafka_admin, source, t0)
    create_topic(kafka_admin, sink, PARTITIONS)  # empty: every replayed id is missing
    first_window, shifted = (t0, t0 + 60 * MINUTE), (t0 + 30 * MINUTE, t0 + 90 * MINUTE)
    want_first, want_shifted = _oracle(stamped, *first_window), _oracle(stamped, *shifted)
    # The planted copies (and a later repeat of one of their ids): cross-partition duplicates.
    assert want_first["duplicates"] >= 20 and want_shifted["duplicates"] < want_first["duplicates"]
    assert want_first["ids"] - want_shifted["ids"], "the windows differ"
    base = f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays"
    with driver.running():
        made = driver.create("same", _spec(source, sink, f"l-{unique}", *first_window))
        first = _reported(driver, "same", made["metadata"]["uid"])
        _check(first, want_first)

        driver.k.call("DELETE", f"{base}/same")
        driver.wait_for(lambda: driver.k.get_replay(namespace, "same") is None, 60, "same deleted")
        again = driver.create("same", _spec(source, sink, f"l-{unique}", *shifted))
        assert again["metadata"]["uid"] != made["metadata"]["uid"]
        second = _reported(driver, "same", again["metadata"]["uid"])
        _check(second, want_shifted)
        assert second["status"]["plan"]["sandboxTopic"] != first["status"]["plan"]["sandboxTopic"]
        totals = driver.get("same")["status"]["totals"]
        assert totals["emitted"] == want_shifted["replayedIds"] + want_shifted["duplicates"]


def test_the_operator_sees_who_wrote_an_output_topic(kafka_admin: Any, kafka_bootstrap: str, unique: str) -> None:
    """`KafkaAccess.writers` on the real broker: the uid of the first committed record per
    non-empty partition, "" for a record without one, nothing for empty or missing topics."""
    ours, headless, empty = f"w-ours-{unique}", f"w-headless-{unique}", f"w-empty-{unique}"
    for topic in (ours, headless, empty):
        create_topic(kafka_admin, topic, 2)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(ours, b"{}", b"k", partition=1, headers=[("er-replay-uid", b"u-1")])
    producer.produce(headless, b"{}", b"k", partition=0)
    assert producer.flush(30) == 0
    found = KafkaAccess().writers(kafka_bootstrap, [ours, headless, empty, f"w-missing-{unique}"])
    assert found == {ours: {"u-1"}, headless: {""}}
    with pytest.raises(PlanRefused) as refused:
        refuse_foreign_output(found, "u-1")
    assert refused.value.reason == "SandboxInUse" and headless in refused.value.message


def test_planning_onto_output_topics_another_replay_wrote_stalls_with_a_reason(
    driver: OperatorDriver, *, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    source = f"id-occupied-{unique}"
    create_topic(kafka_admin, source, 1)
    produce(kafka_bootstrap, source, list(generate(20, seed=5)))
    spec = {**_spec(source, f"id-occupied-dst-{unique}", f"l-{unique}", 0, 1), "dryRun": True}
    spec["window"] = {"offsets": {"from": 0, "to": 10}}
    # A planned replay is frozen (dry run or not), so the foreign records are there before its first
    # plan: the replay exists (its uid names the sandbox) before the operator starts.
    created = driver.create("occupied", spec)
    meta = created["metadata"]
    sandbox = ReplayTopics.of(meta["namespace"], meta["name"], meta["uid"]).sandbox
    create_topic(kafka_admin, sandbox, 1)  # someone else's records under this replay's name
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(sandbox, b"{}", b"k", headers=[("er-replay-uid", b"someone-else")])
    assert producer.flush(30) == 0
    with driver.running():

        def stalled(r: dict[str, Any]) -> bool:
            return driver.condition(r, "Stalled").get("reason") == "SandboxInUse"

        got = driver.wait_for_replay("occupied", stalled, "SandboxInUse", stalled_fails=False, timeout=60)
        message = driver.condition(got, "Stalled")["message"]
        assert sandbox in message and "uid someone-else" in message and "delete that topic" in message
        assert driver.condition(got, "Planned")["reason"] == "SandboxInUse"
