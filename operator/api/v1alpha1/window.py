"""Which events: `spec.window` (offsets, record timestamps, or relative to the plan time).

The window is resolved once into offsets per partition and frozen in `status.plan`.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from .base import MAX_PARTITIONS, RFC3339_RE, ApiModel, Ordering, PartitionRange, cel, described, parse_time, rule


class PartitionOffsets(PartitionRange):
    """An offset range for one partition."""

    # Not self-checked: OffsetWindow checks the order, so the error names the window.
    ordering = Ordering("window.offsets.perPartition", allow_empty=False, self_checked=False)
    model_config = described(
        "Partition number.", "First offset to replay (inclusive).", "Offset to stop at (exclusive).", ordering
    )


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
            if problem := item.misordered():
                raise ValueError(problem)
        return self


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
