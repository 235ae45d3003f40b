"""The encode step: a replay's JSON output in the sink's registry format (`spec.sink.format`).

Each output is encoded when replayed, so the sandbox holds exactly the bytes promotion copies and
an output the sink's schema does not accept is a dead letter (`sink-schema`) before any report,
never a failed promotion. The subject is the sink topic's (`<topic>-value`, TopicNameStrategy) or
the one the replay names (RecordNameStrategy and its kin). Its schema is, by default, the subject's
latest version, fetched once per worker at the first record; a replay registers nothing unless the
policy lets its project register and the replay gives the schema (`spec.sink.schema`), which is
then registered under the subject (or found there) and used as it is.

A registry that cannot be reached, or answers 5xx, is retried like the decode step's; a subject
without a schema, a schema the subject refuses (incompatible: HTTP 409; invalid: 422) or refused
credentials end the Job permanently, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.tasks import SinkSubject, ValueFormat
from .formats import Rejected, registry_client, registry_failure

SINK_SCHEMA_REASON = "sink-schema"
"""The dead-letter reason of the encode step: the sink subject's schema does not accept the output."""
SCHEMA_TYPES = {"avro": "AVRO", "jsonSchema": "JSON"}
REFUSED_SCHEMA = (409, 422)  # incompatible with the subject's versions; not a valid schema

Encode = Callable[[bytes], "bytes | Rejected"]
Serialize = Callable[[Any, SerializationContext], "bytes | None"]


class RegistryEncoder:
    """Encodes a replay's JSON output (`__call__`) under the sink subject."""

    def __init__(self, fmt: ValueFormat, subject: SinkSubject, client: SchemaRegistryClient | None = None) -> None:
        assert fmt.schema_registry is not None  # the contract insists on one for these formats
        self._client = client or registry_client(fmt.schema_registry)
        self.subject, self._schema, self._format = subject.name, subject.schema_text, fmt.format
        self._ctx = SerializationContext(subject.name, MessageField.VALUE)
        self._serialize: Serialize | None = None
        self.schema_id = 0

    def _start(self) -> Serialize:
        try:
            if self._schema is None:
                self.schema_id = self._client.get_latest_version(self.subject).schema_id or 0
            else:
                self.schema_id = self._client.register_schema(
                    self.subject, Schema(self._schema, SCHEMA_TYPES[self._format])
                )
        except SchemaRegistryError as err:
            raise self._refusal(err) from err
        except Exception as err:  # connection refused, timeout, DNS: an outage, never a record's fault
            raise RetriableFailure(f"schema registry unreachable: {type(err).__name__}: {err}") from err
        subject = self.subject
        conf: dict[str, Any] = {"subject.name.strategy": lambda _ctx, _record: subject}
        # The schema given was registered above: the serializer finds its id by lookup (cached).
        conf |= {"auto.register.schemas": False, "use.latest.version": self._schema is None}
        if self._format == "avro":
            from confluent_kafka.schema_registry.avro import AvroSerializer

            return AvroSerializer(self._client, self._schema, conf=conf)  # type: ignore[no-any-return]
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        return JSONSerializer(self._schema, self._client, conf=conf)  # type: ignore[no-any-return]

    def _refusal(self, err: SchemaRegistryError) -> PermanentFailure | RetriableFailure:
        if self._schema is None and err.http_status_code == 404:
            return PermanentFailure(
                f"sink subject {self.subject} holds no schema: register the sink's schema first (or give "
                "spec.sink.schema, if the policy lets the project register)"
            )
        if self._schema is not None and err.http_status_code in REFUSED_SCHEMA:
            return PermanentFailure(f"sink subject {self.subject} refuses spec.sink.schema: {err}")
        return registry_failure(err)

    def __call__(self, value: bytes) -> bytes | Rejected:
        serialize = self._serialize or self._start()
        self._serialize = serialize
        try:
            coded = serialize(orjson.loads(value), self._ctx)
        except SchemaRegistryError as err:
            raise registry_failure(err) from err
        except Exception as err:  # noqa: BLE001 - fastavro's TypeError/ValueError, jsonschema's: this output's fault
            why = f"{type(err.__context__ or err).__name__}: {err}"
            return Rejected(SINK_SCHEMA_REASON, f"subject {self.subject} (schema id {self.schema_id}): {why}"[:300])
        assert coded is not None  # a value, never None, was serialized
        return coded


def encoder(fmt: ValueFormat, subject: SinkSubject | None) -> Encode | None:
    """The encode step for a sink's format, or None when the sink takes the JSON output as it is."""
    if subject is None:
        return None
    return RegistryEncoder(fmt, subject)
