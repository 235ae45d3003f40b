"""What the post-replay steps decide from, and what they decide: shared by reconciliation and promotion.

`Facts` holds only what exists now (the Jobs, the report recorded in status, the promotion
checkpoints), so deciding is level-based: the same facts ask for the same Job however often.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..api.v1alpha1 import EventReplaySpec, PromotionStatus, ReconciliationStatus, Totals
from ..conditions import Want, kstatus
from ..job_names import Step
from ..job_state import JobView

MAX_MESSAGE = 500


@dataclass(frozen=True)
class Facts:
    spec: EventReplaySpec
    totals: Totals | None
    reconciliation: ReconciliationStatus | None
    """The report recorded in status (or just read from Redis); None until there is one."""
    promotion: PromotionStatus | None
    reconcile_job: JobView | None
    promote_job: JobView | None
    """The newest promotion Job of the current report."""
    failure: str = ""
    """The worker's own message for a failed Job (Redis), when there is one."""
    unavailable: str = ""
    """Why Redis could not be read this time ('' when it could)."""


@dataclass(frozen=True)
class Decision:
    wants: list[Want]
    create: Step | None = None
    attempt: int = 0
    gate_reason: str = ""


def in_progress(reason: str, message: str, *extra: Want) -> list[Want]:
    return [*kstatus("InProgress", reason, message), *extra]


def stalled(reason: str, message: str, *extra: Want) -> list[Want]:
    """Stalled on a failed Job: only a person (bumping spec.retry) gets it going again."""
    return [*kstatus("Stalled", reason, message[:MAX_MESSAGE] + "; bump spec.retry to retry"), *extra]


def failed(job: JobView, failure: str) -> str:
    return f"Job {job.name} failed: {failure or job.message or 'no message'}"
