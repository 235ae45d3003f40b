"""Output fidelity on real Kafka and Redis (`spec.sink.key: sourceKey`): production (Kafka's own Java
producer) wrote half of the events into a sink keyed by customer; the replay of all of them is
reconciled by event id, and the missing half promoted. Each promoted record carries its source
record's key, kept headers and timestamp, and sits in the partition where the Java producer put
production's records of that key."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from eventreplay.worker.contract.headers import SINK_KEY_HEADER, SOURCE_TIMESTAMP_HEADER
from eventreplay.worker.contract.step_tasks import EventIdSource
from support.java_producer import java_produce
from support.kafka_tools import create_topic, read_topic, watermarks
from support.reconciliation_scenario import Scenario
from support.step_driver import StepDriver
from support.worker_run import make_task, run_worker

pytestmark = pytest.mark.stack

SOURCE_PARTITIONS, SINK_PARTITIONS, PER_PARTITION, CUSTOMERS = 2, 5, 80, 23
SHAPE = {"key": "sourceKey", "headers": {"deny": ["secret"]}, "timestamp": "source"}
Sent = dict[str, tuple[bytes | None, bytes, int, bytes]]
"""Per event id: the source record's key, trace-id header, timestamp and value."""


def _source(bootstrap: str, topic: str, base_ms: int) -> Sent:
    """Keyed records with headers and old timestamps."""
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    sent: Sent = {}
    for p in range(SOURCE_PARTITIONS):
        for i in range(PER_PARTITION):
            event_id = f"e-{p}-{i:03d}"
            key = None if i == 7 else f"customer-{(i * 7 + p) % CUSTOMERS}".encode()  # one null key
            trace, stamp = f"trace-{event_id}".encode(), base_ms + p * 10_000 + i
            headers = [("trace-id", trace), ("secret", b"s3cr3t"), ("er-replay-uid", b"forged")]
            value = orjson.dumps({"event_id": event_id, "amount": i})
            producer.produce(topic, value, key, p, headers=headers, timestamp=stamp)
            sent[event_id] = (key, trace, stamp, value)
    assert producer.flush(60) == 0
    return sent


def _replayed(steps: StepDriver, base_ms: int) -> tuple[Scenario, Sent]:
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


def _promoted(steps: StepDriver, sc: Scenario) -> dict[str, Any]:
    """Reconciled by event id (a field: the sink is keyed by customer) over the whole sink, then promoted."""
    ends = [
        {"partition": p, "startOffset": 0, "endOffset": high}
        for p, (_, high) in enumerate(watermarks(steps.bootstrap, sc.destination, SINK_PARTITIONS))
    ]
    task = steps.reconcile_task(sc, offsets=ends)
    task = task.model_copy(update={"event_id": EventIdSource(source="valueField", field="event_id")})
    reconciled = steps.run_job(task)
    assert reconciled.returncode == 0, reconciled.stderr
    report = orjson.loads(reconciled.stdout)
    return steps.promoted(sc, report["reportHash"]) | {"counts": report["report"]["counts"]}


def test_promoted_records_keep_source_keys_headers_times_and_java_partitions(
    steps: StepDriver, kafka_bootstrap: str
) -> None:
    started_ms = int(time.time() * 1000)
    sc, sent = _replayed(steps, base_ms=started_ms - 5 * 3600_000)
    for p, rec in read_topic(kafka_bootstrap, sc.sandbox, SOURCE_PARTITIONS):
        # The sandbox stays keyed by event id and stamped when replayed (its retention counts from then).
        assert rec.key == orjson.loads(rec.value or b"")["event_id"].encode(), p
        assert rec.timestamp_ms >= started_ms
    written = {i: s for n, (i, s) in enumerate(sorted(sent.items())) if n % 2 == 0 and s[0] is not None}
    java = java_produce(kafka_bootstrap, sc.destination, [(k.decode(), v.decode()) for k, _, _, v in written.values()])
    promoted = _promoted(steps, sc)
    assert (promoted["counts"]["unchanged"], promoted["written"]) == (len(written), len(sent) - len(written))

    records = [(p, r) for p, r in read_topic(kafka_bootstrap, sc.destination, SINK_PARTITIONS) if r.headers]
    assert len(records) == len(sent) - len(written)
    for partition, rec in records:
        key, trace, stamp, value = sent[orjson.loads(rec.value or b"")["event_id"]]
        assert (rec.key, rec.timestamp_ms, rec.headers["trace-id"], rec.value) == (key, stamp, trace, value)
        assert "secret" not in rec.headers and SINK_KEY_HEADER not in rec.headers
        assert SOURCE_TIMESTAMP_HEADER not in rec.headers
        assert rec.headers["er-replay-uid"] == sc.uid.encode()  # the replay's own, never the source's
        assert rec.headers["er-source-topic"] == sc.source.encode()
        if key is not None:
            assert partition == java[key.decode()], f"{key!r} is in {partition}, Java put it in {java[key.decode()]}"
    promoted_keys = {rec.key for _, rec in records}
    assert None in promoted_keys and promoted_keys - {None} <= {k.encode() for k in java}
