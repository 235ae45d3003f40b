"""The stage after the replay, purely: facts about the reconciliation/promotion Jobs and the report
-> which Job to create, the conditions, and status.reconciliation / status.promotion.

Level-based like `schedule.py`: it looks only at what exists now (Jobs, the report recorded in
status, the promotion checkpoints), so it asks for the same Job however often it runs, and a
recorded promotion of the current report is final (re-applying the replay promotes nothing).
Nothing here creates a promotion Job unless `gate.decide` opened the gate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eventreplay.worker.contract.checkpoints import PromotionCheckpoint, combine_digests

from . import conditions as cond
from .api.v1alpha1 import EventReplaySpec, PromotionStatus, ReconciliationStatus, ReportSamples, Totals
from .conditions import Want
from .delta_jobs import ANNOTATION_REPORT, LABEL_STEP, Step
from .gate import decide as gate_decide
from .jobs import LABEL_ATTEMPT
from .schedule import JobState, job_view

MAX_MESSAGE = 500


@dataclass(frozen=True)
class StepJob:
    """A reconciliation or promotion Job as seen in the cluster."""

    name: str
    step: str
    attempt: int
    state: JobState
    message: str = ""
    report_hash: str = ""


def step_jobs(raw: Iterable[dict[str, Any]]) -> list[StepJob]:
    out: list[StepJob] = []
    for job in raw:
        meta = job.get("metadata") or {}
        labels = meta.get("labels") or {}
        step = labels.get(LABEL_STEP)
        if step not in ("reconcile", "promote"):
            continue
        # job_view reads the partition label; give it a stand-in to reuse its state logic.
        view = job_view({**job, "metadata": {**meta, "labels": {**labels, "eventreplay.io/partition": "0"}}})
        if view is None:
            continue
        report = (meta.get("annotations") or {}).get(ANNOTATION_REPORT, "")
        attempt = int(labels.get(LABEL_ATTEMPT, "0") or 0)
        out.append(StepJob(view.name, step, attempt, view.state, view.message, report))
    return out


def newest(jobs: Iterable[StepJob], step: Step, report_hash: str = "") -> StepJob | None:
    found = [j for j in jobs if j.step == step and (step == "reconcile" or j.report_hash == report_hash)]
    return max(found, key=lambda j: j.attempt) if found else None


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
        unidentified=counts.get("unidentified"),
        replayed_checksum=report.get("replayedChecksum"),
        existing_checksum=report.get("existingChecksum"),
        existing_topic=(report.get("plan") or {}).get("existingTopic"),
        report_topic=summary.get("reportTopic"),
        samples=ReportSamples(**{k: list(samples.get(k) or []) for k in ("unchanged", "changed", "missing", "extra")}),
        job=job,
        completed_at=summary.get("completedAt"),
    )


def promotion_from(report_hash: str, mirrors: dict[int, PromotionCheckpoint], job: str, now: str) -> PromotionStatus:
    """status.promotion from the per-partition promotion checkpoints (their digests, combined as the Job does)."""
    mine = [c for c in mirrors.values() if c.report_hash == report_hash and c.state == "done"]
    return PromotionStatus(
        report_hash=report_hash,
        written=sum(c.written for c in mine),
        skipped_identical=sum(c.skipped_identical for c in mine),
        skipped_duplicate=sum(c.skipped_duplicate for c in mine),
        sha256=combine_digests((c.partition, c.digest) for c in mine),
        job=job,
        completed_at=now,
    )


def report_summary(r: ReconciliationStatus) -> str:
    return (
        f"report {r.report_hash}: {r.unchanged} unchanged, {r.changed} changed, {r.missing} missing, "
        f"{r.extra} extra (ids listed on {r.report_topic})"
    )


@dataclass(frozen=True)
class Facts:
    spec: EventReplaySpec
    totals: Totals | None
    reconciliation: ReconciliationStatus | None
    """The report recorded in status (or just read from Redis); None until there is one."""
    promotion: PromotionStatus | None
    reconcile_job: StepJob | None
    promote_job: StepJob | None
    """The newest promotion Job of the current report."""
    failure: str = ""
    """The worker's own message for a failed Job (Redis), when there is one."""
    unavailable: str = ""
    """Why Redis could not be read this time ('' when it could)."""


@dataclass(frozen=True)
class Decision:
    wants: list[Want]
    create: Step | None = None
    attempt: int = 0
    gate_reason: str = ""


def _working(reason: str, message: str, *extra: Want) -> list[Want]:
    return [
        Want(cond.READY, "False", reason, message),
        Want(cond.RECONCILING, "True", reason, message),
        Want(cond.STALLED, "False", reason),
        *extra,
    ]


def _stalled(reason: str, message: str, *extra: Want) -> list[Want]:
    message = message[:MAX_MESSAGE] + "; bump spec.retry to retry"
    return [
        Want(cond.READY, "False", reason, message),
        Want(cond.RECONCILING, "False", reason, message),
        Want(cond.STALLED, "True", reason, message),
        *extra,
    ]


def _failed(job: StepJob, failure: str) -> str:
    return f"Job {job.name} failed: {failure or job.message or 'no message'}"


def decide(f: Facts) -> Decision:
    """What the stage wants, once every partition is replayed."""
    retry, rj, rec = f.spec.retry, f.reconcile_job, f.reconciliation
    if rec is None or rec.report_hash is None:
        pending = Want(cond.RECONCILED, "False", "Reconciling", "comparing the sandbox with the existing output")
        if rj is None:
            return Decision(_working("Reconciling", "reconciliation Job started", pending), "reconcile", 0)
        if rj.state == "Failed" and rj.attempt < retry:
            return Decision(_working("Reconciling", "reconciliation retried", pending), "reconcile", retry)
        if rj.state == "Failed":
            msg = "reconciliation " + _failed(rj, f.failure)
            return Decision(_stalled("ReconciliationFailed", msg, Want(cond.RECONCILED, "False", "Failed", msg)))
        if rj.state == "Succeeded" and f.unavailable:
            return Decision(_working("RedisUnavailable", f"cannot read the report yet: {f.unavailable}", pending))
        if rj.state == "Succeeded":
            msg = f"reconciliation Job {rj.name} succeeded but its report is gone from Redis (expired?)"
            return Decision(_stalled("ReportMissing", msg, Want(cond.RECONCILED, "False", "ReportMissing", msg)))
        return Decision(_working("Reconciling", f"reconciliation Job {rj.name} running", pending))

    summary = report_summary(rec)
    reconciled = Want(cond.RECONCILED, "True", "Reconciled", summary)
    promo, pj = f.promotion, f.promote_job
    if promo is not None and promo.report_hash == rec.report_hash and promo.completed_at:
        msg = (
            f"{promo.written} written, {promo.skipped_identical} skipped as identical to {f.spec.sink.topic} "
            f"(sha256 {promo.sha256})"
        )
        return Decision(
            [
                Want(cond.READY, "True", "Promoted", msg),
                Want(cond.RECONCILING, "False", "Promoted"),
                Want(cond.STALLED, "False", "Promoted"),
                reconciled,
                Want(cond.PROMOTED, "True", "Promoted", msg),
            ]
        )
    gate = gate_decide(f.spec.promotion, rec, f.totals)
    promoting = Want(cond.PROMOTED, "False", "Promoting", f"promoting the delta of report {rec.report_hash}")
    if pj is None and not gate.open:
        closed = Want(cond.PROMOTED, "False", gate.reason, gate.message)
        if gate.reason == "PolicyNever":
            return Decision(
                [
                    Want(cond.READY, "True", "Reconciled", summary),
                    Want(cond.RECONCILING, "False", "Reconciled"),
                    Want(cond.STALLED, "False", "Reconciled"),
                    reconciled,
                    closed,
                ],
                gate_reason=gate.reason,
            )
        # A closed gate waits for a person: neither working (Reconciling) nor broken (Stalled).
        return Decision(
            [
                Want(cond.READY, "False", gate.reason, gate.message),
                Want(cond.RECONCILING, "False", gate.reason, gate.message),
                Want(cond.STALLED, "False", gate.reason),
                reconciled,
                closed,
            ],
            gate_reason=gate.reason,
        )
    if pj is None:
        return Decision(_working("Promoting", gate.message, reconciled, promoting), "promote", 0, gate.reason)
    if pj.state == "Failed" and pj.attempt < retry and gate.open:
        return Decision(_working("Promoting", "promotion retried", reconciled, promoting), "promote", retry)
    if pj.state == "Failed":
        msg = "promotion " + _failed(pj, f.failure)
        return Decision(_stalled("PromotionFailed", msg, reconciled, Want(cond.PROMOTED, "False", "Failed", msg)))
    if pj.state == "Succeeded":
        why = f.unavailable or "its checkpoints are not in Redis"
        return Decision(_working("RedisUnavailable", f"cannot read the promotion result yet: {why}", reconciled))
    return Decision(_working("Promoting", f"promotion Job {pj.name} running", reconciled, promoting))
