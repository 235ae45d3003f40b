"""Builders of the summaries the worker's step Jobs leave in Redis (`worker/contract/summaries.py`),
as the operator's unit tests put them where the operator reads them."""

from __future__ import annotations

from eventreplay.worker.contract.summaries import (
    CanonicalPlan,
    ClassSamples,
    CombineCounts,
    CombineSummary,
    EventIdPlan,
    PlannedRange,
    ReplayRef,
    Report,
    ReportCounts,
    ReportPlan,
    ReportSummary,
)

REPORT_HASH = "ab" * 32
"""The hash of the report `report_summary()` describes by default."""


def report_summary(
    report_hash: str = REPORT_HASH,
    *,
    unchanged: int = 80,
    changed: int = 10,
    missing: int = 10,
    already_promoted: int = 0,
    refresh: int = 0,
) -> bytes:
    """The reconciliation summary of replay ns/r (uid u-1) over two partitions of 100 records each."""
    replayed = unchanged + changed + missing
    counts = ReportCounts(
        replayed_records=replayed,
        replayed_ids=replayed,
        duplicates=0,
        replayed_unidentified=0,
        existing_records=replayed,
        existing_ids=replayed,
        superseded=0,
        unidentified=0,
        unchanged=unchanged,
        changed=changed,
        missing=missing,
        extra=0,
        already_promoted=already_promoted,
    )
    ranges = [PlannedRange(partition=p, start_offset=0, end_offset=100) for p in (0, 1)]
    plan = ReportPlan(
        replay=ReplayRef(namespace="ns", name="r", uid="u-1"),
        sandbox_topic="eventreplay.ns.r.sandbox",
        sandbox=ranges,
        existing_topic="orders-out",
        existing=ranges,
        event_id=EventIdPlan(source="key"),
        canonical=CanonicalPlan(form="sorted-key-json+headers/v1", headers=[]),
        refresh=refresh,
    )
    report = Report(
        counts=counts,
        replayed_checksum="1" * 64,
        existing_checksum="2" * 64,
        samples=ClassSamples(unchanged=[], changed=[], missing=[], extra=[]),
        delta_by_partition={"0": changed + missing},
        plan=plan,
    )
    summary = ReportSummary(
        report_hash=report_hash,
        report=report,
        run="run1",
        bucket_bits=4,
        report_topic="eventreplay.ns.r.report",
        completed_at="2026-11-20T12:00:00Z",
    )
    return summary.to_json()


def combine_summary(*, results: int = 42, late: int = 3, no_event_time: int = 1) -> bytes:
    """The combine summary of replay ns/r's windowed aggregate."""
    summary = CombineSummary(
        results_topic="eventreplay.ns.r.results",
        results=results,
        windows=7,
        counts=CombineCounts(events=results + late + no_event_time, late=late, no_event_time=no_event_time),
        digest="d" * 64,
        rewritten=True,
        completed_at="2026-11-20T12:00:00Z",
    )
    return summary.to_json()
