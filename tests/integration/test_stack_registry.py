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
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from devstack import config
from support.kafka_tools import create_topic

ORDER_V1 = {
    "type": "record",
    "name": "Order",
    "namespace": "eventreplay.test",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "amount", "type": "long"},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}
ORDER_JSON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Order",
    "type": "object",
    "properties": {"id": {"type": "string"}, "amount": {"type": "integer"}},
    "required": ["id", "amount"],
}


@pytest.fixture(scope="module")
def registry(local_stack: dict[str, str]) -> SchemaRegistryClient:
    assert local_stack["EVENTREPLAY_SCHEMA_REGISTRY_URL"] == config.registry_url()
    return SchemaRegistryClient({"url": config.registry_url()})


def _roundtrip(bootstrap: str, topic: str, values: list[bytes]) -> list[bytes]:
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic, value)
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got: list[bytes] = []
    try:
        while len(got) < len(values):
            msg = consumer.poll(10)
            assert msg is not None, f"only {len(got)} of {len(values)} records came back"
            assert msg.error() is None, msg.error()
            got.append(msg.value())
    finally:
        consumer.close()
    return got


def test_avro_records_round_trip_through_the_registry_and_kafka(
    registry: SchemaRegistryClient, kafka_bootstrap: str, kafka_admin: Any, unique: str
) -> None:
    topic = f"reg-avro-{unique}"
    create_topic(kafka_admin, topic, 1)
    ctx = SerializationContext(topic, MessageField.VALUE)
    serialize = AvroSerializer(registry, json.dumps(ORDER_V1))
    orders = [{"id": f"o-{i}", "amount": i * 10, "note": None if i % 2 else "gift"} for i in range(20)]
    wire = [serialize(order, ctx) for order in orders]
    schema_id = struct.unpack(">bI", wire[0][:5])[1]
    assert all(w[:5] == b"\0" + struct.pack(">I", schema_id) for w in wire), "Confluent wire format"
    assert registry.get_latest_version(f"{topic}-value").schema_id == schema_id  # TopicNameStrategy
    deserialize = AvroDeserializer(registry)  # the writer's schema fetched by id
    assert [deserialize(v, ctx) for v in _roundtrip(kafka_bootstrap, topic, wire)] == orders


def test_json_schema_records_round_trip_through_the_registry(
    registry: SchemaRegistryClient, kafka_bootstrap: str, kafka_admin: Any, unique: str
) -> None:
    topic = f"reg-json-{unique}"
    create_topic(kafka_admin, topic, 1)
    ctx = SerializationContext(topic, MessageField.VALUE)
    serialize = JSONSerializer(json.dumps(ORDER_JSON), registry)
    orders = [{"id": f"j-{i}", "amount": i} for i in range(5)]
    wire = [serialize(order, ctx) for order in orders]
    assert wire[0][0] == 0
    deserialize = JSONDeserializer(None, schema_registry_client=registry)
    assert [deserialize(v, ctx) for v in _roundtrip(kafka_bootstrap, topic, wire)] == orders


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
