"""How each event is checked: `spec.validation` (id field, schema or model, size, event time, poison breaker)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from eventreplay.worker.contract.source_ref import SOURCE_REF_PATTERN

from . import inline_schema
from .base import ApiModel


class PoisonBreaker(ApiModel):
    """Stop a partition early when most of what it reads is invalid (a wrong topic, schema or window)."""

    max_invalid_ratio: float = Field(
        gt=0, le=1, description="Dead-lettered / records read above which the partition stops (e.g. 0.5)."
    )
    min_records: int = Field(
        default=100, ge=1, le=10_000_000, description="Records a partition reads before the ratio is judged."
    )


class Validation(ApiModel):
    """How each event is checked; an event failing any check goes to the dead-letter topic with a reason."""

    event_id_field: str = Field(
        default="event_id",
        min_length=1,
        max_length=253,
        pattern=SOURCE_REF_PATTERN,
        description="Where the event id is: a field of the (decoded) value, `a.b.c` for a nested one; `key` "
        "for the record key; `header:<name>` for a header (UTF-8).",
    )
    json_schema: dict[str, Any] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
        description="Inline JSON Schema every event must satisfy: at most "
        f"{inline_schema.MAX_INLINE_SCHEMA_BYTES // 1024} KiB serialized; references only inside it (`#/...`), "
        "nothing is fetched.",
    )
    model: str | None = Field(
        default=None,
        max_length=253,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="`module:Class` of a pydantic model or msgspec Struct the worker image registers (entry point "
        "group `eventreplay.models`); any other name fails the partition permanently, unimported.",
    )
    max_event_bytes: int = Field(
        default=1_048_576, gt=0, le=16 * 1_048_576, description="Events larger than this are dead-lettered."
    )
    timestamp_field: str | None = Field(
        default=None,
        max_length=253,
        pattern=SOURCE_REF_PATTERN,
        description="Event time (RFC 3339 or epoch ms) from a field path, `key` or `header:<name>` (as for "
        "eventIdField); default: the Kafka record timestamp.",
    )
    max_future_skew_seconds: int | None = Field(
        default=None, ge=0, description="Events later than the plan's as-of time plus this skew are invalid."
    )
    poison_breaker: PoisonBreaker | None = Field(
        default=None,
        description="Stop a partition (Stalled, reason PoisonRatioExceeded) once its dead-letter ratio "
        "exceeds maxInvalidRatio after minRecords; default: replay to the end whatever is invalid.",
    )

    @field_validator("json_schema")
    @classmethod
    def _bounded_and_local(cls, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if schema is None else inline_schema.check(schema)
