"""The stack's schema registry as the tests write through it: the `Order` schemas, and values in
Confluent's wire format (magic byte, 4-byte schema id, body) from confluent-kafka's own serializers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka.serialization import MessageField, SerializationContext

from datagen.orders import avro_record

Serializer = Callable[[Any, SerializationContext], bytes | None]


def avro_order(*fields: dict[str, Any]) -> dict[str, Any]:
    """The Avro `Order` record: an id, an amount, `fields`, then an optional note."""
    note = {"name": "note", "type": ["null", "string"], "default": None}
    head = [{"name": "id", "type": "string"}, {"name": "amount", "type": "long"}]
    return avro_record("Order", [*head, *fields, note], "eventreplay.test")


def json_order(**properties: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of an `Order`: an id, an amount and `properties`, every one required."""
    every = {"id": {"type": "string"}, "amount": {"type": "integer"}, **properties}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Order",
        "type": "object",
        "properties": every,
        "required": list(every),
    }


def value_context(topic: str) -> SerializationContext:
    """Record values of `topic`: the serdes register and look up subject `<topic>-value` (TopicNameStrategy)."""
    return SerializationContext(topic, MessageField.VALUE)


def serialized(serialize: Serializer, topic: str, values: list[Any]) -> list[bytes]:
    """`values` as a producer of `topic` writes them with `serialize` (registering its schema)."""
    ctx, out = value_context(topic), []
    for value in values:
        wire = serialize(value, ctx)
        assert wire is not None, f"nothing serialized for {value!r}"
        out.append(wire)
    return out
