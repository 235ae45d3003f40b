"""The reconciliation step: the diff Job comparing the sandbox with the existing output, and its
report (read from Redis once, then recorded in status.reconciliation for good).
"""

from __future__ import annotations

from typing import Any

import orjson

from eventreplay.worker.contract.names import report_key

from ..api.v1alpha1 import ReconciliationStatus, ReportSamples
from ..clients import CheckpointPort
from .facts import Decision, Facts
from .follow import StepWords, follow_step_job


def reconciliation_from(summary: dict[str, Any], job: str) -> ReconciliationStatus:
    """status.reconciliation from the report the Job stored in Redis."""
    report = summary["report"]
    counts = report["counts"]
    samples = report.get("samples") or {}
    return ReconciliationStatus(
        report_hash=summary["reportHash"],
        unchanged=counts["unchanged"],
        changed=counts["changed"],
        missing=counts["missing"],
        extra=counts["extra"],
        replayed_ids=counts.get("replayedIds"),
        existing_ids=counts.get("existingIds"),
        duplicates=counts.get("duplicates"),
        superseded=counts.get("superseded"),
        already_promoted=counts.get("alreadyPromoted"),
        unidentified=counts.get("unidentified"),
        replayed_checksum=report.get("replayedChecksum"),
        existing_checksum=report.get("existingChecksum"),
        existing_topic=(report.get("plan") or {}).get("existingTopic"),
        report_topic=summary.get("reportTopic"),
        samples=ReportSamples(**{k: list(samples.get(k) or []) for k in ("unchanged", "changed", "missing", "extra")}),
        refresh=int((report.get("plan") or {}).get("refresh", 0)),
        job=job,
        completed_at=summary.get("completedAt"),
    )


def read_report(reader: CheckpointPort, url: str, uid: str, job: str) -> ReconciliationStatus | None:
    """The report the reconciliation Job left in Redis; None when it is not (or no longer) there."""
    raw = reader.get(url, report_key(uid))
    if raw is None:
        return None
    return reconciliation_from(orjson.loads(raw), job)


def report_summary(r: ReconciliationStatus) -> str:
    return (
        f"report {r.report_hash}: {r.unchanged} unchanged, {r.changed} changed, {r.missing} missing, "
        f"{r.extra} extra (ids listed on {r.report_topic})"
    )


RECONCILIATION = StepWords(
    step="reconcile",
    noun="reconciliation",
    working="Reconciling",
    pending="comparing the sandbox with the existing output",
    failed="ReconciliationFailed",
    failed_reconciled="Failed",
    output="report",
    reading="the report",
    missing="ReportMissing",
    missing_reconciled="ReportMissing",
)


def decide_reconciliation(f: Facts) -> Decision:
    """While no report is recorded: start, follow, retry or give up on the reconciliation Job."""
    return follow_step_job(RECONCILIATION, f.spec.retry, f.reconcile_job, f.failure, f.unavailable)
