"""The reconciliation step: the diff Job comparing the sandbox with the existing output, and its
report (read from Redis once, then recorded in status.reconciliation for good).
"""

from __future__ import annotations

import msgspec

from eventreplay.worker.contract.names import Tenant, report_key
from eventreplay.worker.contract.summaries import ReportSummary

from ..api.v1alpha1 import ReconciliationStatus, ReportRange, ReportSamples
from ..clients import CheckpointPort
from .facts import Decision, Facts
from .follow import StepReasons, StepText, StepWords, follow_step_job


def reconciliation_from(summary: ReportSummary, job: str) -> ReconciliationStatus:
    """status.reconciliation from the report the Job stored in Redis."""
    report, counts, samples = summary.report, summary.report.counts, summary.report.samples
    return ReconciliationStatus(
        report_hash=summary.report_hash,
        unchanged=counts.unchanged,
        changed=counts.changed,
        missing=counts.missing,
        extra=counts.extra,
        replayed_ids=counts.replayed_ids,
        existing_ids=counts.existing_ids,
        duplicates=counts.duplicates,
        superseded=counts.superseded,
        already_promoted=counts.already_promoted,
        unidentified=counts.unidentified,
        replayed_checksum=report.replayed_checksum,
        existing_checksum=report.existing_checksum,
        existing_topic=report.plan.existing_topic,
        report_topic=summary.report_topic,
        report_partitions=_report_ranges(summary),
        samples=ReportSamples(
            unchanged=samples.unchanged, changed=samples.changed, missing=samples.missing, extra=samples.extra
        ),
        refresh=report.plan.refresh,
        delta_by_partition=dict(report.delta_by_partition) or None,
        job=job,
        completed_at=summary.completed_at,
    )


def _report_ranges(summary: ReportSummary) -> list[ReportRange] | None:
    """Where the report's records are (None: a summary from before they were recorded)."""
    if isinstance(summary.report_ranges, msgspec.UnsetType):
        return None
    return [
        ReportRange(partition=r.partition, start_offset=r.start_offset, end_offset=r.end_offset)
        for r in summary.report_ranges
    ]


def read_report(reader: CheckpointPort, url: str, tenant: Tenant, uid: str, job: str) -> ReconciliationStatus | None:
    """The report the reconciliation Job left in Redis; None when it is not (or no longer) there."""
    raw = reader.get(url, report_key(tenant, uid))
    if raw is None:
        return None
    return reconciliation_from(ReportSummary.from_json(raw), job)


def report_summary(r: ReconciliationStatus) -> str:
    return (
        f"report {r.report_hash}: {r.unchanged} unchanged, {r.changed} changed, {r.missing} missing, "
        f"{r.extra} extra (ids listed on {r.report_topic})"
    )


RECONCILIATION = StepWords(
    "reconcile",
    StepReasons("Reconciling", "ReconciliationFailed", "Failed", "ReportMissing", "ReportMissing"),
    StepText("reconciliation", "comparing the sandbox with the existing output", "report", "the report"),
)


def decide_reconciliation(f: Facts) -> Decision:
    """While no report is recorded: start, follow, retry or give up on the reconciliation Job."""
    return follow_step_job(RECONCILIATION, f.spec.retry, f.reconcile_job, f.failure, f.unavailable)
