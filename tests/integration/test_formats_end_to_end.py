"""Records as production writes them, end to end on the real stack: a registry-framed source (Avro,
then JSON Schema) is replayed into a sink of the same format, reconciled and promoted.

Production wrote half of the events into the sink, encoded under an OLDER version of the sink
subject's schema, each in the partition Kafka's own Java producer chose for its key. The replay
encodes with the subject's latest version (another schema id): reconciliation compares decoded
values, so those halves are unchanged; the other half is promoted. Each promoted record decodes
with the sink schema, keeps its source key, kept headers and timestamp, and sits where Java puts
its key. An output the sink schema does not accept is dead-lettered (`sink-schema`) before the
report, never promoted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer

from devstack import config
from eventreplay.worker.contract.step_tasks import EventIdSource
from eventreplay.worker.contract.tasks import SinkSubject, ValueFormat
from support.java_producer import java_produce
from support.kafka_tools import create_topic, read_topic, watermarks
from support.reconciliation_scenario import Scenario
from support.schema_registry import Serializer, value_context
from support.step_driver import StepDriver
from support.worker_run import make_task, run_worker

pytestmark = pytest.mark.stack

SOURCE_PARTITIONS, SINK_PARTITIONS, EVENTS = 2, 5, 60
SHAPE = {"key": "sourceKey", "headers": {"deny": ["secret"]}, "timestamp": "source"}
NO_SINK_FIELD = 13  # every 13th event carries an amount the sink's schema refuses
AVRO_SOURCE = {
    "type": "record",
    "name": "Order",
    "namespace": "eventreplay.e2e",
    "fields": [
        {"name": "event_id", "type": "string"},
        {"name": "amount", "type": ["null", "long"]},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
JSON_SOURCE = {
    "type": "object",
    "properties": {"event_id": {"type": "string"}, "amount": {"type": ["integer", "null"]}},
    "required": ["event_id", "amount"],
}


def _sink_schemas(kind: str) -> list[str]:
    """The sink subject's two versions: the older production wrote with, the latest the replay uses;
    the same fields (the same decoded content), a required amount."""
    if kind == "AVRO":
        fields = [{"name": "event_id", "type": "string"}, {"name": "amount", "type": "long"}]
        fields.append({"name": "note", "type": ["null", "string"], "default": None})
        base = {"type": "record", "name": "Order", "namespace": "eventreplay.e2e", "fields": fields}
        return [json.dumps(base | {"doc": f"orders, version {v}"}) for v in (1, 2)]
    props = {"event_id": {"type": "string"}, "amount": {"type": "integer"}}
    base = {"type": "object", "properties": props, "required": ["event_id", "amount"]}
    return [json.dumps(base | {"title": f"Order v{v}"}) for v in (1, 2)]


def _order(i: int) -> dict[str, Any]:
    amount = None if i % NO_SINK_FIELD == 5 else 10 * i
    return {"event_id": f"e-{i:03d}", "amount": amount, "note": f"n{i}" if i % 3 else None}


def _registered(registry: SchemaRegistryClient, subject: str, schemas: list[str], kind: str) -> list[int]:
    return [registry.register_schema(subject, Schema(text, kind)) for text in schemas]


class Formats:
    """One format's serdes over the stack's registry."""

    def __init__(self, registry: SchemaRegistryClient, kind: str) -> None:
        self.registry, self.kind = registry, kind
        self.name = "avro" if kind == "AVRO" else "jsonSchema"

    def serializer(self, schema: str) -> Serializer:
        if self.kind == "AVRO":
            return AvroSerializer(self.registry, schema, conf={"auto.register.schemas": False})
        return JSONSerializer(schema, self.registry, conf={"auto.register.schemas": False})

    def deserializer(self) -> Callable[[bytes, Any], Any]:
        if self.kind == "AVRO":
            return AvroDeserializer(self.registry)
        return JSONDeserializer(None, schema_registry_client=self.registry)

    def value_format(self) -> ValueFormat:
        return ValueFormat.model_validate({"format": self.name, "schemaRegistry": {"url": config.registry_url()}})


def _source(fmt: Formats, bootstrap: str, topic: str, base_ms: int) -> dict[str, tuple[bytes, bytes, int]]:
    """Keyed, headed, old records in the source format; per event id: key, trace header, timestamp."""
    schema = json.dumps(AVRO_SOURCE if fmt.kind == "AVRO" else JSON_SOURCE)
    _registered(fmt.registry, f"{topic}-value", [schema], fmt.kind)
    serialize, ctx = fmt.serializer(schema), value_context(topic)
    producer, sent = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True}), {}
    for i in range(EVENTS):
        order = _order(i) if fmt.kind == "AVRO" else {k: v for k, v in _order(i).items() if k != "note"}
        key, trace, stamp = f"customer-{i % 17}".encode(), f"trace-{i}".encode(), base_ms + i
        headers = [("trace-id", trace), ("secret", b"s3cr3t")]
        producer.produce(topic, serialize(order, ctx), key, i % SOURCE_PARTITIONS, headers=headers, timestamp=stamp)
        sent[order["event_id"]] = (key, trace, stamp)
    assert producer.flush(60) == 0
    return sent


def _production(fmt: Formats, steps: StepDriver, sc: Scenario, old_schema: str, events: list[int]) -> dict[str, int]:
    """Production's half of the sink: encoded under the older sink schema, each in the partition Kafka's
    Java producer chose for its key (asked on a probe topic of the sink's partition count)."""
    probe = f"{sc.destination}-probe"
    create_topic(steps.admin, probe, SINK_PARTITIONS)
    keys = sorted({f"customer-{i % 17}" for i in range(EVENTS)})
    java = java_produce(steps.bootstrap, probe, [(k, "{}") for k in keys])
    serialize, ctx = fmt.serializer(old_schema), value_context(sc.destination)
    producer = Producer({"bootstrap.servers": steps.bootstrap, "enable.idempotence": True})
    for i in events:
        order = {k: v for k, v in _order(i).items() if fmt.kind == "AVRO" or k != "note"}
        key = f"customer-{i % 17}"
        producer.produce(sc.destination, serialize(order, ctx), key.encode(), java[key])
    assert producer.flush(60) == 0
    return java


def _replay_reconcile_promote(fmt: Formats, steps: StepDriver, kafka_bootstrap: str) -> None:
    u, started_ms = steps.unique, int(time.time() * 1000)
    base_ms = started_ms - 3 * 3600_000
    sc = Scenario(u, f"fmt-src-{u}", f"fmt-src-{u}-sb", f"fmt-dst-{u}", base_ms, base_ms + 60_000)
    for topic in (sc.source, sc.sandbox):
        create_topic(steps.admin, topic, SOURCE_PARTITIONS)
    create_topic(steps.admin, sc.destination, SINK_PARTITIONS)
    sent = _source(fmt, steps.bootstrap, sc.source, base_ms)
    old, latest = _sink_schemas(fmt.kind)
    ids = _registered(fmt.registry, f"{sc.destination}-value", [old, latest], fmt.kind)
    assert ids[0] != ids[1], "two versions of the sink subject, two schema ids"
    refused = {i for i in range(EVENTS) if _order(i)["amount"] is None}
    written = [i for i in range(EVENTS) if i % 2 == 0 and i not in refused]
    java = _production(fmt, steps, sc, old, written)

    for p in range(SOURCE_PARTITIONS):
        task = make_task(
            steps.bootstrap, sc.source, u, EVENTS // SOURCE_PARTITIONS, partition=p, sandbox=sc.sandbox, sink=SHAPE
        )
        task = task.model_copy(
            update={
                "source_format": fmt.value_format(),
                "sink_format": fmt.value_format(),
                "sink_subject": SinkSubject(name=f"{sc.destination}-value"),
            }
        )
        done = run_worker(task, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    dead = [r for _, r in read_topic(kafka_bootstrap, task.output.dead_letter_topic, SOURCE_PARTITIONS)]
    assert [r.headers["er-reason"] for r in dead] == [b"sink-schema"] * len(refused), "refused outputs, and only"
    assert {r.key for r in dead} == {f"customer-{i % 17}".encode() for i in refused}

    ends = [
        {"partition": p, "startOffset": 0, "endOffset": high}
        for p, (_, high) in enumerate(watermarks(steps.bootstrap, sc.destination, SINK_PARTITIONS))
    ]
    task = steps.reconcile_task(sc, offsets=ends).model_copy(
        update={"event_id": EventIdSource(source="valueField", field="event_id"), "sink_format": fmt.value_format()}
    )
    reconciled = steps.run_job(task)
    assert reconciled.returncode == 0, reconciled.stderr[-3000:]
    report = orjson.loads(reconciled.stdout)
    counts = report["report"]["counts"]
    missing = EVENTS - len(refused) - len(written)
    assert (counts["unchanged"], counts["missing"], counts.get("changed", 0)) == (len(written), missing, 0)
    assert report["report"]["plan"]["canonical"]["form"].startswith(f"{fmt.name}-decoded+")
    assert steps.promoted(sc, report["reportHash"])["written"] == missing

    decode = fmt.deserializer()
    promoted = [(p, r) for p, r in read_topic(kafka_bootstrap, sc.destination, SINK_PARTITIONS) if r.headers]
    assert len(promoted) == missing
    for partition, rec in promoted:
        assert rec.value is not None and int.from_bytes(rec.value[1:5], "big") == ids[1], "the latest sink schema"
        order = decode(rec.value, value_context(sc.destination))
        key, trace, stamp = sent[order["event_id"]]
        assert (rec.key, rec.timestamp_ms, rec.headers["trace-id"]) == (key, stamp, trace)
        assert "secret" not in rec.headers
        assert partition == java[key.decode()], f"{key!r} is in {partition}, Java put it in {java[key.decode()]}"


def test_avro_replayed_reconciled_decoded_and_promoted_in_the_sink_format(
    steps: StepDriver, registry: SchemaRegistryClient, kafka_bootstrap: str
) -> None:
    _replay_reconcile_promote(Formats(registry, "AVRO"), steps, kafka_bootstrap)


def test_json_schema_replayed_reconciled_and_promoted_in_the_sink_format(
    steps: StepDriver, registry: SchemaRegistryClient, kafka_bootstrap: str
) -> None:
    _replay_reconcile_promote(Formats(registry, "JSON"), steps, kafka_bootstrap)


def test_a_named_subject_gets_the_replays_schema_registered_once_and_used(
    steps: StepDriver, registry: SchemaRegistryClient, kafka_bootstrap: str
) -> None:
    """RecordNameStrategy: the sink subject is the record's name; the subject holds nothing until the
    replay (its project may register) registers its schema; a second replay finds it (same id)."""
    fmt, u = Formats(registry, "AVRO"), steps.unique
    source = f"fmt-named-{u}"
    create_topic(steps.admin, source, SOURCE_PARTITIONS)  # partition 0 is replayed
    sent = _source(fmt, steps.bootstrap, source, int(time.time() * 1000))
    subject, (_old, schema) = f"eventreplay.e2e.Order{u}", _sink_schemas("AVRO")
    sandboxes = []
    for run in ("first", "second"):
        task = make_task(steps.bootstrap, source, f"{u}{run}", EVENTS // SOURCE_PARTITIONS, sandbox=f"{source}-{run}")
        sink = SinkSubject(name=subject, schema_text=schema)
        task = task.model_copy(
            update={"source_format": fmt.value_format(), "sink_format": fmt.value_format(), "sink_subject": sink}
        )
        done = run_worker(task, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        sandboxes.append([r for _, r in read_topic(kafka_bootstrap, task.output.sandbox_topic, 1)])
    registered = registry.get_latest_version(subject)
    assert registry.get_versions(subject) == [registered.version], "registered once: the second found it"
    decode = fmt.deserializer()
    for records in sandboxes:
        assert {int.from_bytes((r.value or b"")[1:5], "big") for r in records} == {registered.schema_id}
        assert {decode(r.value, value_context(source))["event_id"] for r in records} <= set(sent)
    assert len(sandboxes[0]) == len(sandboxes[1]) > 0
