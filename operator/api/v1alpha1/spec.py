"""`.spec` of an EventReplay: EventReplaySpec and which of its fields are frozen once planned.

Each part lives in a module of its own: `source`, `window`, `validation`, `dedup`, `transform`,
`sink`, `reconciliation` (with promotion) and `worker`; the rules on the whole object (immutability) are
in `resource.py`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import ApiModel, cel, rule
from .dedup import Dedup
from .reconciliation import Promotion, Reconciliation
from .sink import RECORD_NEEDS_USER_TRANSFORM, SHAPE_NOT_AGGREGATE, Sink
from .source import Source
from .transform import Transform
from .validation import Validation
from .window import Window
from .worker import Worker

IMMUTABLE = (
    "source",
    "window",
    "validation",
    "transform",
    "sink",
    "dedup.redis.url",
    "dedup.ledger",
    "dedup.mode",
    "reconciliation.slack_seconds",
    "reconciliation.comparison_topic",
    "reconciliation.existing_offsets",
    "reconciliation.existing_timestamps",
    "reconciliation.event_id",
    "reconciliation.canonical_headers",
    "reconciliation.compare_key",
    "reconciliation.sample_size",
)
"""Spec fields (snake_case paths) frozen once the replay is planned: everything that decides the
output or the report (see the root rules in `resource.py`). Listed field by field where a parent
also holds operational settings that stay mutable: dedup.ttlSeconds and the Redis password
reference, a future reconciliation counter, promotion (the approval), worker, suspend, retry."""


AGGREGATE_SKIP_PROCESSED = (
    "transform.aggregate cannot run with dedup.mode skipProcessed: it skips the events production "
    "already processed, so every window would count only the missed events and be promoted over the "
    "true values; use dedup.mode withinReplay"
)
AGGREGATE_SKIP_PROCESSED_RULE = rule(
    "!has(self.spec.transform) || !has(self.spec.transform.aggregate) || !has(self.spec.dedup.mode) "
    "|| self.spec.dedup.mode != 'skipProcessed'",
    AGGREGATE_SKIP_PROCESSED,
    fieldPath=".spec.dedup.mode",
)

EXTERNAL_RESULTS_ONLY_EXTERNAL = (
    "reconciliation.externalResults is the hand-off signal of transform.aggregate.engine External: "
    "nothing else waits for external results"
)
EXTERNAL_RESULTS_RULE = rule(
    "!has(self.spec.reconciliation) || !has(self.spec.reconciliation.externalResults) || "
    "(has(self.spec.transform) && has(self.spec.transform.aggregate) && "
    "has(self.spec.transform.aggregate.engine) && self.spec.transform.aggregate.engine == 'External')",
    EXTERNAL_RESULTS_ONLY_EXTERNAL,
    fieldPath=".spec.reconciliation.externalResults",
)
"""Combinations the semantics cannot serve, refused at admission (root rules) and by the model."""


class EventReplaySpec(ApiModel):
    """Desired replay: re-process a window exactly once into a sandbox, then reconcile and promote."""

    source: Source = Field(description="Kafka source. Immutable once planned.")
    window: Window = Field(description="Which events to replay. Immutable once planned.")
    validation: Validation = Field(
        default_factory=Validation, description="Checks applied to every event. Immutable once planned."
    )
    dedup: Dedup = Field(description="De-duplication ledger (redis.url, ledger and mode are immutable once planned).")
    transform: Transform = Field(
        default_factory=Transform, description="Deterministic transformation. Immutable once planned."
    )
    sink: Sink = Field(description="The real destination (written only by promotion). Immutable once planned.")
    reconciliation: Reconciliation = Field(
        default_factory=Reconciliation,
        description="Reconciliation settings (those that shape the report are immutable once planned).",
    )
    promotion: Promotion = Field(default_factory=Promotion, description="Promotion gate.")
    worker: Worker = Field(default_factory=Worker, description="Worker Job settings.")
    dry_run: bool = Field(default=False, description="Plan only: resolve offsets and counts, start no Job.")
    suspend: bool = Field(default=False, description="Suspend the worker Jobs; clearing it resumes them.")
    retry: int = Field(
        default=0,
        ge=0,
        le=1000,
        json_schema_extra=cel(rule("self >= oldSelf", "retry can only increase")),
        description="Bump to retry the failed partitions (finished ones are not redone).",
    )

    @property
    def compared_topic(self) -> str:
        """The topic reconciliation compares with, and so the one an approved report was made against."""
        return self.reconciliation.comparison_topic or self.sink.topic

    deletion_policy: Literal["Keep", "Delete"] = Field(
        default="Keep",
        description="On delete: `Keep` the sandbox, dead-letter and report topics and this replay's Redis keys "
        "(evidence; no finalizer for it), or `Delete` them (the operator holds a finalizer until they are gone).",
    )

    @model_validator(mode="after")
    def _servable(self) -> EventReplaySpec:
        # The twins of AGGREGATE_SKIP_PROCESSED_RULE, EXTERNAL_RESULTS_RULE, sink.SHAPE_NOT_AGGREGATE_RULE and
        # sink.RECORD_NEEDS_USER_TRANSFORM_RULE:
        # `eventreplay plan/run` refuse them too.
        if self.transform.aggregate is not None and self.dedup.mode == "skipProcessed":
            raise ValueError(AGGREGATE_SKIP_PROCESSED)
        if self.reconciliation.external_results is not None and not self.external_engine:
            raise ValueError(EXTERNAL_RESULTS_ONLY_EXTERNAL)
        if self.transform.aggregate is not None and self.sink.shaped:
            raise ValueError(SHAPE_NOT_AGGREGATE)
        if self.sink.record().from_transform and ":" not in self.transform.function:
            raise ValueError(RECORD_NEEDS_USER_TRANSFORM)
        return self

    @property
    def external_engine(self) -> bool:
        """An aggregate replay whose results an external job writes (no combine Job)."""
        return self.transform.aggregate is not None and self.transform.aggregate.engine == "External"
