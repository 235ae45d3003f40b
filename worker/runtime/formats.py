"""The decode step: a source value in the schema registry's wire format turned into the JSON the replay checks.

`json` values pass as they are. `avro` and `jsonSchema` values are Confluent-framed (magic byte 0,
a 4-byte big-endian schema id, the body) and decoded with confluent-kafka's own deserializers,
their writer schema fetched by id from the registry once and cached by its client (one client per
worker process). The decoded value is re-encoded as JSON, so validation, dedup, transforms and the
sandbox see exactly what a JSON topic gives them (Avro `bytes` as ISO-8859-1 text, as Avro's JSON
encoding writes them; decimals as strings).

A record that is not in the wire format, names a schema id the registry does not know (HTTP 404),
or whose body does not decode is dead-lettered with reason `format`, `schema-unknown` or `decode`
(`schema` when a JSON Schema value breaks its registered schema). A registry that cannot be reached
is no record's fault: `RetriableFailure`, so the Job backs off and retries (`runtime/retry.py`) and
then fails loudly; nothing is dead-lettered for an outage.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.tasks import SchemaRegistryConnection, ValueFormat


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record the replay dead-letters: its reason (the `er-reason` header) and why, in words. The
    verdict of the decode step here and of validation (`replay/validate.py`)."""

    reason: str
    message: str


FORMAT_REASON, SCHEMA_UNKNOWN_REASON, DECODE_REASON, SCHEMA_REASON = "format", "schema-unknown", "decode", "schema"
"""The dead-letter reasons of the decode step (the other reasons: `replay/validate.py`)."""
MAGIC_BYTE = 0
HEADER_BYTES = 5
REGISTRY_TIMEOUT_SECONDS = 10

Decode = Callable[[bytes | None], "bytes | Rejected | None"]
_clients: dict[tuple[str, str | None], SchemaRegistryClient] = {}


def registry_client(conn: SchemaRegistryConnection) -> SchemaRegistryClient:
    """The worker's one client of a registry (it caches schemas by id for the process's life)."""
    auth = os.environ.get(conn.credentials_env) if conn.credentials_env else None
    if conn.credentials_env and not auth:
        raise PermanentFailure(f"schema registry credentials: env var {conn.credentials_env} is empty")
    client = _clients.get((conn.url, auth))
    if client is None:
        config: dict[str, Any] = {"url": conn.url, "timeout": REGISTRY_TIMEOUT_SECONDS}
        if auth:
            config["basic.auth.user.info"] = auth
        client = _clients[(conn.url, auth)] = SchemaRegistryClient(config)
    return client


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")


SUBJECT_BY_TOPIC = {"subject.name.strategy": topic_subject_name_strategy}
"""The serdes' subject from the topic alone (TopicNameStrategy): the default strategy (associations)
asks the registry per lookup, and the writer's schema, by id, reads the record anyway."""


class RegistryDecoder:
    """Decodes one partition's values (`__call__`): JSON bytes, None for a tombstone, or a dead letter."""

    def __init__(self, fmt: ValueFormat, client: SchemaRegistryClient | None = None, *, topic: str = "") -> None:
        assert fmt.schema_registry is not None  # the contract insists on one for these formats
        self._client = client or registry_client(fmt.schema_registry)
        # The source topic's value context: the JSON Schema serde resolves a subject name from it even
        # when the writer's schema (by id) reads the record; no rule or latest version is asked for.
        self._ctx = SerializationContext(topic, MessageField.VALUE)
        # The client caches a schema per (subject, id): fetched under the subject the deserializer
        # asks with, it is read from the cache there, so each id costs one request, here, where an
        # outage is told from a bad record.
        self._subject = topic_subject_name_strategy(self._ctx, None)
        self._deserialize: Callable[[bytes, SerializationContext], Any]
        if fmt.format == "avro":
            from confluent_kafka.schema_registry.avro import AvroDeserializer

            self._deserialize = AvroDeserializer(self._client, conf=SUBJECT_BY_TOPIC)
        else:
            from confluent_kafka.schema_registry.json_schema import JSONDeserializer

            self._deserialize = JSONDeserializer(None, schema_registry_client=self._client, conf=SUBJECT_BY_TOPIC)
        self._known: set[int] = set()
        self._unknown: set[int] = set()

    def __call__(self, value: bytes | None) -> bytes | Rejected | None:
        if value is None:
            return None
        if len(value) <= HEADER_BYTES or value[0] != MAGIC_BYTE:
            return Rejected(FORMAT_REASON, "not in the schema registry wire format (magic byte 0, schema id, body)")
        schema_id = int.from_bytes(value[1:HEADER_BYTES], "big")
        if schema_id not in self._known:
            unknown = self._fetch(schema_id)
            if unknown is not None:
                return unknown
        try:
            decoded = self._deserialize(value, self._ctx)
            return orjson.dumps(decoded, default=_jsonable)
        except SchemaRegistryError as err:  # a reference resolved while decoding: the registry's fault
            raise registry_failure(err) from err
        except SerializationError as err:
            # JSONDeserializer raises its schema check's jsonschema.ValidationError as the context.
            broke = type(err.__context__).__module__.startswith("jsonschema")
            reason = SCHEMA_REASON if broke else DECODE_REASON
            return Rejected(reason, f"schema id {schema_id}: {err}"[:300])
        except Exception as err:  # noqa: BLE001 - fastavro's EOFError, ValueError, ...: this body's fault
            return Rejected(DECODE_REASON, f"schema id {schema_id}: {type(err).__name__}: {err}"[:300])

    def _fetch(self, schema_id: int) -> Rejected | None:
        """Fetch (and cache) a writer schema; a dead letter for an id the registry does not know."""
        if schema_id in self._unknown:
            return Rejected(SCHEMA_UNKNOWN_REASON, f"schema id {schema_id} is not in the registry")
        try:
            self._client.get_schema(schema_id, self._subject)
        except SchemaRegistryError as err:
            if err.http_status_code == 404:
                self._unknown.add(schema_id)
                return Rejected(SCHEMA_UNKNOWN_REASON, f"schema id {schema_id} is not in the registry")
            raise registry_failure(err) from err
        except Exception as err:  # connection refused, timeout, DNS: an outage, never a record's fault
            raise RetriableFailure(f"schema registry unreachable: {type(err).__name__}: {err}") from err
        self._known.add(schema_id)
        return None


def registry_failure(err: SchemaRegistryError) -> PermanentFailure | RetriableFailure:
    """A registry's error answer that is no record's fault: refused credentials end the Job, anything
    else (5xx, 429) is retried."""
    if err.http_status_code in (401, 403):
        return PermanentFailure(f"schema registry refused the worker: {err}")
    return RetriableFailure(f"schema registry: {err}")


def decoder(fmt: ValueFormat, topic: str) -> Decode | None:
    """The decode step for a format (values of `topic`), or None when values are JSON already."""
    return None if fmt.format == "json" else RegistryDecoder(fmt, topic=topic)


def as_read(decode: Decode | None, value: bytes | None) -> bytes | None:
    """A value as its JSON when it decodes, else its bytes as they are (compared raw; an id in a
    field is then not found): how reconciliation and the gap finder read a sink's values."""
    if decode is None:
        return value
    out = decode(value)
    return value if isinstance(out, Rejected) else out
