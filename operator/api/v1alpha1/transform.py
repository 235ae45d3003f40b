"""The deterministic transformation: `spec.transform` (a per-event function, optionally a windowed aggregate)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from .base import ApiModel, cel, rule


class Aggregation(ApiModel):
    """One output field of a window result."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "(self.function == 'count') != has(self.field)",
                "aggregation: field is required for sum, min, max and distinctCount, and not allowed for count",
            )
        )
    )

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=63, description="Output field name.")
    function: Literal["count", "sum", "min", "max", "distinctCount"] = Field(description="What to compute.")
    field: str | None = Field(default=None, max_length=253, description="Input field (top-level JSON).")


class Aggregate(ApiModel):
    """Event-time windowed recompute (bounded): one result per (window, key) instead of per event.

    Windows start at multiples of `slideSeconds` since the epoch and hold [start, start + size);
    an event is left out of a window when the window's end plus the allowed lateness is not after
    the largest event time seen before it in its partition (offset order). Results are combined
    by a Job after the replay, then reconciled (by result id `<windowStart>|<key>`) and promoted
    like any output. Whole windows: for a time window, the read range extends back to the start of
    the first window overlapping it and forward to the end of the last one (each by the allowed
    lateness; `status.plan.readRange`), and only the overlapping windows are results, each from
    all its events; one the log's head leaves incomplete is reported, never promoted. Not with
    `dedup.mode: skipProcessed`.
    """

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "!has(self.slideSeconds) || (self.slideSeconds <= self.windowSeconds && "
                "self.windowSeconds % self.slideSeconds == 0)",
                "aggregate: slideSeconds must divide windowSeconds",
            )
        )
    )

    event_time_field: str = Field(
        min_length=1, max_length=253, description="Event-time field: RFC 3339 with a zone, or epoch milliseconds."
    )
    key_field: str | None = Field(default=None, max_length=253, description="Group by this field; none: one group.")
    window_seconds: int = Field(gt=0, le=366 * 86400, description="Window size (tumbling unless slideSeconds).")
    slide_seconds: int | None = Field(default=None, gt=0, description="Hopping windows: the slide (divides the size).")
    allowed_lateness_seconds: int = Field(default=0, ge=0, le=30 * 86400, description="Allowed lateness.")
    aggregations: list[Aggregation] = Field(min_length=1, max_length=32, description="Output fields.")
    engine: Literal["Combine", "External"] = Field(
        default="Combine",
        description="Who computes the results: `Combine`, the operator's combine Job; `External`, a job the user "
        "runs (`eventreplay export flink-sql`) into the replay's results topic, after which "
        "spec.reconciliation.externalResults.complete hands them to reconciliation. Immutable once planned.",
    )

    @model_validator(mode="after")
    def _shape(self) -> Aggregate:
        slide = self.slide_seconds or self.window_seconds
        if slide > self.window_seconds or self.window_seconds % slide:
            raise ValueError("aggregate: slideSeconds must divide windowSeconds")
        for item in self.aggregations:
            if (item.function == "count") != (item.field is None):
                raise ValueError(f"aggregation {item.name}: field is required for {item.function} (and only then)")
        return self


class Transform(ApiModel):
    """The deterministic transformation applied to each valid event."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "self.function != 'project' || (has(self.fields) && size(self.fields) > 0)",
                "transform: `project` needs a non-empty fields list",
            ),
        )
    )

    function: str = Field(
        default="identity",
        max_length=253,
        json_schema_extra=cel(
            rule(
                "self in ['identity', 'project'] || self.matches(r'^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$')",
                "transform.function must be identity, project or module:function",
            ),
        ),
        description="`identity`, `project`, or a `module:function` the worker image registers (entry point group "
        "`eventreplay.transforms`; dict -> dict); any other name fails the partition permanently, unimported.",
    )
    fields: list[Annotated[str, Field(min_length=1, max_length=253)]] | None = Field(
        default=None, max_length=256, description="For `project`: the top-level fields to keep."
    )
    aggregate: Aggregate | None = Field(
        default=None,
        description="Windowed recompute: after the per-event transform, combine the replayed events into one "
        "result per (window, key); those results are reconciled and promoted. A time window is read whole: every "
        "event of every aggregation window overlapping it (status.plan.readRange), and only those windows are "
        "results. Refused with dedup.mode skipProcessed.",
    )

    @model_validator(mode="after")
    def _known(self) -> Transform:
        if self.function == "project" and not self.fields:
            raise ValueError("transform: `project` needs a non-empty fields list")
        if self.function not in ("identity", "project") and ":" not in self.function:
            raise ValueError("transform.function must be identity, project or module:function")
        return self
