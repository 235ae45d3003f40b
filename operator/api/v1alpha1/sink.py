"""`spec.sink`: the real topic promotion writes, and the shape of its records (key, headers, timestamp,
the format its values are encoded in).

The shape's grammar and defaults are the worker contract's (`worker/contract/sink_record.py`):
the operator resolves them into the replay task.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from eventreplay.worker.contract.sink_record import (
    ALLOW_OR_DENY,
    EVENT_ID,
    HEADER_NAME_PATTERN,
    SINK_KEY_PATTERN,
    SINK_KEY_RULE,
    HeaderFilter,
    SinkRecord,
    resolve,
)
from eventreplay.worker.contract.tasks import topic_subject

from .base import TOPIC_RE, ApiModel, cel, rule
from .source_format import EncodedValues, format_rule, unstored

HeaderName = Annotated[str, Field(pattern=HEADER_NAME_PATTERN, max_length=249)]

SUBJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
SUBJECT_NEEDS_REGISTRY = "sink.subject and sink.schema go with a registry format (sink.schemaRegistry)"
MAX_SINK_SCHEMA_BYTES = 65_536

SHAPE_NOT_AGGREGATE = (
    "sink.key, sink.headers, sink.timestamp and sink.format shape a replayed source record: an aggregate "
    "replay writes window results (JSON), which have no source record"
)
SHAPE_NOT_AGGREGATE_RULE = rule(
    "!has(self.spec.transform) || !has(self.spec.transform.aggregate) || "
    "((!has(self.spec.sink.key) || self.spec.sink.key == 'eventId') && !has(self.spec.sink.headers) "
    "&& !has(self.spec.sink.timestamp) && (!has(self.spec.sink.format) || self.spec.sink.format == 'json'))",
    SHAPE_NOT_AGGREGATE,
    fieldPath=".spec.sink",
)
"""A root rule (it reads spec.transform); `EventReplaySpec` applies its Python twin."""

RECORD_NEEDS_USER_TRANSFORM = (
    "sink.key transform: the record comes from a registered transform (`transform.function: module:function`)"
)
RECORD_NEEDS_USER_TRANSFORM_RULE = rule(
    "!has(self.spec.sink.key) || self.spec.sink.key != 'transform' || "
    # Not identity or project: module:function (the field's own rule). Equality, not contains(): the
    # API server's cost estimate for a string function in a root rule exceeds its budget.
    "(has(self.spec.transform) && has(self.spec.transform.function) && "
    "self.spec.transform.function != 'identity' && self.spec.transform.function != 'project')",
    RECORD_NEEDS_USER_TRANSFORM,
    fieldPath=".spec.sink.key",
)
"""A root rule (it reads spec.transform); `EventReplaySpec` applies its Python twin."""


class SinkHeaders(ApiModel):
    """Which of the source record's headers the sink record keeps; the replay's `er-*` headers are
    always added and never copied from the source."""

    model_config = ConfigDict(json_schema_extra=cel(rule("has(self.allow) != has(self.deny)", ALLOW_OR_DENY)))

    allow: list[HeaderName] | None = Field(
        default=None,
        max_length=100,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description="Keep only the source headers of these names.",
    )
    deny: list[HeaderName] | None = Field(
        default=None,
        max_length=100,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description="Keep every source header but these (`deny: []` keeps them all).",
    )

    @model_validator(mode="after")
    def _one(self) -> SinkHeaders:
        if (self.allow is None) == (self.deny is None):
            raise ValueError(ALLOW_OR_DENY)
        return self


class Sink(EncodedValues):
    """The real destination. Replays write to a derived sandbox topic first; only promotion writes here."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            format_rule("sink"),
            rule("(!has(self.subject) && !has(self.schema)) || has(self.schemaRegistry)", SUBJECT_NEEDS_REGISTRY),
        )
    )
    side = "sink"

    topic: str = Field(
        pattern=TOPIC_RE,
        max_length=249,
        description="Destination topic for promotion; the sandbox (`eventreplay.<namespace>.<name>.sandbox`) "
        "and dead-letter (`....dlq`) topics are derived from the replay and shown in status.plan. A promoted "
        "record is the transformed value with the key, headers and timestamp below, plus the replay's headers "
        "(`er-source-topic`, `er-source-partition`, `er-source-offset`, `er-promoted-by`, `er-report-hash`, "
        "`er-replay-uid`). Dead letters keep the source key and value.",
    )
    key: str = unstored(
        EVENT_ID,
        f"The promoted record's key: {SINK_KEY_RULE}. `eventId` (the default) keys it by its event "
        "id; `sourceKey` keeps the source record's key bytes (a null key stays null); `field:<path>` reads a "
        "field of the transformed value (a string as UTF-8, another JSON value as its JSON text; absent: a "
        "null key); `transform`: the transform (a registered `module:function`) returns a `Record` of value, "
        "key and headers to add. Promotion partitions by the key as Kafka's Java clients do (murmur2), so a "
        "correction lands where production's records of that key are.",
        pattern=SINK_KEY_PATTERN,
        max_length=512,
    )
    headers: SinkHeaders | None = Field(
        default=None,
        description="Source headers the promoted record keeps (`allow` or `deny` a list of names). Default: "
        "all of them with a `sourceKey`, `field:` or `transform` key, none with `eventId`.",
    )
    timestamp: Literal["source", "replay"] | None = Field(
        default=None,
        description="The promoted record's timestamp: `source` (the source record's) or `replay` (stamped when "
        "promoted). Default: `source` with a `sourceKey`, `field:` or `transform` key, `replay` with `eventId`.",
    )

    subject: str | None = Field(
        default=None,
        pattern=SUBJECT_PATTERN,
        max_length=255,
        description="The registry subject values are encoded under (with `avro` or `jsonSchema`): default "
        "`<topic>-value` (TopicNameStrategy); name another for RecordNameStrategy (`com.acme.Order`) or "
        "TopicRecordNameStrategy (`<topic>-com.acme.Order`).",
    )
    schema_: str | None = Field(
        default=None,
        alias="schema",
        max_length=MAX_SINK_SCHEMA_BYTES,
        description="Encode with this schema (Avro or JSON Schema text), registering it under the subject when "
        "the registry does not hold it: only when the replay policy lets the project register "
        "(`registerSchemas`). Absent: the subject's latest version, which must exist (nothing is registered).",
    )

    @model_validator(mode="after")
    def _subject_with_registry(self) -> Sink:
        if (self.subject is not None or self.schema_ is not None) and self.schema_registry is None:
            raise ValueError(SUBJECT_NEEDS_REGISTRY)
        return self

    def subject_name(self) -> str:
        """The subject the values are encoded under."""
        return self.subject or topic_subject(self.topic)

    def record(self) -> SinkRecord:
        """The shape the replay task carries, defaults applied."""
        headers = self.headers
        kept = None if headers is None else HeaderFilter(allow=headers.allow, deny=headers.deny)
        return resolve(self.key, kept, self.timestamp)

    @property
    def shaped(self) -> bool:
        """Whether any of key, headers, timestamp, a registry format is set (refused for aggregate replays)."""
        return self.key != EVENT_ID or self.headers is not None or self.timestamp is not None or self.encoded

    @property
    def encoded(self) -> bool:
        """Whether values are encoded in a registry format (not the JSON output as it is)."""
        return self.format != "json"
