"""The blocked-pods stage of the partitions and steps phases: list the replay's pods once (only
while a Running partition is not progressing, or while a step Job runs) and record on each
partition, and for the running step, why its pod cannot run."""

from __future__ import annotations

from ..api.v1alpha1 import BlockedStep, PartitionProgress
from ..job_names import LABEL_UID
from ..job_state import JobView
from ..pod_blocks import decide_blocked, decide_look, decide_step_blocked, newest_blocks, running_step
from .context import Pass


def run(p: Pass, parts: list[PartitionProgress]) -> list[PartitionProgress]:
    """`parts` with their `blocked` records: one pod listing by the replay's uid label at most."""
    # Another plan's partitions say nothing about this plan's pods (nor what was announced).
    old = [] if p.replanned else p.old.partitions
    if not decide_look(old, parts):
        return decide_blocked(parts, old, {}, p.now)
    pods = p.c.kube.list_pods(p.ns, f"{LABEL_UID}={p.owner.uid}")
    return decide_blocked(parts, old, newest_blocks(pods), p.now)


def step(p: Pass, jobs: list[JobView]) -> BlockedStep | None:
    """The running step Job's `blockedStep` record; the pods are listed only while one runs (the
    partitions are all Done by then, so this is the pass's one listing)."""
    job = running_step(jobs)
    if job is None:
        return None
    pods = p.c.kube.list_pods(p.ns, f"{LABEL_UID}={p.owner.uid}")
    return decide_step_blocked(job, p.old.blocked_step, newest_blocks(pods), p.now)
