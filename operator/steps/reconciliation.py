"""The reconciliation step: the diff Job comparing the sandbox with the existing output, and its
report (read from Redis once, then recorded in status.reconciliation for good).
"""

from __future__ import annotations

from typing import Any

import orjson

from eventreplay.worker.contract.names import report_key

from .. import conditions as cond
from ..api.v1alpha1 import ReconciliationStatus, ReportSamples
from ..checkpoints import CheckpointReader
from ..conditions import Want
from .facts import Decision, Facts, failed, in_progress, stalled


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


def read_report(reader: CheckpointReader, url: str, uid: str, job: str) -> ReconciliationStatus | None:
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


def decide_reconciliation(f: Facts) -> Decision:
    """While no report is recorded: start, follow, retry or give up on the reconciliation Job."""
    retry, rj = f.spec.retry, f.reconcile_job
    pending = Want(cond.RECONCILED, "False", "Reconciling", "comparing the sandbox with the existing output")
    if rj is None:
        return Decision(in_progress("Reconciling", "reconciliation Job started", pending), "reconcile", 0)
    if rj.state == "Failed" and rj.attempt < retry:
        return Decision(in_progress("Reconciling", "reconciliation retried", pending), "reconcile", retry)
    if rj.state == "Failed":
        msg = "reconciliation " + failed(rj, f.failure)
        return Decision(stalled("ReconciliationFailed", msg, Want(cond.RECONCILED, "False", "Failed", msg)))
    if rj.state == "Succeeded" and f.unavailable:
        return Decision(in_progress("RedisUnavailable", f"cannot read the report yet: {f.unavailable}", pending))
    if rj.state == "Succeeded":
        msg = f"reconciliation Job {rj.name} succeeded but its report is gone from Redis (expired?)"
        return Decision(stalled("ReportMissing", msg, Want(cond.RECONCILED, "False", "ReportMissing", msg)))
    return Decision(in_progress("Reconciling", f"reconciliation Job {rj.name} running", pending))
