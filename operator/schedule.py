"""Which Jobs to create, suspend or resume: a pure function of the plan, the spec and the Jobs seen.

Level-based: it looks at what exists now, never at what happened before, so running it twice
(or after an operator restart) asks for the same Jobs, and creating an existing one is a no-op.
Partitions start in partition order, at most `worker.parallelism` at a time; a failed partition
gets a new Job (attempt = spec.retry) only when spec.retry is bumped above its Job's attempt.
What the status records as done stays done: a promoted replay's finished Jobs expire.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .api.v1alpha1 import EventReplaySpec, Plan
from .job_state import JobView


@dataclass(frozen=True)
class Actions:
    create: list[tuple[int, int]] = field(default_factory=list)
    """(partition, attempt) pairs, in order."""
    suspend: list[str] = field(default_factory=list)
    resume: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.suspend or self.resume)


def schedule(
    spec: EventReplaySpec, plan: Plan, jobs: dict[int, JobView], done: frozenset[int] = frozenset()
) -> Actions:
    """`done`: partitions the status records as Done under this plan; their Jobs may be gone (a
    promoted replay's finished Jobs expire), and a gone Job of a done partition is not re-created."""
    if spec.dry_run:
        return Actions()
    live = [j for j in jobs.values() if not j.terminal]
    if spec.suspend:
        return Actions(suspend=sorted(j.name for j in live if j.state != "Suspended"))
    waiting: list[tuple[int, int]] = []
    for part in plan.partitions:
        job = jobs.get(part.partition)
        if part.records == 0:
            continue
        if job is None:
            if part.partition not in done:
                waiting.append((part.partition, 0))
        elif job.state == "Failed" and job.attempt < spec.retry:
            waiting.append((part.partition, spec.retry))
    slots = max(0, spec.worker.parallelism - len(live))
    return Actions(
        create=waiting[:slots],
        resume=sorted(j.name for j in live if j.state == "Suspended"),
    )
