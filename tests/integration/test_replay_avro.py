"""Registry-encoded sources replayed by the real worker (issue 27, first slice): records written with
confluent-kafka's own AvroSerializer / JSONSerializer through the stack's schema registry are decoded
into the sandbox as JSON; a wrong magic byte, an unknown schema id and a truncated body are
dead-lettered with their reasons and counted; ids come from the record key or a nested field.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer

from devstack import config
from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.names import checkpoint_key
from eventreplay.worker.contract.tasks import Task, ValueFormat
from support.kafka_tools import create_topic, read_visible
from support.schema_registry import avro_order, json_order, serialized
from support.worker_run import TASK_NAMESPACE, make_task, run_worker

pytestmark = pytest.mark.stack

META = {"name": "meta", "type": {"type": "record", "name": "Meta", "fields": [{"name": "ref", "type": "string"}]}}
ORDER = avro_order(META)
ORDER_JSON = json_order(meta={"type": "object", "properties": {"ref": {"type": "string"}}, "required": ["ref"]})
UNKNOWN_SCHEMA_ID = 987_654


def _orders(count: int) -> list[dict[str, Any]]:
    return [{"id": f"o-{i}", "amount": 10 * i, "meta": {"ref": f"ref-{i}"}, "note": None} for i in range(count)]


def _by_customer(wire: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Each value keyed by its customer, `cust-<i>`."""
    return [(f"cust-{i}".encode(), value) for i, value in enumerate(wire)]


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for key, value in records:
        producer.produce(topic, value, key, 0)
    assert producer.flush(30) == 0


def _replayed(
    bootstrap: str, redis_client: Any, topic: str, uid: str, *, end: int, fmt: ValueFormat, id_field: str
) -> tuple[Checkpoint, Task]:
    task = make_task(bootstrap, topic, uid, end)
    task = task.model_copy(
        update={
            "source_format": fmt,
            "validation": task.validation.model_copy(update={"event_id_field": id_field}),
        }
    )
    done = run_worker(task, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ckpt = Checkpoint.from_json(redis_client.get(checkpoint_key(TASK_NAMESPACE, uid, 0)))
    assert ckpt.state == "done" and ckpt.committed_offset == end
    return ckpt, task


def _format(name: str) -> ValueFormat:
    return ValueFormat.model_validate({"format": name, "schemaRegistry": {"url": config.registry_url()}})


def test_an_avro_topic_is_decoded_into_the_sandbox_and_bad_records_dead_lettered(
    registry: SchemaRegistryClient, kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    topic = f"avro-{unique}"
    create_topic(kafka_admin, topic, 1)
    orders = _orders(6)
    good = _by_customer(serialized(AvroSerializer(registry, json.dumps(ORDER)), topic, orders))
    wire = good[0][1]
    bad = [
        (b"bad-magic", b"\x01" + wire[1:]),  # reason format
        (b"plain-json", orjson.dumps(orders[0])),  # reason format: not the wire format at all
        (b"unknown-id", b"\0" + UNKNOWN_SCHEMA_ID.to_bytes(4, "big") + wire[5:]),  # reason schema-unknown
        (b"truncated", wire[:7]),  # reason decode
    ]
    _produce(kafka_bootstrap, topic, [*good[:3], *bad, *good[3:]])
    end = len(good) + len(bad)

    # Ids from the record key.
    ckpt, task = _replayed(kafka_bootstrap, redis_client, topic, unique, end=end, fmt=_format("avro"), id_field="key")
    assert ckpt.reasons == {"format": 2, "schema-unknown": 1, "decode": 1}
    assert (ckpt.emitted, ckpt.dead_lettered) == (6, 4)
    sandbox = read_visible(kafka_bootstrap, task.output.sandbox_topic, 6)
    assert [orjson.loads(r.value or b"") for r in sandbox] == orders, "the decoded values, as JSON"
    assert [r.key for r in sandbox] == [key for key, _ in good]
    dead = read_visible(kafka_bootstrap, task.output.dead_letter_topic, 4)
    assert [(r.key, r.value, r.headers["er-reason"]) for r in dead] == [
        (key, value, reason)
        for (key, value), reason in zip(bad, [b"format", b"format", b"schema-unknown", b"decode"], strict=True)
    ], "each dead letter keeps the record's own bytes and names its reason"

    # Ids from a nested field of the decoded value.
    nested_uid = f"{unique}-n"
    avro = _format("avro")
    ckpt, task = _replayed(kafka_bootstrap, redis_client, topic, nested_uid, end=end, fmt=avro, id_field="meta.ref")
    assert (ckpt.emitted, ckpt.dead_lettered) == (6, 4)
    sandbox = read_visible(kafka_bootstrap, task.output.sandbox_topic, 6)
    assert [r.key for r in sandbox] == [f"ref-{i}".encode() for i in range(6)]


def test_a_json_schema_topic_is_decoded_and_checked_against_its_registered_schema(
    registry: SchemaRegistryClient, kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    topic = f"jsonschema-{unique}"
    create_topic(kafka_admin, topic, 1)
    orders = [{k: v for k, v in order.items() if k != "note"} for order in _orders(4)]
    good = _by_customer(serialized(JSONSerializer(json.dumps(ORDER_JSON), registry), topic, orders))
    wire = good[0][1]
    bad = [
        (b"plain-json", orjson.dumps(orders[0])),  # reason format
        (b"unknown-id", b"\0" + UNKNOWN_SCHEMA_ID.to_bytes(4, "big") + wire[5:]),  # reason schema-unknown
        (b"truncated", wire[:-3]),  # reason decode: the JSON body is cut
    ]
    _produce(kafka_bootstrap, topic, [*good, *bad])
    end = len(good) + len(bad)

    fmt = _format("jsonSchema")
    ckpt, task = _replayed(kafka_bootstrap, redis_client, topic, unique, end=end, fmt=fmt, id_field="meta.ref")
    assert ckpt.reasons == {"format": 1, "schema-unknown": 1, "decode": 1}
    assert (ckpt.emitted, ckpt.dead_lettered) == (4, 3)
    sandbox = read_visible(kafka_bootstrap, task.output.sandbox_topic, 4)
    assert [orjson.loads(r.value or b"") for r in sandbox] == orders
    assert [r.key for r in sandbox] == [f"ref-{i}".encode() for i in range(4)]
    dead = read_visible(kafka_bootstrap, task.output.dead_letter_topic, 3)
    assert [r.headers["er-reason"] for r in dead] == [b"format", b"schema-unknown", b"decode"]
