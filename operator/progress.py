"""Status from facts, purely: plan + worker checkpoints + Job states -> progress, totals, conditions.

Rate and ETA come from checkpoint timestamps (offsets committed since the first worker started),
so they are reproducible from the same checkpoints and need no memory between timer runs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.exit_codes import POISON_RATIO_EXCEEDED

from . import conditions as cond
from .api.v1alpha1 import EventReplaySpec, PartitionProgress, Plan, Progress, Totals
from .conditions import Want, kstatus
from .job_state import JobView
from .planner import duration, format_time, ranges_text
from .retention import RETENTION_RISK

MAX_MESSAGE = 300


def partitions(
    plan: Plan,
    jobs: dict[int, JobView],
    checkpoints: dict[int, Checkpoint],
    recorded: dict[int, PartitionProgress] | None = None,
) -> list[PartitionProgress]:
    """Each partition's progress; one `recorded` Done under this plan whose Job is gone (expired
    once the replay was promoted) stays as recorded."""
    result: list[PartitionProgress] = []
    for part in plan.partitions:
        job = jobs.get(part.partition)
        kept = (recorded or {}).get(part.partition)
        if job is None and kept is not None and kept.state == "Done":
            result.append(kept)
            continue
        ckpt = checkpoints.get(part.partition)
        if ckpt is not None and (ckpt.start_offset, ckpt.end_offset) != (part.start_offset, part.end_offset):
            ckpt = None  # not this plan's range: ignore rather than mis-report
        entry = PartitionProgress(partition=part.partition, state="Pending")
        if ckpt is not None:
            entry = PartitionProgress(
                partition=part.partition,
                state="Pending",
                committed_offset=ckpt.committed_offset,
                emitted=ckpt.emitted,
                duplicate=ckpt.duplicate,
                processed=ckpt.processed,
                dead_lettered=ckpt.dead_lettered,
                percent=max(0, min(100, int(ckpt.percent))),
            )
        if part.records == 0 or (job is not None and job.state == "Succeeded"):
            entry = entry.model_copy(update={"state": "Done", "percent": 100})
        elif job is not None and job.state == "Failed":
            why = ckpt.message if ckpt is not None and ckpt.state == "failed" and ckpt.message else job.message
            entry = entry.model_copy(update={"state": "Failed", "message": why[:MAX_MESSAGE] or "the Job failed"})
        elif job is not None:
            entry = entry.model_copy(update={"state": job.state})
        if job is not None:
            entry = entry.model_copy(update={"job": job.name, "attempt": job.attempt})
        result.append(entry)
    return result


def totals(plan: Plan, checkpoints: dict[int, Checkpoint]) -> Totals:
    t = Totals(records=plan.records)
    reasons: dict[str, int] = {}
    for ckpt in checkpoints.values():
        t.emitted += ckpt.emitted
        t.duplicate += ckpt.duplicate
        t.processed += ckpt.processed
        t.dead_lettered += ckpt.dead_lettered
        t.skipped_offsets += ckpt.skipped_offsets
        t.bytes_in += ckpt.bytes_in
        t.bytes_out += ckpt.bytes_out
        for reason, count in ckpt.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
    t.read = t.emitted + t.duplicate + t.processed + t.dead_lettered
    t.dead_letter_reasons = dict(sorted(reasons.items()))
    return t


def progress(plan: Plan, parts: list[PartitionProgress], checkpoints: dict[int, Checkpoint]) -> Progress:
    spans = {p.partition: p for p in plan.partitions}
    advanced = 0
    for entry in parts:
        span = spans[entry.partition]
        if entry.state == "Done":
            advanced += span.records
        elif entry.committed_offset is not None:
            advanced += max(0, min(entry.committed_offset, span.end_offset) - span.start_offset)
    done = sum(1 for p in parts if p.state == "Done")
    failed = sum(1 for p in parts if p.state == "Failed")
    running = sum(1 for p in parts if p.state == "Running")
    started = [c.started_at for c in checkpoints.values() if c.started_at > 0]
    updated = [c.updated_at for c in checkpoints.values() if c.updated_at > 0]
    moved = sum(max(0, c.committed_offset - c.start_offset) for c in checkpoints.values())
    elapsed = (max(updated) - min(started)) if started and updated else 0.0
    rate = moved / elapsed if elapsed > 0 else 0.0
    remaining = max(0, plan.records - advanced)
    eta = int(remaining / rate) if rate > 0 and remaining > 0 and failed + done < len(parts) else None
    percent = 100 if done == len(parts) else min(99, int(100 * advanced / plan.records)) if plan.records else 0
    newest = max(updated) if updated else None
    return Progress(
        partitions=f"{done}/{len(parts)}",
        partitions_done=done,
        partitions_failed=failed,
        partitions_running=running,
        partitions_total=len(parts),
        percent=percent,
        events_per_second=round(rate, 1),
        eta_seconds=eta,
        eta=duration(eta) if eta is not None else None,
        updated_at=format_time(datetime.fromtimestamp(newest, UTC)) if newest else None,
    )


def replay_conditions(spec: EventReplaySpec, plan: Plan, parts: list[PartitionProgress], t: Totals) -> list[Want]:
    """Ready / Reconciling / Stalled / Planned / Replayed once a plan exists."""
    planned = Want(
        cond.PLANNED,
        "True",
        "Planned",
        f"{len(plan.partitions)} partitions, {plan.records} records of {plan.topic} as of {plan.as_of} "
        f"(plan {plan.hash})" + "".join(f"; {note}" for note in plan.notes if note.startswith(RETENTION_RISK)),
    )
    if spec.dry_run:
        msg = "dry run: plan only; set spec.dryRun to false to replay"
        return [
            *kstatus("Ready", "DryRun", msg, explain_idle=True),
            planned,
            Want(cond.REPLAYED, "False", "DryRun", msg),
        ]
    failed = [p for p in parts if p.state == "Failed"]
    if all(p.state in ("Done", "Failed") for p in parts):
        if not failed:
            msg = (
                f"{t.read} records read: {t.emitted} emitted, {t.duplicate} duplicate, {t.processed} "
                f"already processed, {t.dead_lettered} dead-lettered"
            )
            return [*kstatus("Ready", "Replayed", msg), planned, Want(cond.REPLAYED, "True", "Replayed", msg)]
        # The poison breaker's own reason: retrying the same window would stop the same way.
        poisoned = any(POISON_RATIO_EXCEEDED in (p.message or "") for p in failed)
        reason = POISON_RATIO_EXCEEDED if poisoned else "PartitionsFailed"
        msg = failure_message(failed) + ("" if poisoned else "; bump spec.retry to retry them")
        return [*kstatus("Stalled", reason, msg), planned, Want(cond.REPLAYED, "False", reason, msg)]
    done = sum(1 for p in parts if p.state == "Done")
    reason = "Suspended" if spec.suspend else "Replaying"
    msg = f"{done}/{len(parts)} partitions done" + (f"; {failure_message(failed)}" if failed else "")
    if spec.suspend:
        msg += "; suspended (clear spec.suspend to resume)"
    state = kstatus("Waiting" if spec.suspend else "InProgress", reason, msg)
    return [*state, planned, Want(cond.REPLAYED, "False", reason, msg)]


def failure_message(failed: list[PartitionProgress]) -> str:
    details = "; ".join(f"{p.partition}: {p.message}" for p in failed[:3])
    more = f" (+{len(failed) - 3} more)" if len(failed) > 3 else ""
    return f"partitions {ranges_text([p.partition for p in failed])} failed ({details}{more})"


def refused_conditions(reason: str, message: str) -> list[Want]:
    """An impossible plan: Stalled with the planner's reason; no Job will start."""
    return [*kstatus("Stalled", reason, message), Want(cond.PLANNED, "False", reason, message)]


def waiting_conditions(reason: str, message: str) -> list[Want]:
    """Planning could not finish yet (e.g. Kafka unreachable): still reconciling, not stalled."""
    return [*kstatus("InProgress", reason, message), Want(cond.PLANNED, "False", reason, message)]


def placeholder_conditions(spec: EventReplaySpec) -> list[Want]:
    """Reconciled/Promoted until the reconciliation step owns them."""
    promoted = (
        Want(cond.PROMOTED, "False", "PolicyNever", "promotion.policy is Never: sandbox only")
        if spec.promotion.policy == "Never"
        else Want(cond.PROMOTED, "Unknown", "AwaitingReconciliation")
    )
    return [Want(cond.RECONCILED, "Unknown", "AwaitingReplay"), promoted]
