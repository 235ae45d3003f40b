"""Reading a Job back: one Job object from the API -> its view (name, partition or step, attempt,
state, message), for the partition scheduler and the post-replay steps alike.

Only the labels `job_names` writes are read; a Job without them is not ours and reads as None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .job_names import (
    ANNOTATION_REFRESH,
    ANNOTATION_REPORT,
    ANNOTATION_ROLLOUT_STEP,
    LABEL_ATTEMPT,
    LABEL_PARTITION,
    LABEL_STEP,
    STEPS,
    Step,
)

JobState = Literal["Running", "Suspended", "Succeeded", "Failed"]


@dataclass(frozen=True)
class JobView:
    """The facts about one of our Jobs that matter to the operator: a partition's worker Job
    (`partition` set) or a step after the replay (`step` set)."""

    name: str
    partition: int | None
    attempt: int
    state: JobState
    message: str = ""
    step: Step | None = None
    report_hash: str = ""
    """The report a promotion Job promotes ('' for the others)."""
    refresh: int = 0
    """The spec.reconciliation.refresh a reconciliation Job was made for (0 for the others)."""
    ttl: int | None = None
    """Its spec.ttlSecondsAfterFinished: set once the operator handed it to the TTL controller."""
    rollout_step: int = 0
    """The rollout step a promotion Job promotes (0: a whole promotion)."""

    @property
    def terminal(self) -> bool:
        return self.state in ("Succeeded", "Failed")


def _state(job: dict[str, Any]) -> tuple[JobState, str]:
    conditions = {
        c.get("type"): c for c in ((job.get("status") or {}).get("conditions") or []) if c.get("status") == "True"
    }
    if "Complete" in conditions or "SuccessCriteriaMet" in conditions:
        return "Succeeded", ""
    if "Failed" in conditions or "FailureTarget" in conditions:
        found = conditions.get("Failed") or conditions.get("FailureTarget") or {}
        return "Failed", f"{found.get('reason', '')}: {found.get('message', '')}".strip(": ")
    if (job.get("spec") or {}).get("suspend"):
        return "Suspended", ""
    return "Running", ""


def job_state(job: dict[str, Any]) -> tuple[JobState, str]:
    """Any Job's state and, when it failed, why (a watch's scan Jobs carry none of the labels above)."""
    return _state(job)


def read_job(job: dict[str, Any]) -> JobView | None:
    """Read a Job (as a dict from the API); None when it is not one of our Jobs."""
    meta = job.get("metadata") or {}
    labels = meta.get("labels") or {}
    step = next((s for s in STEPS if s == labels.get(LABEL_STEP)), None)
    try:
        attempt = int(labels.get(LABEL_ATTEMPT, "0") or 0)
        partition = None if step is not None else int(labels[LABEL_PARTITION])
    except (KeyError, ValueError):
        return None
    state, message = _state(job)
    annotations = meta.get("annotations") or {}
    report = annotations.get(ANNOTATION_REPORT, "") if step == "promote" else ""
    try:
        refresh = int(annotations.get(ANNOTATION_REFRESH, "0") or 0) if step == "reconcile" else 0
        rollout = int(annotations.get(ANNOTATION_ROLLOUT_STEP, "0") or 0) if step == "promote" else 0
    except ValueError:
        return None
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    return JobView(meta.get("name", ""), partition, attempt, state, message, step, report, refresh, ttl, rollout)


def read_jobs(raw: Iterable[dict[str, Any]]) -> list[JobView]:
    return [view for view in map(read_job, raw) if view is not None]


def current_jobs(views: Iterable[JobView]) -> dict[int, JobView]:
    """The newest attempt per partition (older attempts are history); step Jobs are left out."""
    current: dict[int, JobView] = {}
    for view in views:
        p = view.partition
        if p is not None and (p not in current or view.attempt > current[p].attempt):
            current[p] = view
    return current


def newest_step(views: Iterable[JobView], step: Step, report_hash: str = "", refresh: int = 0) -> JobView | None:
    """The newest attempt of a step's Job (of the promotion of `report_hash`, for `promote`; of the
    reconciliation for `refresh`, for `reconcile`; the one combine Job, for `combine`)."""

    def mine(v: JobView) -> bool:
        if step == "reconcile":
            return v.refresh == refresh
        return step != "promote" or v.report_hash == report_hash

    found = [v for v in views if v.step == step and mine(v)]
    return max(found, key=lambda v: (v.rollout_step, v.attempt)) if found else None
