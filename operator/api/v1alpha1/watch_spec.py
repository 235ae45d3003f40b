"""`.spec` of an EventReplayWatch: what to watch (source, sink, ids), the rolling window, how often,
and the draft EventReplay each new gap may get (`draft.template`, a partial EventReplay spec).

The parts shared with an EventReplay are its own fields (`same_as`: their models, constraints and
defaults, described for a watch) and models (`RedisConnection`), so a watch admits exactly what a
replay of the same source would, and the operator checks the replay policy on the EventReplay spec a
scan would draft (`watch/scan.py`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from .base import ApiModel, cel, rule, same_as
from .dedup import Dedup, RedisConnection
from .reconciliation import EventIdSource, Promotion, Reconciliation
from .sink import Sink
from .source import Source
from .spec import EventReplaySpec
from .transform import Transform
from .validation import Validation
from .worker import Worker

MIN_SCHEDULE_SECONDS = 60
"""A scan reads the whole rolling window from both topics: never more often than a minute."""
MAX_WINDOW_SECONDS = 7 * 86400
"""The gap finder holds the sink's ids of the window in memory: a week of a topic at most."""
EventTimeAllowance = Annotated[int, Field(ge=0, le=86400)]
"""Seconds of event time a scan allows for (a consumer still processing, events joined into one gap):
at most a day."""
DRAFT_MANUAL = "draft.template.promotion: a draft is promoted only once a person approves its report: policy Manual"


class WatchSchedule(ApiModel):
    """How often the watch scans."""

    interval_seconds: int = Field(
        default=300,
        ge=MIN_SCHEDULE_SECONDS,
        le=MAX_WINDOW_SECONDS,
        description=f"Seconds between the starts of two scans (at least {MIN_SCHEDULE_SECONDS}).",
    )


class WatchReconciliation(ApiModel):
    """How the sink's records are compared with the source's: by event id."""

    event_id: EventIdSource = same_as(Reconciliation, "event_id", "How sink records name their id.")
    slack_seconds: int = same_as(
        Reconciliation,
        "slack_seconds",
        "Extra time read on each side of the window in the sink (its records come later).",
    )


class DraftDedup(ApiModel):
    """The drafts' dedup ledger; its Redis is the watch's `redis`."""

    ledger: str = Field(
        default="gaps", min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$", description="Ledger key prefix."
    )
    mode: Literal["withinReplay", "skipProcessed"] = Field(
        default="skipProcessed",
        description="As an EventReplay's dedup.mode; `skipProcessed` (missed events) by default.",
    )
    ttl_seconds: int = same_as(Dedup, "ttl_seconds", "TTL of the ledger buckets a draft writes.")


class DraftTemplate(ApiModel):
    """The parts of each draft EventReplay the watch does not decide itself (a partial EventReplay spec)."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            rule(
                "!has(self.promotion) || !has(self.promotion.policy) || self.promotion.policy == 'Manual'",
                DRAFT_MANUAL,
            ),
            rule(
                "!has(self.promotion) || !has(self.promotion.approvedReportHash)",
                "draft.template.promotion.approvedReportHash: a draft's report does not exist yet",
            ),
        )
    )

    dedup: DraftDedup = Field(default_factory=DraftDedup, description="The drafts' dedup ledger.")
    transform: Transform = same_as(EventReplaySpec, "transform", "As an EventReplay's transform.")
    promotion: Promotion = same_as(EventReplaySpec, "promotion", "Policy Manual only: a person approves.")
    worker: Worker = same_as(EventReplaySpec, "worker", "The drafts' and the scans' worker Jobs.")
    dry_run: bool = same_as(EventReplaySpec, "dry_run", "Draft dry runs (plan only) instead of replays.")
    deletion_policy: Literal["Keep", "Delete"] = same_as(EventReplaySpec, "deletion_policy", "As an EventReplay's.")

    @model_validator(mode="after")
    def _manual(self) -> DraftTemplate:
        # The twin of the CEL rules: a draft never promotes by itself.
        if self.promotion.policy != "Manual":
            raise ValueError(DRAFT_MANUAL)
        if self.promotion.approved_report_hash is not None:
            raise ValueError("draft.template.promotion.approvedReportHash: a draft's report does not exist yet")
        return self


class Draft(ApiModel):
    """Whether each new gap gets a draft EventReplay (owned by the watch, promoted only when approved)."""

    enabled: bool = Field(default=False, description="Create one draft EventReplay per new gap.")
    margin_seconds: int = Field(
        default=60, ge=0, le=3600, description="Seconds added on each side of the gap's time window."
    )
    template: DraftTemplate = Field(default_factory=DraftTemplate, description="The rest of each draft's spec.")


class EventReplayWatchSpec(ApiModel):
    """Desired watch: scan a rolling window of the source for events that never reached the sink."""

    source: Source = same_as(EventReplaySpec, "source", "Kafka source, as an EventReplay's.")
    validation: Validation = same_as(
        EventReplaySpec, "validation", "Where a source record's id is (validation.eventIdField)."
    )
    sink: Sink = same_as(
        EventReplaySpec, "sink", "The destination the source's events should reach, as an EventReplay's."
    )
    reconciliation: WatchReconciliation = Field(
        default_factory=WatchReconciliation, description="How sink records name their id."
    )
    redis: RedisConnection = Field(description="Where each scan leaves its result; the drafts' dedup.redis.")
    lookback_seconds: int = Field(
        default=3600,
        ge=60,
        le=MAX_WINDOW_SECONDS,
        description="The rolling window: each scan reads the source events of these last seconds.",
    )
    settle_seconds: EventTimeAllowance = Field(
        default=60,
        description="The window ends this many seconds ago: events a consumer may still be processing are no gap yet.",
    )
    join_seconds: EventTimeAllowance = Field(
        default=60, description="Missing events closer than this in time belong to one gap."
    )
    schedule: WatchSchedule = Field(default_factory=WatchSchedule, description="How often to scan.")
    suspend: bool = Field(default=False, description="Start no scan (a running one finishes).")
    draft: Draft = Field(default_factory=Draft, description="Draft EventReplays for new gaps.")
    history_limit: int = Field(default=3, ge=0, le=20, description="Finished scan Jobs kept (the rest expire).")
