"""Following one step Job, the shape every post-replay step shares: start it, follow it, retry it
when spec.retry is bumped, give up on a failure, and wait for (or miss) what it left in Redis."""

from __future__ import annotations

from dataclasses import dataclass

from .. import conditions as cond
from ..conditions import Want
from ..job_names import Step
from ..job_state import JobView
from .facts import Decision, failed, in_progress, stalled


@dataclass(frozen=True)
class StepWords:
    """How one step names itself in its conditions (the reasons and messages users see)."""

    step: Step
    noun: str
    """'combine', 'reconciliation': how messages name the Job."""
    working: str
    """The in-progress reason ('Combining')."""
    pending: str
    """The Reconciled=False message while the step runs."""
    failed: str
    """The Stalled reason of a failed Job; `failed_reconciled` the Reconciled reason beside it."""
    failed_reconciled: str
    output: str
    """What the Job leaves in Redis ('report'); `reading` how a wait for it is phrased."""
    reading: str
    missing: str
    """The Stalled reason when the output is gone; `missing_reconciled` the Reconciled reason."""
    missing_reconciled: str


def follow_step_job(words: StepWords, retry: int, job: JobView | None, failure: str, unavailable: str) -> Decision:
    """While the step's output is not recorded: start, follow, retry or give up on its Job."""
    pending = Want(cond.RECONCILED, "False", words.working, words.pending)
    if job is None:
        return Decision(in_progress(words.working, f"{words.noun} Job started", pending), words.step, 0)
    if job.state == "Failed" and job.attempt < retry:
        return Decision(in_progress(words.working, f"{words.noun} retried", pending), words.step, retry)
    if job.state == "Failed":
        msg = f"{words.noun} " + failed(job, failure)
        return Decision(stalled(words.failed, msg, Want(cond.RECONCILED, "False", words.failed_reconciled, msg)))
    if job.state == "Succeeded" and unavailable:
        return Decision(in_progress("RedisUnavailable", f"cannot read {words.reading} yet: {unavailable}", pending))
    if job.state == "Succeeded":
        msg = f"{words.noun} Job {job.name} succeeded but its {words.output} is gone from Redis (expired?)"
        return Decision(stalled(words.missing, msg, Want(cond.RECONCILED, "False", words.missing_reconciled, msg)))
    return Decision(in_progress(words.working, f"{words.noun} Job {job.name} running", pending))
