"""`.status` of an EventReplay: conditions, the frozen plan, compact per-partition progress, totals.

Every field is declared (the API server prunes undeclared status fields). Per-partition entries
omit zero counts and defaults so 1,000 partitions stay far below etcd's object limit. What the steps
after the replay reported (aggregation, reconciliation, promotion) is in `step_status.py`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from eventreplay.worker.contract.names import KEY_LAYOUT, LEGACY_KEY_LAYOUT, Tenant, key_tenant, planned_layout

from .base import ApiModel
from .step_status import AggregationStatus, PromotionStatus, ReconciliationStatus

ConditionStatus = Literal["True", "False", "Unknown"]
PartitionState = Literal["Pending", "Running", "Suspended", "Done", "Failed"]
PHASES = (
    "Pending",
    "Planned",
    "Replaying",
    "Suspended",
    "Replayed",
    "Reconciled",
    "Promoting",
    "Promoted",
    "Stalled",
)
"""Derived for humans from the conditions: Pending -> Planned (dry run) | Replaying <-> Suspended
-> Replayed (being reconciled) -> Reconciled (gate closed, or policy Never) -> Promoting -> Promoted; any step
-> Stalled, and back when `retry` is bumped."""


class Condition(ApiModel):
    """A metav1.Condition: the observed state of one aspect of the replay."""

    type: str = Field(max_length=316, description="Condition type: Ready, Reconciling, Stalled, Planned, ...")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", description="CamelCase reason."
    )
    message: str = Field(default="", max_length=32768, description="Human-readable details.")
    last_transition_time: str = Field(description="When the status last changed (RFC 3339).")
    observed_generation: int | None = Field(
        default=None, ge=0, description="The .metadata.generation the condition was computed from."
    )


class PlanPartition(ApiModel):
    """One partition's frozen range."""

    partition: int = Field(ge=0, description="Partition number.")
    start_offset: int = Field(ge=0, description="First offset (inclusive).")
    end_offset: int = Field(ge=0, description="End offset (exclusive).")
    records: int = Field(
        ge=0,
        description="Offsets in [start, end): the record count, or an upper bound when transaction "
        "markers or compaction leave gaps.",
    )
    at_head: bool | None = Field(
        default=None,
        description="Windowed-aggregate replays: the read range ends past this partition's last record, so "
        "the read stops at the log's head; windows its last events have not passed are incomplete (not promoted).",
    )


class PlanTimes(ApiModel):
    """A time range [from, to) of a plan."""

    from_: str = Field(alias="from", description="Start (inclusive, RFC 3339).")
    to: str = Field(description="End (exclusive, RFC 3339).")


class Plan(ApiModel):
    """The window resolved to offsets, frozen once: a retried worker replays exactly this."""

    as_of: str = Field(description="When the plan was made (RFC 3339); relative windows count back from it.")
    hash: str = Field(description="SHA-256 (hex, 16 chars) over topic, ranges and as-of time.")
    input_hash: str = Field(description="Hash of the spec inputs (source, window) the plan was made from.")
    topic: str = Field(description="Source topic.")
    topic_partitions: int = Field(ge=0, description="Partition count of the source topic at plan time.")
    sandbox_topic: str = Field(description="Where the replayed events are written.")
    dead_letter_topic: str = Field(description="Where invalid events are written, with the reason in headers.")
    report_topic: str | None = Field(
        default=None, description="Compacted topic of the reconciliation report (changed/missing/extra ids)."
    )
    replay_uid: str | None = Field(
        default=None, description="The uid the topics are named for; their records carry it in header er-replay-uid."
    )
    records: int = Field(ge=0, description="Total offsets over all planned partitions.")
    partitions: list[PlanPartition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["partition"]},
        description="Per-partition ranges.",
    )
    notes: list[str] = Field(
        default_factory=list, description="How the window was resolved (e.g. a time past the last record)."
    )
    requested_window: PlanTimes | None = Field(
        default=None, description="A time window as asked (spec.window resolved against asOf)."
    )
    read_range: PlanTimes | None = Field(
        default=None,
        description="The record times the partition ranges were resolved from: for a windowed-aggregate replay, "
        "the requested window widened to every event of every aggregation window overlapping it (back to the "
        "first one's start, forward to the last one's end, each by the allowed lateness); only those windows "
        "are results. Absent: the requested window itself (or an offset window).",
    )
    key_layout: int | None = Field(
        default=None,
        ge=LEGACY_KEY_LAYOUT,
        le=KEY_LAYOUT,
        description="The Redis key layout of the replay's keys (2: every key carries the namespace). Absent: "
        "planned before the field existed (chart 0.1.0), layout 1, whose keys lack the namespace; the replay "
        "keeps them to its end.",
    )

    def key_tenant(self, namespace: str) -> Tenant:
        """The tenant argument of this replay's Redis key builders (`names.key_tenant`)."""
        return key_tenant(namespace, planned_layout(self.key_layout))


class BlockedPod(ApiModel):
    """Why a partition's worker pod cannot run, as its kubelet or the scheduler says."""

    pod: str = Field(max_length=253, description="The pod's name.")
    container: str | None = Field(default=None, max_length=253, description="The container (none: unschedulable).")
    cause: str = Field(
        max_length=64,
        description="ImagePullBackOff, InvalidImageName, ErrImageNeverPull, CreateContainerConfigError, "
        "CreateContainerError, CrashLoopBackOff, OOMKilled or Unschedulable.",
    )
    message: str | None = Field(default=None, max_length=512, description="The kubelet's or scheduler's words.")
    since: str = Field(description="When the operator first saw this pod blocked by this cause (RFC 3339).")


class BlockedStep(BlockedPod):
    """Why a post-replay step Job's pod cannot run (the step running now: one at a time)."""

    step: str = Field(max_length=16, description="combine, reconcile or promote.")
    job: str = Field(max_length=253, description="The step's Job.")


class PartitionProgress(ApiModel):
    """One partition's progress (zero counts are omitted)."""

    partition: int = Field(ge=0, description="Partition number.")
    state: PartitionState = Field(description="Pending, Running, Suspended, Done or Failed.")
    committed_offset: int | None = Field(default=None, description="Next offset to read (committed).")
    emitted: int = Field(default=0, ge=0, description="Records written to the sandbox.")
    duplicate: int = Field(default=0, ge=0, description="Repeats inside the replay, dropped.")
    processed: int = Field(default=0, ge=0, description="Already in the production ledger (skipProcessed).")
    dead_lettered: int = Field(default=0, ge=0, description="Records sent to the dead-letter topic.")
    percent: int = Field(default=0, ge=0, le=100, description="Committed share of the range.")
    job: str | None = Field(default=None, description="Name of the current worker Job.")
    attempt: int = Field(default=0, ge=0, description="Retry generation of the current Job.")
    message: str | None = Field(default=None, max_length=1024, description="Why the partition failed.")
    blocked: BlockedPod | None = Field(default=None, description="Its worker pod cannot run, and why.")


class Totals(ApiModel):
    """Sums over all partitions; the buckets add up to the records read."""

    records: int = Field(default=0, ge=0, description="Planned offsets.")
    read: int = Field(default=0, ge=0, description="Records read (sum of the four buckets).")
    skipped_offsets: int = Field(
        default=0,
        ge=0,
        description="Planned offsets that held no record: transaction markers, aborted transactions' records, "
        "records compacted away. read + skippedOffsets = records once every partition is done.",
    )
    emitted: int = Field(default=0, ge=0, description="Records written to the sandbox.")
    duplicate: int = Field(default=0, ge=0, description="Repeats inside the replay, dropped.")
    processed: int = Field(default=0, ge=0, description="Already in the production ledger, skipped.")
    dead_lettered: int = Field(default=0, ge=0, description="Records sent to the dead-letter topic.")
    dead_letter_reasons: dict[str, int] = Field(
        default_factory=dict,
        description="Dead-lettered records per reason (malformed_json, schema, conflict, ...).",
    )
    bytes_in: int = Field(default=0, ge=0, description="Source bytes read.")
    bytes_out: int = Field(default=0, ge=0, description="Bytes written to the sandbox.")


class Progress(ApiModel):
    """Summary for `kubectl get` and dashboards."""

    partitions: str = Field(default="0/0", description="Partitions done / planned, e.g. `2/3`.")
    partitions_done: int = Field(default=0, ge=0, description="Partitions finished.")
    partitions_failed: int = Field(default=0, ge=0, description="Partitions failed.")
    partitions_running: int = Field(default=0, ge=0, description="Partitions with an active Job.")
    partitions_total: int = Field(default=0, ge=0, description="Partitions planned.")
    percent: int = Field(default=0, ge=0, le=100, description="Committed offsets / planned offsets.")
    events_per_second: float = Field(default=0.0, ge=0, description="Records read per second (overall).")
    eta_seconds: int | None = Field(default=None, ge=0, description="Estimated seconds to finish.")
    eta: str | None = Field(default=None, description="ETA for humans, e.g. `3m20s`.")
    updated_at: str | None = Field(default=None, description="Time of the newest checkpoint read (RFC 3339).")


class EventReplayStatus(ApiModel):
    """Observed state of the replay."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The .metadata.generation this status reflects."
    )
    phase: str | None = Field(default=None, description="Derived from the conditions, for humans: " + ", ".join(PHASES))
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description="Ready, Reconciling, Stalled (kstatus); steps Planned, Replayed, Reconciled, Promoted.",
    )
    observed_retry: int | None = Field(default=None, ge=0, description="The spec.retry last acted on.")
    plan: Plan | None = Field(default=None, description="The frozen plan.")
    partitions: list[PartitionProgress] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["partition"]},
        description="Per-partition progress.",
    )
    totals: Totals | None = Field(default=None, description="Counts over all partitions.")
    progress: Progress | None = Field(default=None, description="Summary: partitions done, percent, rate, ETA.")
    aggregation: AggregationStatus | None = Field(
        default=None, description="Windowed-aggregate replays: the combined results."
    )
    reconciliation: ReconciliationStatus | None = Field(default=None, description="Reconciliation report.")
    promotion: PromotionStatus | None = Field(default=None, description="Promotion record.")
    blocked_step: BlockedStep | None = Field(
        default=None, description="The running post-replay step's pod cannot run, and why."
    )

    def to_wire(self) -> dict[str, Any]:
        """Compact JSON-ready dict: defaults in per-partition entries dropped, None dropped."""
        body = self.model_dump(by_alias=True, exclude_none=True, exclude={"partitions"})
        body["partitions"] = [p.model_dump(by_alias=True, exclude_defaults=True) for p in self.partitions]
        # `state` and `partition` are required even when they equal a default.
        for entry, part in zip(body["partitions"], self.partitions, strict=True):
            entry["partition"], entry["state"] = part.partition, part.state
        return body
