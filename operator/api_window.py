"""The EventReplay spec, part one: where events come from (source) and which of them (window).

Every field has a description (it is what `kubectl explain` shows). CEL rules live next to the
model they guard (`x-kubernetes-validations` in `json_schema_extra`); the pydantic validators
below mirror the ones the operator relies on, so a body admitted under an older CRD still
cannot plan nonsense.
Secret references carry a name and a key, never a namespace: they resolve in the replay's namespace.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

TOPIC_RE = r"^[a-zA-Z0-9._-]{1,249}$"
PARTITION_RE = r"^[0-9]+(-[0-9]+)?$"
RFC3339_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
MAX_PARTITIONS = 1000


def rule(cel: str, message: str, **extra: str) -> dict[str, str]:
    """One `x-kubernetes-validations` entry."""
    return {"rule": cel, "message": message, **extra}


def cel(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields refused (the API server prunes them)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class SecretKeyRef(ApiModel):
    """A key of a Secret in the EventReplay's own namespace (there is deliberately no namespace field)."""

    name: str = Field(min_length=1, max_length=253, description="Name of the Secret, in the EventReplay's namespace.")
    key: str = Field(min_length=1, max_length=253, description="Key inside the Secret.")


class KafkaCredentialsRef(SecretKeyRef):
    """A Secret key holding librdkafka settings (security.protocol, sasl.*, ssl.*) as key=value lines."""

    key: str = Field(
        default="client.properties",
        min_length=1,
        max_length=253,
        description="Key inside the Secret whose value is librdkafka `key=value` lines (a PEM value such "
        "as `ssl.ca.pem` may span lines, from `-----BEGIN` to `-----END`).",
    )


class RedisPasswordRef(SecretKeyRef):
    """A Secret key holding the Redis password."""

    key: str = Field(default="password", min_length=1, max_length=253, description="Key inside the Secret.")


class Source(ApiModel):
    """Where the events are read from."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "!has(self.partitions) || self.partitions.all(p, !p.contains('-') || "
                "int(p.split('-')[0]) <= int(p.split('-')[1]))",
                "source.partitions: a range N-M needs N <= M",
            )
        )
    )

    bootstrap_servers: str = Field(
        min_length=1, max_length=2048, description="Kafka bootstrap servers, `host:port[,host:port...]`."
    )
    credentials_secret_ref: KafkaCredentialsRef | None = Field(
        default=None,
        description="Secret with librdkafka client settings (SASL/TLS) for the workers; "
        "same namespace. Omit for a plaintext cluster.",
    )
    topic: str = Field(pattern=TOPIC_RE, max_length=249, description="Source topic (letters, digits, '.', '_', '-').")
    partitions: list[Annotated[str, Field(pattern=PARTITION_RE, max_length=16)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_PARTITIONS,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description="Partitions to replay, each `N` or an inclusive range `N-M`; default: all partitions.",
    )

    @field_validator("partitions")
    @classmethod
    def _ranges(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if not re.match(PARTITION_RE, item):
                raise ValueError(f"partition {item!r} is neither N nor N-M")
            low, _, high = item.partition("-")
            if high and int(low) > int(high):
                raise ValueError(f"partition range {item!r} needs N <= M")
        return value

    def selected(self, count: int) -> list[int] | None:
        """The selected partition numbers (sorted), or None for all `count` partitions."""
        if not self.partitions:
            return None
        chosen: set[int] = set()
        for item in self.partitions:
            low, _, high = item.partition("-")
            chosen.update(range(int(low), int(high or low) + 1))
        return sorted(chosen)


class PartitionOffsets(ApiModel):
    """An offset range for one partition."""

    model_config = ConfigDict(
        json_schema_extra=cel(rule("self.to > self.from", "window.offsets.perPartition: to must be greater than from"))
    )

    partition: int = Field(ge=0, le=1_000_000, description="Partition number.")
    from_: int = Field(alias="from", ge=0, description="First offset to replay (inclusive).")
    to: int = Field(ge=0, description="Offset to stop at (exclusive).")


class OffsetWindow(ApiModel):
    """A window by offsets: the same `[from, to)` for every selected partition, or one range per partition."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "has(self.from) == has(self.to)",
                "window.offsets: give both from and to",
            ),
            rule(
                "has(self.from) != has(self.perPartition)",
                "window.offsets: give either from/to for all partitions or perPartition, not both",
            ),
            rule(
                "!has(self.from) || !has(self.to) || self.to > self.from",
                "window.offsets: to must be greater than from (the window is [from, to))",
            ),
        )
    )

    from_: int | None = Field(
        default=None, alias="from", ge=0, description="First offset (inclusive), for every partition."
    )
    to: int | None = Field(default=None, ge=0, description="Offset to stop at (exclusive), for every partition.")
    per_partition: list[PartitionOffsets] | None = Field(
        default=None,
        max_length=MAX_PARTITIONS,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["partition"]},
        description="One range per partition (instead of from/to); only these partitions are replayed.",
    )

    @model_validator(mode="after")
    def _shape(self) -> OffsetWindow:
        if (self.from_ is None) != (self.to is None):
            raise ValueError("window.offsets: give both from and to")
        if (self.from_ is None) == (self.per_partition is None):
            raise ValueError("window.offsets: give either from/to or perPartition")
        if self.from_ is not None and self.to is not None and self.to <= self.from_:
            raise ValueError("window.offsets: to must be greater than from")
        for item in self.per_partition or []:
            if item.to <= item.from_:
                raise ValueError(f"window.offsets.perPartition[{item.partition}]: to must be greater than from")
        return self


def _rfc3339(value: str) -> str:
    if not re.match(RFC3339_RE, value):
        raise ValueError(f"{value!r} is not RFC 3339 with an explicit zone (e.g. 2026-11-20T10:00:00Z)")
    return value


def parse_time(value: str) -> datetime:
    """An RFC 3339 string (validated) as an aware datetime."""
    return datetime.fromisoformat(_rfc3339(value).replace("z", "Z").replace("t", "T"))


_TS_RULES = (
    rule(f"self.matches(r'{RFC3339_RE}')", "must be RFC 3339 with an explicit zone, e.g. 2026-11-20T10:00:00Z"),
)


class TimestampWindow(ApiModel):
    """A window by record timestamps, `[from, to)`, resolved per partition with offsets_for_times."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                f"!self.from.matches(r'{RFC3339_RE}') || !self.to.matches(r'{RFC3339_RE}') || "
                "timestamp(self.to) > timestamp(self.from)",
                "window.timestamps: to must be after from",
            )
        )
    )

    from_: str = Field(
        alias="from",
        max_length=64,
        json_schema_extra=cel(*_TS_RULES),
        description="Start time (inclusive), RFC 3339 with an explicit zone.",
    )
    to: str = Field(
        max_length=64,
        json_schema_extra=cel(*_TS_RULES),
        description="End time (exclusive), RFC 3339 with an explicit zone; past the last record: the end.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> TimestampWindow:
        if parse_time(self.to) <= parse_time(self.from_):
            raise ValueError("window.timestamps: to must be after from")
        return self


class RelativeWindow(ApiModel):
    """A window relative to the plan's as-of time: `[asOf - fromSecondsAgo, asOf - toSecondsAgo)`."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "self.fromSecondsAgo > self.toSecondsAgo",
                "window.relative: fromSecondsAgo must be greater than toSecondsAgo (from lies further back)",
            )
        )
    )

    from_seconds_ago: int = Field(
        gt=0, le=10 * 365 * 86400, description="Window start, in seconds before the plan's as-of time."
    )
    to_seconds_ago: int = Field(
        default=0, ge=0, le=10 * 365 * 86400, description="Window end, in seconds before the as-of time."
    )

    @model_validator(mode="after")
    def _ordered(self) -> RelativeWindow:
        if self.from_seconds_ago <= self.to_seconds_ago:
            raise ValueError("window.relative: fromSecondsAgo must be greater than toSecondsAgo")
        return self


class Window(ApiModel):
    """What to replay: one of offsets, timestamps or relative; resolved once, frozen in status.plan."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "[has(self.offsets), has(self.timestamps), has(self.relative)].filter(x, x).size() == 1",
                "window: set exactly one of offsets, timestamps or relative",
            )
        )
    )

    offsets: OffsetWindow | None = Field(default=None, description="Window by offsets.")
    timestamps: TimestampWindow | None = Field(default=None, description="Window by record timestamps.")
    relative: RelativeWindow | None = Field(default=None, description="Window relative to the plan time.")

    @model_validator(mode="after")
    def _one(self) -> Window:
        if sum(x is not None for x in (self.offsets, self.timestamps, self.relative)) != 1:
            raise ValueError("window: set exactly one of offsets, timestamps or relative")
        return self
