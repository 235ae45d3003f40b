"""`.status` of the steps after the replay: what the combine, reconciliation and promotion Jobs
reported (`status.aggregation`, `status.reconciliation`, `status.promotion`).

The operator fills each object in from its Job's summary or checkpoints; a counter or text stays
absent until that Job reports it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import ApiModel
from .rollout import RolloutStatus


class ReportSamples(ApiModel):
    """A few event ids per class (the smallest ones), to look at by hand."""

    unchanged: list[str] = Field(default_factory=list, description="Ids with identical output.")
    changed: list[str] = Field(default_factory=list, description="Ids whose output differs.")
    missing: list[str] = Field(default_factory=list, description="Ids absent from the existing output.")
    extra: list[str] = Field(default_factory=list, description="Ids only in the existing output.")


def _count(description: str) -> Any:
    """An optional counter filled in from a Job's report (absent until the Job reports)."""
    return Field(default=None, ge=0, description=description)


def _text(description: str) -> Any:
    """An optional string filled in from a Job's report."""
    return Field(default=None, description=description)


class ReportRange(ApiModel):
    """[start, end) of one partition of the report topic."""

    partition: int = Field(ge=0, description="Partition of the report topic.")
    start_offset: int = Field(ge=0, description="First offset of this report's records (inclusive).")
    end_offset: int = Field(ge=0, description="End offset (exclusive).")


class ReconciliationStatus(ApiModel):
    """Replayed vs existing output over the window (from the reconciliation Job's report)."""

    report_hash: str | None = _text("Hash naming this report; approve it by value.")
    unchanged: int | None = _count("Ids with identical output.")
    changed: int | None = _count("Ids whose output differs.")
    missing: int | None = _count("Ids absent from the existing output.")
    extra: int | None = _count("Ids only in the existing output.")
    replayed_ids: int | None = _count("Distinct ids in the sandbox.")
    existing_ids: int | None = _count("Distinct ids in the existing output read.")
    duplicates: int | None = _count("Sandbox records of an id already seen.")
    superseded: int | None = _count("Existing records overwritten by a later one.")
    unidentified: int | None = _count("Existing records without an event id.")
    already_promoted: int | None = _count(
        "Ids counted unchanged because a promotion into the sink already wrote this content (destination ledger)."
    )
    replayed_checksum: str | None = _text("SHA-256 over the replayed output.")
    existing_checksum: str | None = _text("SHA-256 over the existing output.")
    existing_topic: str | None = _text("The topic compared with.")
    report_topic: str | None = _text(
        "Compacted topic with the full report: one record per changed, missing or extra id (key: the id, "
        "value: changed, missing or extra, header er-report-hash: reportHash); promotion writes the changed "
        "and missing ones."
    )
    report_partitions: list[ReportRange] | None = Field(
        default=None,
        description="Where this report's records are in reportTopic: [startOffset, endOffset) per partition, as "
        "the reconciliation Job wrote them (a later report's records of the same ids may since have compacted "
        "some away: read the header).",
    )
    samples: ReportSamples | None = Field(default=None, description="A few ids per class.")
    refresh: int | None = _count("The spec.reconciliation.refresh this report was made for.")
    delta_by_partition: dict[str, int] | None = Field(
        default=None, description="Per sandbox partition: the delta records (changed + missing) promotion writes."
    )
    job: str | None = _text("The reconciliation Job.")
    completed_at: str | None = _text("When the report was made (RFC 3339).")


class AggregationStatus(ApiModel):
    """Windowed-aggregate replays: what the combine Job wrote (from its summary), or what the operator
    verified in the results topic an external job wrote (`engine: External`)."""

    engine: str | None = _text("External when an external job wrote the results (absent: the combine Job).")
    job: str | None = _text("The combine Job.")
    results_topic: str | None = _text("One result per (window, key); reconciled and promoted instead of the sandbox.")
    results: int | None = _count("Results written (windows x keys).")
    windows: int | None = _count("Distinct windows with at least one result.")
    late: int | None = _count("Events later than every window they belong to (allowed lateness passed).")
    no_event_time: int | None = _count("Replayed events without a usable event time (left out).")
    no_key: int | None = _count("Replayed events without a usable key (left out).")
    skipped_values: int | None = _count("Values that were not numbers (sum/min/max) or absent (left out of that one).")
    outside: int | None = _count(
        "Results of windows outside the replay window, read only to complete the overlapping ones (not written)."
    )
    records: int | None = _count("External results: the records read from the results topic (duplicates included).")
    incomplete_windows: list[str] | None = Field(
        default=None,
        description="Starts of the windows overlapping the replay window that the read range cannot complete "
        "(the log's head): reported, never written, reconciled or promoted.",
    )
    digest: str | None = _text("SHA-256 over the result records.")
    completed_at: str | None = _text("When the results were complete (RFC 3339).")


class PromotionStatus(ApiModel):
    """What promotion wrote to the destination (from the promotion Job's checkpoints)."""

    report_hash: str | None = _text("The report whose delta was promoted.")
    written: int | None = _count("Events written (missing + changed).")
    skipped_identical: int | None = _count("Already identical in the destination.")
    skipped_duplicate: int | None = _count("Sandbox copies of an id that lost.")
    already_promoted: int | None = _count("Delta events another replay's promotion already wrote with this content.")
    rewritten: int | None = _count(
        "Delta events left alone: production rewrote their id in the destination after the report (its value stays)."
    )
    rewritten_ids: list[str] | None = Field(
        default=None, description="The first 100 of those ids, sorted (re-reconcile to compare them again)."
    )
    sha256: str | None = _text("SHA-256 over what was written (per-partition chains).")
    job: str | None = _text("The promotion Job.")
    started_at: str | None = _text("When promotion started (RFC 3339).")
    completed_at: str | None = _text("When promotion finished (RFC 3339).")
    approved_by: str | None = _text(
        "Who approved report_hash (policy Manual): the eventreplay.io/approved-by annotation, which the chart's "
        "approval policy ties to the approving user; empty when the approval named no one."
    )
    approved_at: str | None = _text("When the operator first saw that approval (RFC 3339).")
    blocked_by: str | None = _text(
        "While the promotion Job runs: the uid of another replay whose open claim on an id in the sink it waits on "
        "(its promoter retries until that promotion commits)."
    )
    blocked_since: str | None = _text("When the promoter first found that claim (RFC 3339).")
    rollout: RolloutStatus | None = Field(default=None, description="A rollout's steps (spec.promotion.rollout).")
