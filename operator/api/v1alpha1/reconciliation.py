"""How the replayed output is reconciled and promoted: `spec.reconciliation` and `spec.promotion`.

`spec.reconciliation` says where the existing output lives and how an output is identified and
compared; `spec.promotion` is the gate in front of the real destination. The operator turns them
into the worker's `ReconcileTask` / `PromoteTask` (`job_tasks.py`); the gate itself is `stages/gate.py`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from eventreplay.worker.contract.sink_record import HEADER_NAME_PATTERN
from eventreplay.worker.contract.step_tasks import (
    EVENT_ID_FIELD_RULE,
    EVENT_ID_HEADER_DESCRIPTION,
    EVENT_ID_HEADER_RULE,
    EventIdSourceName,
    check_event_id_source,
)

from .base import TOPIC_RE, ApiModel, Ordering, PartitionRange, cel, described, rule
from .rollout import Rollout
from .source_format import unstored
from .window import TimestampWindow


class ExistingOffsets(PartitionRange):
    """An explicit offset range of one partition of the destination (or comparison) topic."""

    ordering = Ordering("existingOffsets", allow_empty=True, self_checked=True)
    model_config = described("Destination partition.", "First offset (inclusive).", "End offset (exclusive).", ordering)


class EventIdSource(ApiModel):
    """Where a destination record carries its event id (replayed records are keyed by it)."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule("(self.source == 'valueField') == has(self.field)", EVENT_ID_FIELD_RULE),
            rule("(self.source == 'header') == has(self.header)", EVENT_ID_HEADER_RULE),
        )
    )

    source: EventIdSourceName = Field(
        default="key", description="`key`, a JSON `valueField`, or a `header` of the record."
    )
    field: str | None = Field(default=None, max_length=253, description="For `valueField`: top-level JSON field.")
    header: str | None = Field(default=None, pattern=HEADER_NAME_PATTERN, description=EVENT_ID_HEADER_DESCRIPTION)

    @model_validator(mode="after")
    def _field(self) -> EventIdSource:
        # The twin of the CEL rules: local commands refuse what admission refuses.
        check_event_id_source(self.source, self.field, self.header)
        return self


class ExternalResults(ApiModel):
    """The hand-off signal of an `engine: External` aggregate replay (mutable: set once the job ran)."""

    complete: bool = Field(
        default=False,
        description="Set once the external job (`eventreplay export flink-sql`) has written the results topic: "
        "the operator verifies it (non-empty, every record this replay's er-replay-uid) and reconciles it.",
    )


class Reconciliation(ApiModel):
    """How the replayed output is compared with the existing output, per event id.

    The existing output is read from `comparisonTopic` (default: `sink.topic`) over, in order of
    precedence: `existingOffsets`; `existingTimestamps` plus the slack; the replay window's times
    plus the slack (timestamp and relative windows); else (an offset window) the whole retained topic.
    """

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "!(has(self.existingOffsets) && has(self.existingTimestamps))",
                "reconciliation: give at most one of existingOffsets and existingTimestamps",
            )
        )
    )

    slack_seconds: int = Field(
        default=600,
        ge=0,
        le=86400,
        description="Extra time read on each side of the window in the existing output.",
    )
    refresh: int = Field(
        default=0,
        ge=0,
        description=(
            "Bump to reconcile again (`eventreplay reconcile NAME`): a new report with a new hash, which "
            "needs its own approval; ids already promoted into the sink count as unchanged."
        ),
    )
    comparison_topic: str | None = Field(
        default=None,
        pattern=TOPIC_RE,
        max_length=249,
        description="Compare with this topic instead of sink.topic (promotion still writes to sink.topic).",
    )
    existing_offsets: list[ExistingOffsets] | None = Field(
        default=None,
        max_length=10_000,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["partition"]},
        description="Explicit [from, to) per destination partition holding the existing output.",
    )
    existing_timestamps: TimestampWindow | None = Field(
        default=None, description="Explicit time window of the existing output (the slack is added)."
    )
    event_id: EventIdSource = Field(default_factory=EventIdSource, description="How destination records name their id.")
    canonical_headers: list[Annotated[str, Field(min_length=1, max_length=253)]] = Field(
        default_factory=list,
        max_length=64,
        description="Header names compared along with the value (sorted-key JSON); others are ignored. "
        "Replayed records carry the replay's headers only (the source's are not copied, see sink.topic): a "
        "header listed here that the existing output carries makes each of its ids count as changed.",
    )
    compare_key: bool = unstored(
        False,
        "Compare the record key too (default false: the value and canonicalHeaders only): an id whose existing "
        "record has another key than its promoted record would (sink.key; a null key is not an empty one) counts "
        "as changed.",
    )
    sample_size: int = Field(default=5, ge=0, le=20, description="Sample ids kept per class in status.")
    external_results: ExternalResults | None = Field(
        default=None,
        description="Only with transform.aggregate.engine External: `complete: true` once the external job has "
        "written the results topic; reconciliation waits for it (condition reason AwaitingExternalResults).",
    )

    @model_validator(mode="after")
    def _one(self) -> Reconciliation:
        if self.existing_offsets is not None and self.existing_timestamps is not None:
            raise ValueError("reconciliation: give at most one of existingOffsets and existingTimestamps")
        return self


class Thresholds(ApiModel):
    """Limits for Automatic promotion; any exceeded limit keeps the gate closed."""

    max_invalid_ratio: float = Field(default=0.0, ge=0, le=1, description="Max dead-lettered / records read.")
    max_changed_ratio: float = Field(default=1.0, ge=0, le=1, description="Max changed / replayed event ids.")
    max_missing_ratio: float = Field(default=1.0, ge=0, le=1, description="Max missing / replayed event ids.")
    allow_conflicts: bool = Field(
        default=False, description="Promote even if some ids had conflicting contents (dead-lettered as conflict)."
    )


class Promotion(ApiModel):
    """The gate in front of the real destination."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "!has(self.approvedReportHash) || self.policy == 'Manual'",
                "promotion.approvedReportHash only applies to policy Manual",
            ),
            rule(
                "self.policy != 'Automatic' || has(self.thresholds)",
                "promotion.policy Automatic needs thresholds",
            ),
        )
    )

    policy: Literal["Manual", "Automatic", "Never"] = Field(
        default="Manual",
        description="`Manual`: promote once approvedReportHash equals the reconciliation report hash; "
        "`Automatic`: promote when the thresholds hold; `Never`: sandbox only.",
    )
    approved_report_hash: str | None = Field(
        default=None,
        pattern=r"^[a-f0-9]{16,64}$",
        description="Manual approval: the full status.reconciliation.reportHash being approved (GitOps-friendly).",
    )
    thresholds: Thresholds | None = Field(default=None, description="Limits for Automatic promotion.")
    rollout: Rollout | None = Field(default=None, description="Promote in steps, watched between them.")

    @model_validator(mode="after")
    def _policy(self) -> Promotion:
        # Mirrors the CEL rules, so local commands refuse what admission refuses.
        if self.approved_report_hash is not None and self.policy != "Manual":
            raise ValueError("promotion.approvedReportHash only applies to policy Manual")
        if self.policy == "Automatic" and self.thresholds is None:
            raise ValueError("promotion.policy Automatic needs thresholds")
        return self
