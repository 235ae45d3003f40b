"""The promotion step: the gate (`gate.py`) and the promotion Job, one per approved report.

A recorded promotion of the current report is final: re-applying the replay promotes nothing.
Nothing here creates a promotion Job unless the gate is open; a Job already running or failed
is still followed when the approval is withdrawn.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from eventreplay.worker.contract.checkpoints import PromotionCheckpoint, combine_digests, rewritten_ids
from eventreplay.worker.contract.exit_codes import CLAIM_HELD
from eventreplay.worker.contract.names import Tenant

from .. import conditions as cond
from ..api.v1alpha1 import Plan, PromotionStatus, ReconciliationStatus
from ..api.v1alpha1.rollout import RolloutStepStatus
from ..clients import CheckpointPort
from ..conditions import Want, kstatus
from ..job_state import JobView
from ..planner import format_time
from .facts import Decision, Facts, LegacyClaims, failed, in_progress, stalled
from .gate import Gate
from .gate import decide as gate_decide
from .reconciliation import report_summary
from .rollout import ABORTED, PAUSED, STEPPED, RolloutVerdict, decide_rollout


def promotion_from(report_hash: str, mirrors: dict[int, PromotionCheckpoint], job: str, now: str) -> PromotionStatus:
    """status.promotion from the per-partition promotion checkpoints (their digests, combined as the Job does)."""
    mine = [c for c in mirrors.values() if c.report_hash == report_hash and c.state == "done"]
    return PromotionStatus(
        report_hash=report_hash,
        written=sum(c.written for c in mine),
        skipped_identical=sum(c.skipped_identical for c in mine),
        skipped_duplicate=sum(c.skipped_duplicate for c in mine),
        already_promoted=sum(c.already_promoted for c in mine),
        rewritten=sum(c.rewritten for c in mine),
        rewritten_ids=rewritten_ids(c.rewritten_ids for c in mine),
        sha256=combine_digests((c.partition, c.digest) for c in mine),
        job=job,
        completed_at=now,
    )


def read_promotion(
    reader: CheckpointPort,
    url: str,
    tenant: Tenant,
    uid: str,
    plan: Plan,
    *,
    report_hash: str,
    job: str,
    old: PromotionStatus | None,
    now: str,
) -> PromotionStatus | None:
    """The finished promotion of `report_hash` from its checkpoints; None until one says done."""
    # The sandbox has the source's partition count (the operator created it so).
    mirrors = reader.promotions(url, tenant, uid, range(plan.topic_partitions))
    if not any(c.report_hash == report_hash and c.state == "done" for c in mirrors.values()):
        return None
    done = promotion_from(report_hash, mirrors, job, now)
    ours = old is not None and old.report_hash == report_hash
    started = old.started_at if ours and old is not None else None
    rollout = old.rollout if ours and old is not None else None
    if rollout is not None:  # its last step finished the promotion
        handled = (done.written or 0) + (done.already_promoted or 0) + (done.rewritten or 0)
        last = RolloutStepStatus(index=rollout.total_steps, handled=handled, completed_at=now)
        rollout = rollout.model_copy(update={"steps": [*rollout.steps, last], "phase": "Completed"})
    return done.model_copy(update={"started_at": started, "rollout": rollout})


def with_wait(promo: PromotionStatus, mirrors: dict[int, PromotionCheckpoint]) -> PromotionStatus:
    """status.promotion with the wait its running promoter mirrors (another replay's claim on an
    id in the sink, the longest-held one), or with none."""
    waits = [
        c for c in mirrors.values() if c.report_hash == promo.report_hash and c.blocked_by and c.state == "running"
    ]
    first = min(waits, key=lambda c: c.blocked_since) if waits else None
    since = format_time(datetime.fromtimestamp(first.blocked_since, UTC)) if first is not None else None
    return promo.model_copy(update={"blocked_by": first.blocked_by if first else None, "blocked_since": since})


def wait_message(promo: PromotionStatus, sink: str) -> str:
    return (
        f"{CLAIM_HELD}: waiting since {promo.blocked_since} on replay {promo.blocked_by}, whose promotion into "
        f"{sink} holds an open claim on an id this one promotes; the promoter retries until that one commits"
    )


LEGACY_CLAIMS_OPEN = "LegacyClaimsOpen"
"""The reason a promotion waits for a chart 0.1.0 promotion into the same sink to commit."""


def legacy_hold(claims: LegacyClaims | None, reconciled: Want) -> Decision | None:
    """A new promotion of this sink waits while a 0.1.0 promotion holds open claims in the sink's
    legacy ledger: its promoter would not see them, and could write an id that one is writing."""
    if claims is None or claims.count <= 0:
        return None
    msg = (
        f"{claims.count} open claims of a chart 0.1.0 promotion in {claims.key}: promotions into this sink "
        "wait until it commits (its entries are then carried into the sink's ledger)"
    )
    held = Want(cond.PROMOTED, "False", LEGACY_CLAIMS_OPEN, msg)
    return Decision(in_progress(LEGACY_CLAIMS_OPEN, msg, reconciled, held))


def decide_promotion(f: Facts, rec: ReconciliationStatus) -> Decision:
    """Once the report is recorded: the gate, then the promotion Job of that report."""
    summary = report_summary(rec)
    reconciled = Want(cond.RECONCILED, "True", "Reconciled", summary)
    promo, pj = f.promotion, f.promote_job
    if promo is not None and promo.report_hash == rec.report_hash and promo.completed_at:
        msg = (
            f"{promo.written} written, {promo.skipped_identical} skipped as identical to {f.spec.sink.topic} "
            f"(sha256 {promo.sha256})"
        )
        if promo.rewritten:
            msg += f"; {promo.rewritten} left as production rewrote them after the report"
        return Decision([*kstatus("Ready", "Promoted", msg), reconciled, Want(cond.PROMOTED, "True", "Promoted", msg)])
    if pj is None and rec.existing_topic is not None and rec.existing_topic != f.spec.compared_topic:
        msg = (
            f"the report {rec.report_hash} compared with {rec.existing_topic}, not {f.spec.compared_topic}: "
            "it was made for another sink and is never promoted into this one"
        )
        mismatch = Want(cond.PROMOTED, "False", "ReportSinkMismatch", msg)
        return Decision([*kstatus("Stalled", "ReportSinkMismatch", msg), reconciled, mismatch])
    gate = gate_decide(f.spec.promotion, rec, f.totals)
    if pj is None and not gate.open:
        closed = Want(cond.PROMOTED, "False", gate.reason, gate.message)
        if gate.reason == "PolicyNever":
            return Decision([*kstatus("Ready", "Reconciled", summary), reconciled, closed], gate_reason=gate.reason)
        # A closed gate waits for a person: neither working (Reconciling) nor broken (Stalled).
        waiting = kstatus("Waiting", gate.reason, gate.message)
        return Decision([*waiting, reconciled, closed], gate_reason=gate.reason)
    retry = pj is not None and pj.state == "Failed" and pj.attempt < f.spec.retry and gate.open
    verdict = decide_rollout(f.rollout) if f.rollout is not None else None
    starts = verdict is not None and verdict.step is not None and not verdict.follow and gate.open
    held = legacy_hold(f.legacy_claims, reconciled) if pj is None or retry or starts else None
    if held is not None:
        return held
    if verdict is not None and not verdict.follow:
        return rollout_decision(verdict, gate, reconciled)
    followed = _follow(f, pj, gate, reconciled, retry=retry)
    if verdict is None:
        return followed
    return replace(followed, rollout_step=verdict.step if followed.create else None, rollout=verdict.status)


def _follow(f: Facts, pj: JobView | None, gate: Gate, reconciled: Want, *, retry: bool) -> Decision:
    """The promotion Job (of the rollout's current step): start, retry, give up on it, or wait for it."""
    report = f.reconciliation.report_hash if f.reconciliation is not None else ""
    promoting = Want(cond.PROMOTED, "False", "Promoting", f"promoting the delta of report {report}")
    if pj is None:
        return Decision(in_progress("Promoting", gate.message, reconciled, promoting), "promote", 0, gate.reason)
    if retry:
        return Decision(in_progress("Promoting", "promotion retried", reconciled, promoting), "promote", f.spec.retry)
    if pj.state == "Failed":
        msg = "promotion " + failed(pj, f.failure)
        return Decision(stalled("PromotionFailed", msg, reconciled, Want(cond.PROMOTED, "False", "Failed", msg)))
    if pj.state == "Succeeded":
        why = f.unavailable or "its checkpoints are not in Redis"
        return Decision(in_progress("RedisUnavailable", f"cannot read the promotion result yet: {why}", reconciled))
    promo = f.promotion
    if promo is not None and promo.report_hash == pj.report_hash and promo.blocked_by:
        msg = wait_message(promo, f.spec.sink.topic)
        blocked = Want(cond.PROMOTED, "False", "PromotionBlocked", msg)
        return Decision(in_progress("PromotionBlocked", msg, reconciled, blocked))
    return Decision(in_progress("Promoting", f"promotion Job {pj.name} running", reconciled, promoting))


def rollout_decision(verdict: RolloutVerdict, gate: Gate, reconciled: Want) -> Decision:
    """What a rollout between its steps wants: the next step's Job, a wait, a pause or its end."""
    msg, status = verdict.message, verdict.status
    want = Want(cond.PROMOTED, "False", verdict.reason, msg)
    if verdict.reason == ABORTED:
        return Decision([*kstatus("Stalled", ABORTED, msg), reconciled, want], rollout=status)
    if verdict.reason == PAUSED:  # a person resumes or aborts through the spec
        return Decision([*kstatus("Waiting", PAUSED, msg), reconciled, want], rollout=status)
    if verdict.step is not None and not gate.open:  # approval withdrawn between steps: no next step
        closed = Want(cond.PROMOTED, "False", gate.reason, gate.message)
        return Decision([*kstatus("Waiting", gate.reason, gate.message), reconciled, closed], rollout=status)
    if verdict.step is not None:
        wants = in_progress(STEPPED, msg, reconciled, want)
        return Decision(wants, "promote", 0, gate.reason, rollout_step=verdict.step, rollout=status)
    return Decision(in_progress(STEPPED, msg, reconciled, want), rollout=status)
