"""The local stack's schema registry, driven by confluent-kafka's own serdes over real Kafka.

Records written the way production writes them (Confluent wire format: magic byte, 4-byte schema
id, body) must round-trip through the registry the stack starts, or no replay test of a
registry-encoded topic means anything.
"""

from __future__ import annotations

import json
import struct
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import SerializationContext

from devstack import config
from support.kafka_tools import create_topic
from support.schema_registry import avro_order, json_order, serialized, value_context

Deserializer = Callable[[bytes, SerializationContext], Any]
ORDER_V1 = avro_order()
ORDER_JSON = json_order()


def _roundtrip(admin: Any, bootstrap: str, topic: str, wire: list[bytes], deserialize: Deserializer) -> list[Any]:
    """`wire` produced into a new topic, consumed back and deserialized."""
    create_topic(admin, topic, 1)
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in wire:
        producer.produce(topic, value)
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got: list[bytes] = []
    try:
        while len(got) < len(wire):
            msg = consumer.poll(10)
            assert msg is not None, f"only {len(got)} of {len(wire)} records came back"
            assert msg.error() is None, msg.error()
            got.append(msg.value())
    finally:
        consumer.close()
    ctx = value_context(topic)
    return [deserialize(value, ctx) for value in got]


def test_avro_records_round_trip_through_the_registry_and_kafka(
    registry: SchemaRegistryClient, kafka_bootstrap: str, kafka_admin: Any, unique: str
) -> None:
    topic = f"reg-avro-{unique}"
    orders = [{"id": f"o-{i}", "amount": i * 10, "note": None if i % 2 else "gift"} for i in range(20)]
    wire = serialized(AvroSerializer(registry, json.dumps(ORDER_V1)), topic, orders)
    schema_id = struct.unpack(">bI", wire[0][:5])[1]
    assert all(w[:5] == b"\0" + struct.pack(">I", schema_id) for w in wire), "Confluent wire format"
    assert registry.get_latest_version(f"{topic}-value").schema_id == schema_id  # TopicNameStrategy
    deserialize = AvroDeserializer(registry)  # the writer's schema fetched by id
    assert _roundtrip(kafka_admin, kafka_bootstrap, topic, wire, deserialize) == orders


def test_json_schema_records_round_trip_through_the_registry(
    registry: SchemaRegistryClient, kafka_bootstrap: str, kafka_admin: Any, unique: str
) -> None:
    topic = f"reg-json-{unique}"
    orders = [{"id": f"j-{i}", "amount": i} for i in range(5)]
    wire = serialized(JSONSerializer(json.dumps(ORDER_JSON), registry), topic, orders)
    assert wire[0][0] == 0
    deserialize = JSONDeserializer(None, schema_registry_client=registry)
    assert _roundtrip(kafka_admin, kafka_bootstrap, topic, wire, deserialize) == orders


def test_the_registry_enforces_compatibility_per_subject(registry: SchemaRegistryClient, unique: str) -> None:
    from confluent_kafka.schema_registry import Schema
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    subject = f"reg-compat-{unique}-value"
    registry.register_schema(subject, Schema(json.dumps(ORDER_V1), "AVRO"))
    registry.set_compatibility(subject, "BACKWARD")
    # A new required field without a default cannot read old records: refused with HTTP 409.
    broken = {**ORDER_V1, "fields": [*ORDER_V1["fields"], {"name": "currency", "type": "string"}]}
    with pytest.raises(SchemaRegistryError) as refused:
        registry.register_schema(subject, Schema(json.dumps(broken), "AVRO"))
    assert refused.value.http_status_code == 409
    fine = {**ORDER_V1, "fields": [*ORDER_V1["fields"], {"name": "currency", "type": "string", "default": "EUR"}]}
    registry.register_schema(subject, Schema(json.dumps(fine), "AVRO"))
    assert len(registry.get_versions(subject)) == 2


def test_an_unknown_schema_id_is_a_404_the_serdes_can_name(local_stack: dict[str, str]) -> None:
    url = f"{config.registry_url()}/schemas/ids/987654"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(url, timeout=10)
    body: Any = json.loads(missing.value.read())
    assert missing.value.code == 404 and body["error_code"] in (40403, 404)
