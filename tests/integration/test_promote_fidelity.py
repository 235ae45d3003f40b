"""Output fidelity on real Kafka and Redis (`spec.sink.key: sourceKey`): replayed and promoted, each
sink record carries its source record's key, kept headers and timestamp, and sits in the partition
Kafka's own Java producer puts a record of that key in."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from eventreplay.worker.contract.headers import SINK_KEY_HEADER, SOURCE_TIMESTAMP_HEADER
from support.java_producer import java_partitions
from support.kafka_tools import create_topic, read_topic
from support.reconciliation_scenario import Scenario
from support.step_driver import StepDriver
from support.worker_run import make_task, run_worker

pytestmark = pytest.mark.stack

SOURCE_PARTITIONS, SINK_PARTITIONS, PER_PARTITION, CUSTOMERS = 2, 5, 80, 23
SHAPE = {"key": "sourceKey", "headers": {"deny": ["secret"]}, "timestamp": "source"}


def _source(bootstrap: str, topic: str, base_ms: int) -> dict[str, tuple[bytes | None, bytes, int]]:
    """Keyed records with headers and old timestamps; per event id: (key, trace id, timestamp)."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    sent: dict[str, tuple[bytes | None, bytes, int]] = {}
    for p in range(SOURCE_PARTITIONS):
        for i in range(PER_PARTITION):
            event_id = f"e-{p}-{i:03d}"
            key = None if i == 7 else f"customer-{(i * 7 + p) % CUSTOMERS}".encode()  # one null key
            trace, stamp = f"trace-{event_id}".encode(), base_ms + p * 10_000 + i
            headers = [("trace-id", trace), ("secret", b"s3cr3t"), ("er-replay-uid", b"forged")]
            value = orjson.dumps({"event_id": event_id, "amount": i})
            producer.produce(topic, value, key, p, headers=headers, timestamp=stamp)
            sent[event_id] = (key, trace, stamp)
    assert producer.flush(60) == 0
    return sent


def _replayed(steps: StepDriver, base_ms: int) -> tuple[Scenario, dict[str, tuple[bytes | None, bytes, int]]]:
    u = steps.unique
    sc = Scenario(u, f"fid-src-{u}", f"fid-src-{u}-sb", f"fid-dst-{u}", base_ms, base_ms + 60_000)
    for topic in (sc.source, sc.sandbox):
        create_topic(steps.admin, topic, SOURCE_PARTITIONS)
    create_topic(steps.admin, sc.destination, SINK_PARTITIONS)
    sent = _source(steps.bootstrap, sc.source, base_ms)
    for p in range(SOURCE_PARTITIONS):
        task = make_task(steps.bootstrap, sc.source, u, PER_PARTITION, partition=p, sandbox=sc.sandbox, sink=SHAPE)
        done = run_worker(task)
        assert done.returncode == 0, done.stderr
    return sc, sent


def test_promoted_records_keep_source_keys_headers_times_and_java_partitions(
    steps: StepDriver, kafka_admin: Any, kafka_bootstrap: str
) -> None:
    started_ms = int(time.time() * 1000)
    sc, sent = _replayed(steps, base_ms=started_ms - 5 * 3600_000)
    for p, rec in read_topic(kafka_bootstrap, sc.sandbox, SOURCE_PARTITIONS):
        # The sandbox stays keyed by event id and stamped when replayed (its retention counts from then).
        assert rec.key == orjson.loads(rec.value or b"")["event_id"].encode(), p
        assert rec.timestamp_ms >= started_ms
    empty = [{"partition": p, "startOffset": 0, "endOffset": 0} for p in range(SINK_PARTITIONS)]
    reconciled = steps.run_job(steps.reconcile_task(sc, offsets=empty))  # an empty sink: all missing
    assert reconciled.returncode == 0, reconciled.stderr
    promoted = steps.promoted(sc, orjson.loads(reconciled.stdout)["reportHash"])
    assert promoted["written"] == len(sent)

    records = read_topic(kafka_bootstrap, sc.destination, SINK_PARTITIONS)
    assert len(records) == len(sent)
    keys = sorted({key.decode() for key, _, _ in sent.values() if key is not None})
    create_topic(kafka_admin, f"fid-java-{sc.uid}", SINK_PARTITIONS)
    java = java_partitions(kafka_bootstrap, f"fid-java-{sc.uid}", keys)
    for partition, rec in records:
        key, trace, stamp = sent[orjson.loads(rec.value or b"")["event_id"]]
        assert (rec.key, rec.timestamp_ms, rec.headers["trace-id"]) == (key, stamp, trace)
        assert "secret" not in rec.headers and SINK_KEY_HEADER not in rec.headers
        assert SOURCE_TIMESTAMP_HEADER not in rec.headers
        assert rec.headers["er-replay-uid"] == sc.uid.encode()  # the replay's own, never the source's
        assert rec.headers["er-source-topic"] == sc.source.encode()
        if key is not None:
            assert partition == java[key.decode()], f"{key!r} is in {partition}, Java put it in {java[key.decode()]}"
    assert {rec.key for _, rec in records} == {key for key, _, _ in sent.values()}
