"""`spec.promotion.rollout` and `status.promotion.rollout`: promotion in steps, watched between them.

A rollout writes an approved report's delta in steps (a share of each sandbox partition's delta, or
a cumulative record count), optionally capped in records per second, and between steps waits
`pauseSeconds` and checks the lag of named downstream consumer groups on the sink. Within bounds
the next step starts; over them the rollout pauses (`PromotionPaused`) or aborts, as the spec says.
A person resumes a pause or aborts through the spec, so Git holds the decision.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from .base import ApiModel, cel, rule
from .source_format import unstored

STEP_PATTERN = r"^([0-9]{1,3}(\.[0-9]{1,2})?%|[0-9]{1,12})$"
STEPS_INCREASE = "promotion.rollout.steps must increase (percentages up to 100%, counts above 0)"
ANALYSIS_NEEDS_A_BOUND = "promotion.rollout.analysis needs maxLag or maxLagGrowth"
MAX_STEPS = 20
RESUME = (
    "Resume a rollout paused after this step (status.promotion.rollout.pausedAfterStep): the next step starts "
    "without the analysis that paused it."
)


class LagAnalysis(ApiModel):
    """The consumer groups reading the sink whose lag decides whether the next step starts."""

    model_config = ConfigDict(
        json_schema_extra=cel(rule("has(self.maxLag) || has(self.maxLagGrowth)", ANALYSIS_NEEDS_A_BOUND))
    )

    consumer_groups: list[Annotated[str, Field(min_length=1, max_length=249)]] = Field(
        min_length=1,
        max_length=20,
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description="Consumer groups of the sink: their lag is their committed offsets against the sink's end "
        "offsets, summed over the sink's partitions (a partition without a commit counts from its start).",
    )
    max_lag: int | None = Field(default=None, ge=0, description="The most total lag (records) a group may have.")
    max_lag_growth: int | None = Field(
        default=None, ge=0, description="The most a group's lag may grow (records) from a step's start to its end."
    )

    @model_validator(mode="after")
    def _bounded(self) -> LagAnalysis:
        if self.max_lag is None and self.max_lag_growth is None:
            raise ValueError(ANALYSIS_NEEDS_A_BOUND)
        return self


class Rollout(ApiModel):
    """Promotion in steps; the whole delta is written by the end (a last `100%` is implied)."""

    steps: list[Annotated[str, Field(pattern=STEP_PATTERN, max_length=16)]] = Field(
        min_length=1,
        max_length=MAX_STEPS,
        description="Where each step ends, cumulatively: `N%` of each sandbox partition's delta, or a count of "
        "delta records over all partitions (split over partitions in proportion to their delta). Increasing.",
    )
    pause_seconds: int = Field(default=0, ge=0, le=86_400, description="Wait this long after each step.")
    max_records_per_second: float | None = Field(default=None, gt=0, description="A step's write rate at most.")
    analysis: LagAnalysis | None = Field(default=None, description="Checked after each step's pause.")
    on_failure: Literal["Pause", "Abort"] = Field(
        default="Pause",
        description="When the analysis fails: `Pause` for a person, or `Abort` (the rest is never written).",
    )
    resume_after_step: int | None = unstored(None, RESUME, ge=1)
    abort: bool | None = unstored(None, "Stop the rollout for good: the steps written stay, the rest never is.")

    @field_validator("steps")
    @classmethod
    def _increasing(cls, steps: list[str]) -> list[str]:
        if any(s.endswith("%") for s in steps) and not all(s.endswith("%") for s in steps):
            raise ValueError("promotion.rollout.steps: all percentages or all counts")
        values = [float(s.rstrip("%")) for s in steps]
        if any(b <= a for a, b in pairwise(values)) or values[0] <= 0:
            raise ValueError(STEPS_INCREASE)
        if steps[0].endswith("%") and values[-1] > 100:
            raise ValueError(STEPS_INCREASE)
        return steps


class RolloutStepStatus(ApiModel):
    """One step done: what it wrote up to, and what the analysis saw."""

    index: int = Field(ge=1, description="The step, from 1.")
    handled: int = Field(ge=0, description="Delta records handled by the end of this step, cumulative.")
    completed_at: str = Field(description="When the step's Job finished (RFC 3339).")
    lag: dict[str, int] | None = Field(default=None, description="Per consumer group: its lag when analysed.")
    lag_growth: dict[str, int] | None = Field(default=None, description="Per consumer group: lag growth over the step.")
    verdict: str | None = Field(default=None, description="`Passed`, `Failed: ...` or `Resumed` (by a person).")


class RolloutStatus(ApiModel):
    """Where a rollout stands."""

    steps: list[RolloutStepStatus] = Field(default_factory=list, description="The steps done, in order.")
    total_steps: int = Field(ge=1, description="Steps in all (a last 100% included).")
    phase: Literal["Progressing", "Paused", "Aborted", "Completed"] = Field(description="Where it stands.")
    paused_after_step: int | None = Field(default=None, description="While paused: the step it paused after.")
    lag_at_start: dict[str, int] | None = Field(
        default=None, description="Per consumer group: its lag when the running step started."
    )
    message: str | None = Field(default=None, description="Why it paused or aborted, with the figures.")
