"""What the post-replay steps decide from, and what they decide: shared by reconciliation and promotion.

`Facts` holds only what exists now (the Jobs, the report recorded in status, the promotion
checkpoints), so deciding is level-based: the same facts ask for the same Job however often.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventreplay.worker.contract.step_tasks import RolloutStep

from ..api.v1alpha1 import EventReplaySpec, PromotionStatus, ReconciliationStatus, Totals
from ..api.v1alpha1.rollout import RolloutStatus
from ..conditions import READY, RECONCILING, STALLED, Want, kstatus
from ..job_names import Step
from ..job_state import JobView
from .rollout import RolloutFacts

MAX_MESSAGE = 500


@dataclass(frozen=True)
class LegacyClaims:
    """Open claims of a chart 0.1.0 promotion still running, in the legacy ledger of this replay's sink."""

    key: str
    """The legacy ledger (`sink_keys.legacy_sink_ledger_key`)."""
    count: int


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
    """Why Redis (or, for the sink's legacy ledger, Kafka) could not be read this time ('' when it could)."""
    unavailable_reason: str = "RedisUnavailable"
    """The reason a Job waits for the unread fact (`KafkaUnavailable` for the sink's cluster id)."""
    legacy_claims: LegacyClaims | None = None
    """Read only when a new promotion Job is wanted and 0.1.0's ledgers are not carried for good."""
    rollout: RolloutFacts | None = None
    """With spec.promotion.rollout, once the report is recorded: where the rollout stands."""


@dataclass(frozen=True)
class Decision:
    wants: list[Want]
    create: Step | None = None
    attempt: int = 0
    gate_reason: str = ""
    rollout_step: RolloutStep | None = None
    """The rollout step a promotion Job to create promotes."""
    rollout: RolloutStatus | None = None
    """status.promotion.rollout to record."""


def not_yet(decision: Decision, reason: str, why: str) -> Decision:
    """`decision` without its Job this pass: what must come first could not be read (the legacy sink
    ledgers carried over, a chart 0.1.0 promotion into the sink closed); asked again next pass."""
    steps = [w for w in decision.wants if w.type not in (READY, RECONCILING, STALLED)]
    return Decision([*in_progress(reason, f"the {decision.create} Job waits: {why}"), *steps])


def in_progress(reason: str, message: str, *extra: Want) -> list[Want]:
    return [*kstatus("InProgress", reason, message), *extra]


def stalled(reason: str, message: str, *extra: Want) -> list[Want]:
    """Stalled on a failed Job: only a person (bumping spec.retry) gets it going again."""
    return [*kstatus("Stalled", reason, message[:MAX_MESSAGE] + "; bump spec.retry to retry"), *extra]


def failed(job: JobView, failure: str) -> str:
    return f"Job {job.name} failed: {failure or job.message or 'no message'}"
