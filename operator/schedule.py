"""Which Jobs to create, suspend or resume: a pure function of the plan, the spec and the Jobs seen.

Level-based: it looks at what exists now, never at what happened before, so running it twice
(or after an operator restart) asks for the same Jobs, and creating an existing one is a no-op.
Partitions start in partition order, at most `worker.parallelism` at a time; a failed partition
gets a new Job (attempt = spec.retry) only when spec.retry is bumped above its Job's attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from .api.v1alpha1 import EventReplaySpec, Plan
from .jobs import LABEL_ATTEMPT, LABEL_PARTITION

JobState = Literal["Running", "Suspended", "Succeeded", "Failed"]


@dataclass(frozen=True)
class JobView:
    """The facts about one worker Job that matter to the operator."""

    name: str
    partition: int
    attempt: int
    state: JobState
    message: str = ""

    @property
    def terminal(self) -> bool:
        return self.state in ("Succeeded", "Failed")


def job_view(job: dict[str, Any]) -> JobView | None:
    """Read a Job (as a dict from the API); None when it is not one of our worker Jobs."""
    meta = job.get("metadata") or {}
    labels = meta.get("labels") or {}
    try:
        partition, attempt = int(labels[LABEL_PARTITION]), int(labels.get(LABEL_ATTEMPT, "0"))
    except (KeyError, ValueError):
        return None
    conditions = {
        c.get("type"): c for c in ((job.get("status") or {}).get("conditions") or []) if c.get("status") == "True"
    }
    state: JobState
    message = ""
    if "Complete" in conditions or "SuccessCriteriaMet" in conditions:
        state = "Succeeded"
    elif "Failed" in conditions or "FailureTarget" in conditions:
        state = "Failed"
        found = conditions.get("Failed") or conditions.get("FailureTarget") or {}
        message = f"{found.get('reason', '')}: {found.get('message', '')}".strip(": ")
    elif (job.get("spec") or {}).get("suspend"):
        state = "Suspended"
    else:
        state = "Running"
    return JobView(name=meta.get("name", ""), partition=partition, attempt=attempt, state=state, message=message)


def current_jobs(views: Iterable[JobView]) -> dict[int, JobView]:
    """The newest attempt per partition (older attempts are history)."""
    current: dict[int, JobView] = {}
    for view in views:
        if view.partition not in current or view.attempt > current[view.partition].attempt:
            current[view.partition] = view
    return current


@dataclass(frozen=True)
class Actions:
    create: list[tuple[int, int]] = field(default_factory=list)
    """(partition, attempt) pairs, in order."""
    suspend: list[str] = field(default_factory=list)
    resume: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.suspend or self.resume)


def schedule(spec: EventReplaySpec, plan: Plan, jobs: dict[int, JobView]) -> Actions:
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
            waiting.append((part.partition, 0))
        elif job.state == "Failed" and job.attempt < spec.retry:
            waiting.append((part.partition, spec.retry))
    slots = max(0, spec.worker.parallelism - len(live))
    return Actions(
        create=waiting[:slots],
        resume=sorted(j.name for j in live if j.state == "Suspended"),
    )
