"""The combine Job's task: merge every replayed event of a windowed-aggregate replay into one
result per (window, key), written once to the replay's results topic.

`Aggregate` mirrors `spec.transform.aggregate` (the operator's API, `operator/api/v1alpha1/`);
the window semantics are in `worker/windows/aggregator.py`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .model import Contract
from .step_tasks import RedisTarget, SandboxStep, StepTuning

Function = Literal["count", "sum", "min", "max", "distinctCount"]


class Aggregation(Contract):
    name: str = Field(min_length=1, description="Output field of the result.")
    function: Function
    field: str | None = Field(default=None, description="Input field (all but `count`).")

    @model_validator(mode="after")
    def _field(self) -> Aggregation:
        if (self.function == "count") != (self.field is None):
            raise ValueError(f"aggregation {self.name}: `field` is required for {self.function} (and only then)")
        return self


class Aggregate(Contract):
    event_time_field: str = Field(min_length=1, description="RFC 3339 (with a zone) or epoch ms.")
    key_field: str | None = Field(default=None, description="Group by this top-level field; none: one group.")
    window_seconds: int = Field(gt=0)
    slide_seconds: int | None = Field(default=None, gt=0, description="Hopping windows; default: tumbling.")
    allowed_lateness_seconds: int = Field(default=0, ge=0)
    aggregations: list[Aggregation] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self) -> Aggregate:
        slide = self.slide_seconds or self.window_seconds
        if slide > self.window_seconds or self.window_seconds % slide:
            raise ValueError("aggregate: slideSeconds must divide windowSeconds")
        reserved = {"id", "key", "windowStart", "windowEnd"}
        seen = [a.name for a in self.aggregations]
        if len(set(seen)) != len(seen) or reserved & set(seen):
            raise ValueError(f"aggregate: names must be unique and none of {sorted(reserved)}")
        return self


class Requested(Contract):
    """The replay window of a time-window plan: only windows overlapping it are results (whole
    windows, `worker/contract/whole_windows.py`); the plan's read range holds all their events."""

    from_ms: int = Field(description="Replay window start, epoch ms (inclusive).")
    to_ms: int = Field(description="Replay window end, epoch ms (exclusive).")
    head_partitions: list[int] = Field(
        default_factory=list,
        description="Partitions whose read stopped at the log's head before the read range's end: a window "
        "their last events have not passed may still receive events (incomplete, not emitted).",
    )


class CombineTask(SandboxStep):
    step: ClassVar[str] = "combine"
    results_topic: str = Field(min_length=1)
    aggregate: Aggregate
    requested: Requested | None = Field(
        default=None, description="None (an offset window, or a task from before it): every window read."
    )
    redis: RedisTarget
    tuning: StepTuning = StepTuning()

    @property
    def redis_target(self) -> RedisTarget:
        """Where the summary and a failure record go."""
        return self.redis
