"""The status phase: this pass's conditions, the approval record, finished-Job expiry, Events and
the status write, as a merge patch (or a JSON patch of the changed partitions) of what changed.

Every early stop of a pass (a refusal, a wait, a rejected Job) writes through here too
(`conditions_only`), so an unchanged replay costs one GET per tick and no write.
"""

from __future__ import annotations

from typing import Any

from .. import approval, metrics, progress
from .. import conditions as cond
from ..api.v1alpha1 import Condition, EventReplaySpec, EventReplayStatus
from ..conditions import Want
from ..events import Event, condition_events, partition_events
from ..kube import JobRejected
from ..pod_blocks import blocked_conditions, blocked_events, step_blocked_conditions, step_blocked_events
from ..status_patch import conditions_only_patch, partition_ops
from ..steps.post_replay import StepResult
from .context import Outcome, Pass, Planned, Replayed

PLACEHOLDER_REASONS = frozenset({"AwaitingReplay", "AwaitingReconciliation", "PolicyNever"})
"""Reasons of the Reconciled / Promoted placeholders: a condition still holding one is a placeholder."""


def merge_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch turning `old` into `new` (lists are replaced whole)."""
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            sub = merge_diff(before, value)
            if sub:
                patch[key] = sub
        elif value != before:
            patch[key] = value
    return patch


def finished_for_good(conds: list[Condition]) -> bool:
    """Nothing is left to run: promoted, or reconciled under a `Never` gate (Ready for good)."""
    ready = cond.get(conds, cond.READY)
    return ready is not None and ready.status == "True" and ready.reason in ("Promoted", "Reconciled")


def decide_placeholders(old: list[Condition], spec: EventReplaySpec | None) -> list[Want]:
    """Reconciled / Promoted placeholders, where no step has set them yet (nor once a spec is invalid)."""
    if spec is None:
        return []
    wants = []
    for want in progress.placeholder_conditions(spec):
        existing = cond.get(old, want.type)
        if existing is None or existing.reason in PLACEHOLDER_REASONS:
            wants.append(want)
    return wants


def finish(p: Pass, planned: Planned, replayed: Replayed, stepped: StepResult) -> Outcome:
    """Write the pass's status; hand a finished replay's Jobs to the TTL controller; its Events."""
    spec, plan, parts = planned.spec, planned.plan, replayed.parts
    wants = progress.replay_conditions(spec, plan, parts, replayed.totals) + blocked_conditions(parts, p.now)
    wants += decide_placeholders(p.old.conditions, spec)
    wants += stepped.wants + step_blocked_conditions(stepped.blocked, p.now) + p.notices
    promotion = approval.record(
        p.old.promotion,
        stepped.promotion,
        spec.promotion,
        stepped.reconciliation,
        annotations=p.annotations,
        now=p.stamp,
    )
    conds = cond.merge(p.old.conditions, wants, now=p.stamp, generation=p.generation)
    new = EventReplayStatus(
        observed_generation=p.generation,
        phase=cond.phase(conds, suspended=spec.suspend, dry_run=spec.dry_run),
        conditions=conds,
        observed_retry=spec.retry,
        plan=plan,
        partitions=parts,
        totals=replayed.totals,
        progress=progress.progress(plan, parts, replayed.checkpoints),
        aggregation=stepped.aggregation,
        reconciliation=stepped.reconciliation,
        promotion=promotion,
        blocked_step=stepped.blocked,
    )
    write(p, new)
    if finished_for_good(conds):
        # The outcome is in status: hand the finished Jobs (and so their pods) to the TTL controller.
        for view in planned.jobs:
            if view.terminal and view.ttl is None:
                p.c.kube.expire_job(p.ns, view.name, p.c.config.finished_job_ttl)
    events = condition_events(p.old.conditions, conds) + partition_events(plan, p.old.partitions, parts)
    events += blocked_events([] if p.replanned else p.old.partitions, parts)
    events += step_blocked_events(p.old.blocked_step, stepped.blocked)
    return Outcome(approval.approval_events(p.old.promotion, promotion) + events)


def stall(p: Pass, reason: str, message: str, spec: EventReplaySpec | None) -> Outcome:
    """Stalled on a refusal that a person (or a grown allowlist or policy) must lift."""
    return conditions_only(
        p, progress.refused_conditions(reason, message) + decide_placeholders(p.old.conditions, spec)
    )


def wait(p: Pass, spec: EventReplaySpec, reason: str, message: str) -> Outcome:
    """Still reconciling: Kafka could not be reached this time."""
    return conditions_only(
        p, progress.waiting_conditions(reason, message) + decide_placeholders(p.old.conditions, spec)
    )


def conditions_only(p: Pass, wants: list[Want], *, keep_rest: bool = False) -> Outcome:
    """Write only the conditions (and the phase): the rest of the status stays as it was."""
    conds = cond.merge(p.old.conditions, wants + p.notices, now=p.stamp, generation=p.generation)
    new = p.old.model_copy(
        update={
            "observed_generation": p.generation,
            "conditions": conds,
            "phase": cond.phase(conds, suspended=p.suspended, dry_run=p.dry_run),
        }
    )
    if keep_rest:  # the rest of the stored status did not validate: patch only these fields
        patch = conditions_only_patch(p.raw_status, new.to_wire())
        if patch:
            p.c.kube.patch_replay_status(p.ns, p.name, patch)
    else:
        write(p, new)
    return Outcome(condition_events(p.old.conditions, conds))


def job_rejected(p: Pass, err: JobRejected) -> Outcome:
    """A Job the API server will not create: Stalled until someone acts (a foreign Job holding
    the name, an invalid Job), or waiting while a quota or grant may still change (403); each
    says why in its condition and one Warning Event. Every pass tries again."""
    message = f"the API server refused a Job ({err})"
    if not err.retriable:
        return conditions_only(p, cond.kstatus("Stalled", "JobRejected", message))
    was = cond.get(p.old.conditions, cond.RECONCILING)
    outcome = conditions_only(p, cond.kstatus("InProgress", "JobCreateFailed", message + "; retrying"))
    if was is None or was.reason != "JobCreateFailed":
        outcome.events.append(Event("Warning", "JobCreateFailed", message))
    return outcome


def write(p: Pass, status: EventReplayStatus) -> None:
    """Write `status` as what changed since the last write: a JSON patch of the changed partitions
    when the list kept its shape, else a merge patch; nothing when nothing changed."""
    wire = status.to_wire()
    patch = merge_diff(p.raw_status, wire)
    if patch:
        ops = partition_ops(p.raw_status, wire, patch)
        if ops is not None:
            sent = p.c.kube.json_patch_replay_status(p.ns, p.name, ops)
        else:
            sent = p.c.kube.patch_replay_status(p.ns, p.name, patch)
        metrics.STATUS_PATCH_BYTES.labels(p.ns, p.name).inc(sent)
        p.raw_status = wire
