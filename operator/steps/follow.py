"""Following one step Job, the shape every post-replay step shares: start it, follow it, retry it
when spec.retry is bumped, give up on a failure, and wait for (or miss) what it left in Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from .. import conditions as cond
from ..conditions import Want
from ..job_names import Step
from ..job_state import JobView
from .facts import Decision, failed, in_progress, stalled


class StepReasons(NamedTuple):
    """The condition reasons one step sets."""

    working: str
    """In progress ('Combining')."""
    failed: str
    """Stalled by a failed Job; `failed_reconciled` the Reconciled reason beside it."""
    failed_reconciled: str
    missing: str
    """Stalled because the output is gone; `missing_reconciled` the Reconciled reason beside it."""
    missing_reconciled: str


class StepText(NamedTuple):
    """How one step's messages name it and what it leaves."""

    noun: str
    """'combine', 'reconciliation': how messages name the Job."""
    pending: str
    """The Reconciled=False message while the step runs."""
    output: str
    """What the Job leaves in Redis ('report')."""
    reading: str
    """How a wait for that output is phrased."""


@dataclass(frozen=True)
class StepWords:
    """How one step names itself in its conditions (the reasons and messages users see)."""

    step: Step
    reasons: StepReasons
    text: StepText


def follow_step_job(words: StepWords, retry: int, job: JobView | None, failure: str, unavailable: str) -> Decision:
    """While the step's output is not recorded: start, follow, retry or give up on its Job."""
    why, text = words.reasons, words.text
    pending = Want(cond.RECONCILED, "False", why.working, text.pending)
    if job is None:
        return Decision(in_progress(why.working, f"{text.noun} Job started", pending), words.step, 0)
    if job.state == "Failed" and job.attempt < retry:
        return Decision(in_progress(why.working, f"{text.noun} retried", pending), words.step, retry)
    if job.state == "Failed":
        msg = f"{text.noun} " + failed(job, failure)
        return Decision(stalled(why.failed, msg, Want(cond.RECONCILED, "False", why.failed_reconciled, msg)))
    if job.state == "Succeeded" and unavailable:
        return Decision(in_progress("RedisUnavailable", f"cannot read {text.reading} yet: {unavailable}", pending))
    if job.state == "Succeeded":
        msg = f"{text.noun} Job {job.name} succeeded but its {text.output} is gone from Redis (expired?)"
        return Decision(stalled(why.missing, msg, Want(cond.RECONCILED, "False", why.missing_reconciled, msg)))
    return Decision(in_progress(why.working, f"{text.noun} Job {job.name} running", pending))
