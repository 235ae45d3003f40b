"""The steps phase: once every partition is replayed, the post-replay steps (`steps/`) run, unless
a guard holds them: a dry run, an unbounded existing-output window, or spec.suspend (which also
suspends a running step Job; clearing it resumes the Job from its checkpoint).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Literal

from .. import conditions as cond
from ..api.v1alpha1 import EventReplaySpec, ReconciliationStatus
from ..conditions import Want
from ..job_state import JobView, newest_step
from ..kafka import KafkaUnavailable
from ..planner import window_times
from ..steps.post_replay import PostReplaySteps, StepResult
from . import pods
from .context import Pass, Planned, Replayed

log = logging.getLogger(__name__)

StepsChoice = Literal["wait", "unbounded", "suspend", "run"]
SUSPENDED = "replayed; suspended before reconciliation and promotion end (clear spec.suspend to resume)"


def decide_steps(spec: EventReplaySpec, *, replayed: bool, unbounded: str | None) -> StepsChoice:
    """Run the steps only for a real replay whose every partition is Done, and only when neither
    an unbounded existing output nor spec.suspend holds them."""
    if spec.dry_run or not replayed:
        return "wait"
    if unbounded is not None:
        return "unbounded"
    return "suspend" if spec.suspend else "run"


def decide_sizing(
    spec: EventReplaySpec, now: datetime, recorded: ReconciliationStatus | None, jobs: list[JobView]
) -> str | None:
    """The destination topic to size before reconciliation starts: an offsets window with no
    explicit existing-output window reads the whole retained destination. None: nothing to size."""
    rc = spec.reconciliation
    if window_times(spec, now) is not None or rc.existing_offsets is not None or rc.existing_timestamps:
        return None
    if recorded is not None or newest_step(jobs, "reconcile") is not None:
        return None  # decided already (a Job exists or a report is recorded)
    return spec.compared_topic


def decide_unbounded(topic: str, retained: int | None, limit: int) -> str | None:
    """Why reconciliation may not start (None: it may): above the operator's limit the existing
    output's window must be given."""
    if retained is None or retained <= limit:
        return None
    return (
        f"an offsets window compares with the whole retained {topic} ({retained} records > {limit}): "
        "set spec.reconciliation.existingOffsets or existingTimestamps"
    )


def decide_step_suspension(jobs: list[JobView], *, suspend: bool) -> list[str]:
    """The step Jobs to flip: the running ones to suspend, or the suspended ones to resume."""
    flip = "Running" if suspend else "Suspended"
    return [view.name for view in jobs if view.step is not None and view.state == flip]


def run(p: Pass, planned: Planned, replayed: Replayed) -> StepResult:
    """The steps' conditions and records (the stored ones while the steps wait)."""
    spec, jobs = planned.spec, planned.jobs
    unbounded = _unbounded(p, spec, jobs) if not spec.dry_run and replayed.done else None
    choice = decide_steps(spec, replayed=replayed.done, unbounded=unbounded)
    kept = StepResult([], p.old.reconciliation, p.old.promotion, p.old.aggregation)
    if choice == "unbounded" and unbounded is not None:
        reason = "ExistingOutputUnbounded"
        wants = [*cond.kstatus("Stalled", reason, unbounded), Want(cond.RECONCILED, "False", reason, unbounded)]
        return replace(kept, wants=wants)
    if choice == "suspend":
        # No step Job starts, and a running one is suspended (its pod stops; a promotion's open
        # transaction aborts and resumes from its checkpoint, so nothing is written twice).
        for name in decide_step_suspension(jobs, suspend=True):
            p.c.kube.set_job_suspended(p.ns, name, True)
        return replace(kept, wants=cond.kstatus("Waiting", "Suspended", SUSPENDED))
    if choice == "wait":
        return kept
    for name in decide_step_suspension(jobs, suspend=False):
        p.c.kube.set_job_suspended(p.ns, name, False)
    # Replayed: reconcile, then promote through the gate (these wants override Ready & co.).
    steps = PostReplaySteps(p.c.kube, p.c.checkpoints, p.c.kafka, p.c.config, p.owner, p.stamp)
    result = steps.run(spec, planned.plan, replayed.totals, p.old, jobs)
    return replace(result, blocked=pods.step(p, jobs))


def _unbounded(p: Pass, spec: EventReplaySpec, jobs: list[JobView]) -> str | None:
    topic = decide_sizing(spec, p.now, p.old.reconciliation, jobs)
    if topic is None:
        return None
    try:
        retained = p.c.kafka.retained_records(spec.source.bootstrap_servers, topic)
    except KafkaUnavailable as err:
        log.warning("%s/%s: cannot size %s: %s", p.ns, p.name, topic, err)
        return None  # the reconcile Job itself retries and fails loudly on an unreachable cluster
    return decide_unbounded(topic, retained, p.c.config.max_unbounded_existing_records)
