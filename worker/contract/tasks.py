"""The task a replay worker is given (one partition's frozen range and how to replay it), and the
parts every Job's task shares (`ReplayIdentity`, `KafkaConnection`, `RedisConnection`,
`OffsetRange`).

Built by the operator's Jobs, `eventreplay run` and tests; read by `python -m eventreplay.worker`.
JSON uses camelCase (as the CRD does); Python uses snake_case. Secrets never appear in a task: it
names the environment variables that carry them (filled from Secrets by the Job's secretKeyRef).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from . import names
from .defaults import DEFAULT_TTL_SECONDS
from .model import Contract
from .sink_record import SinkRecord
from .source_ref import SOURCE_REF_PATTERN


class ReplayIdentity(Contract):
    namespace: str = Field(
        pattern=names.TENANT_LABEL, description="The replay's namespace: the tenant every Redis key carries."
    )
    name: str
    uid: str = Field(min_length=1, description="The EventReplay's metadata.uid: scopes ledgers and fencing.")
    project: str | None = Field(
        default=None,
        pattern=names.TENANT_LABEL,
        description="The policy project that granted the replay (absent: no policy project), for the "
        "record: the sink's promotion ledger is the sink's, whoever promotes (`sink_keys.sink_ledger_key`).",
    )
    key_layout: Literal[1, 2] = Field(
        default=names.KEY_LAYOUT,
        description="The Redis key layout the replay was planned in (its status.plan.keyLayout): 1 for a "
        "replay planned before the upgrade to namespaced keys, whose keys lack the namespace "
        "(`names.LEGACY_KEY_LAYOUT`).",
    )

    @model_serializer(mode="wrap")
    def _omit_todays_layout(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Only a legacy replay's tasks name their layout: today's read as before by any worker.
        out: dict[str, Any] = handler(self)
        if out.get("keyLayout", out.get("key_layout")) == names.KEY_LAYOUT:
            out.pop("keyLayout", None)
            out.pop("key_layout", None)
        return out

    @property
    def key_tenant(self) -> names.Tenant:
        """The tenant argument of the replay's Redis key builders (`names.key_tenant`)."""
        return names.key_tenant(self.namespace, self.key_layout)


class KafkaConnection(Contract):
    bootstrap_servers: str = Field(min_length=1)
    settings_env: str | None = Field(
        default=None,
        description="Name of an environment variable holding librdkafka settings as `key=value` lines "
        "(security.protocol, sasl.*, ssl.*), filled from a Secret; never inline.",
    )
    settings: dict[str, str] | None = Field(
        default=None,
        description="The platform's non-secret librdkafka settings for this cluster (security.protocol, "
        "sasl.mechanism, ssl.endpoint.identification.algorithm), from the replay policy; the Secret's "
        "settings may not override them.",
    )
    ca_env: str | None = Field(
        default=None, description="Env var holding the cluster's CA bundle (PEM, `ssl.ca.pem`), filled from a Secret."
    )
    tenant_settings: list[str] | None = Field(
        default=None,
        description="The librdkafka keys (shell globs) the replay policy lets the Secret in `settings_env` set; "
        "any other key fails the Job before it connects. Absent: any key (a permissive install).",
    )


class RedisConnection(Contract):
    """Where a Job's Redis is; the user and password only by the names of their env vars."""

    redis_url: str = Field(min_length=1, description="redis://host:port/db (no password in it).")
    password_env: str | None = Field(default=None, description="Env var holding the Redis password.")
    username_env: str | None = Field(
        default=None, description="Env var holding the Redis ACL user (the project's, from the policy)."
    )


class OffsetRange(Contract):
    partition: int = Field(ge=0)
    start_offset: int = Field(ge=0, description="First offset (inclusive).")
    end_offset: int = Field(ge=0, description="End offset (exclusive).")

    @model_validator(mode="after")
    def _ordered(self) -> OffsetRange:
        if self.end_offset < self.start_offset:
            raise ValueError(f"endOffset {self.end_offset} is before startOffset {self.start_offset}")
        return self


DeadLetterKind = Literal["eventReplay", "connect"]
"""A redrive's source is a dead-letter topic: an EventReplay's (`er-source-*` headers) or Kafka
Connect's (`__connect.errors.*` headers, `errors.deadletterqueue.context.headers.enable=true`). Each
record's origin is read from its headers and carried on (`er-origin-*`); a record without one is
dead-lettered (`origin`)."""


class SourceRange(OffsetRange):
    """The source partition's frozen [start, end) range."""

    topic: str = Field(min_length=1)
    dead_letters: DeadLetterKind | None = Field(default=None, description="A redrive: see `DeadLetterKind`.")


class PoisonBreaker(Contract):
    """Stop a partition once this share of what it read went to the dead-letter topic."""

    max_invalid_ratio: float = Field(gt=0, le=1)
    min_records: int = Field(default=100, ge=1, description="Records read before the ratio is judged.")


class SchemaFile(Contract):
    """Where the replay's JSON Schema is mounted, and the digest its bytes must have (`schema_file.py`)."""

    path: str = Field(min_length=1, description="Absolute path of the schema file (a read-only mount).")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex sha256 of the file's bytes.")


Format = Literal["json", "avro", "jsonSchema"]
REGISTRY_FORMATS: tuple[Format, ...] = ("avro", "jsonSchema")
"""The formats read through a schema registry (magic byte 0, 4-byte schema id, body)."""


class SchemaRegistryConnection(Contract):
    """A Confluent-API schema registry; its credentials only by the name of their env var."""

    url: str = Field(pattern=r"^https?://\S+$", description="Base URL (Apicurio: ending `/apis/ccompat/v6`).")
    credentials_env: str | None = Field(
        default=None, description="Env var holding `user:password` for HTTP basic auth, filled from a Secret."
    )


class ValueFormat(Contract):
    """How a topic's values are encoded (`runtime/formats.py`): a source's are decoded to JSON before
    validation; a sink's are what the replay encodes its output in, under the sink topic's subject."""

    format: Format = "json"
    schema_registry: SchemaRegistryConnection | None = None

    @model_validator(mode="after")
    def _registry_when_needed(self) -> ValueFormat:
        if (self.format in REGISTRY_FORMATS) != (self.schema_registry is not None):
            raise ValueError(f"format {self.format}: a schemaRegistry goes with avro and jsonSchema, and only them")
        return self


def topic_subject(topic: str) -> str:
    """The subject of a topic's values under TopicNameStrategy, the serdes' default."""
    return f"{topic}-value"


class SinkSubject(Contract):
    """The registry subject a replay encodes its output under, and the schema it may register there."""

    name: str = Field(min_length=1, description="The subject (`<topic>-value` unless the replay names another).")
    schema_text: str | None = Field(
        default=None,
        description="Encode with this schema, registered under the subject first when the registry does not "
        "hold it (the policy let the project register); None: the subject's latest version, never registered.",
    )


class Validation(Contract):
    event_id_field: str = Field(
        default="event_id",
        min_length=1,
        pattern=SOURCE_REF_PATTERN,
        description="Where the id is: `key`, `header:<name>` or a field path (`source_ref.py`).",
    )
    json_schema: dict[str, Any] | None = Field(
        default=None, description="Inline JSON Schema for the event (`eventreplay run`; Jobs use `jsonSchemaFile`)."
    )
    json_schema_file: SchemaFile | None = Field(
        default=None, description="The JSON Schema as a mounted file, verified by its digest before use."
    )
    model: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="`module:Class` of a pydantic model or msgspec Struct registered in the image "
        "(entry point group `eventreplay.models`).",
    )
    max_event_bytes: int = Field(default=1_048_576, gt=0)
    timestamp_field: str | None = Field(
        default=None,
        pattern=SOURCE_REF_PATTERN,
        description="Event time (RFC 3339 or epoch ms) from `key`, `header:<name>` or a field path; "
        "default: the Kafka record time.",
    )
    max_future_skew_seconds: float | None = Field(
        default=None, ge=0, description="Events later than asOf plus this skew are invalid."
    )
    poison_breaker: PoisonBreaker | None = None

    @model_validator(mode="after")
    def _one_schema(self) -> Validation:
        if self.json_schema is not None and self.json_schema_file is not None:
            raise ValueError("jsonSchema and jsonSchemaFile are exclusive")
        return self


class Dedup(RedisConnection):
    ledger: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    mode: Literal["skipProcessed", "withinReplay"] = "withinReplay"
    ttl_seconds: int = Field(default=DEFAULT_TTL_SECONDS, gt=0)
    hash_content: bool = Field(
        default=True, description="Store a content hash so a repeated id with other content is a conflict."
    )


class Transform(Contract):
    function: str = Field(
        default="identity",
        description="`identity`, `project`, or a `module:function` registered in the image (entry point group "
        "`eventreplay.transforms`; deterministic: dict -> dict).",
    )
    fields: list[str] | None = Field(default=None, description="For `project`: the fields to keep.")

    @model_validator(mode="after")
    def _known(self) -> Transform:
        if self.function == "project" and not self.fields:
            raise ValueError("transform `project` needs `fields`")
        if self.function not in ("identity", "project") and ":" not in self.function:
            raise ValueError(f"transform {self.function!r} is neither a built-in nor `module:function`")
        return self


class Output(Contract):
    sandbox_topic: str = Field(min_length=1)
    dead_letter_topic: str = Field(min_length=1)


class Tuning(Contract):
    batch_size: int = Field(default=1000, gt=0, le=100_000)
    transaction_max_records: int = Field(default=50_000, gt=0)
    transaction_max_seconds: float = Field(default=2.0, gt=0)
    stall_timeout_seconds: float = Field(
        default=300.0, gt=0, description="Give up (retriably) when no offset advances for this long."
    )
    retry_budget_seconds: float = Field(
        default=180.0,
        ge=0,
        description="How long transient Kafka/Redis failures are retried in-process (backoff) before exiting.",
    )


class Task(Contract):
    """Everything one worker needs to replay one partition exactly once ($EVENTREPLAY_TASK)."""

    version: Literal[1] = 1
    replay: ReplayIdentity
    kafka: KafkaConnection
    source: SourceRange
    source_format: ValueFormat = ValueFormat()
    as_of: datetime = Field(description="When the plan was frozen; invariants compare against it, not now().")
    validation: Validation = Validation()
    dedup: Dedup
    transform: Transform = Transform()
    output: Output
    sink: SinkRecord = Field(
        default=SinkRecord(), description="The sink record's shape, carried on each sandbox record (`sink_record.py`)."
    )
    sink_format: ValueFormat = Field(
        default=ValueFormat(),
        description="How the sandbox (and so the sink) values are encoded: each output is encoded under "
        "`sink_subject`; a value its schema does not accept is dead-lettered.",
    )
    sink_subject: SinkSubject | None = Field(default=None, description="With a registry `sink_format` only.")
    tuning: Tuning = Tuning()

    @model_validator(mode="after")
    def _subject_when_encoded(self) -> Task:
        if (self.sink_format.format != "json") != (self.sink_subject is not None):
            raise ValueError("sinkSubject goes with a registry sinkFormat, and only with one")
        return self

    @property
    def transactional_id(self) -> str:
        return names.replay_transactional_id(self.replay.uid, self.source.topic, self.source.partition)

    @property
    def group_id(self) -> str:
        return names.replay_group_id(self.replay.uid)
