"""The combine step of windowed-aggregate replays (`spec.transform.aggregate`): after the replay,
one Job merges the sandbox into one result per (window, key); its summary is read from Redis once,
then recorded in status.aggregation for good. Reconciliation waits for it.
"""

from __future__ import annotations

from eventreplay.worker.contract.names import Tenant, combine_key
from eventreplay.worker.contract.summaries import CombineSummary

from ..api.v1alpha1 import AggregationStatus
from ..clients import CheckpointPort
from ..job_state import JobView
from .facts import Decision
from .follow import StepReasons, StepText, StepWords, follow_step_job


def aggregation_from(summary: CombineSummary, job: str) -> AggregationStatus:
    counts = summary.counts
    return AggregationStatus(
        job=job,
        results_topic=summary.results_topic,
        results=summary.results,
        windows=summary.windows,
        late=counts.late,
        no_event_time=counts.no_event_time,
        no_key=counts.no_key,
        skipped_values=counts.skipped_values,
        outside=counts.outside or None,
        incomplete_windows=summary.incomplete or None,
        digest=summary.digest,
        completed_at=summary.completed_at,
    )


def read_aggregation(reader: CheckpointPort, url: str, tenant: Tenant, uid: str, job: str) -> AggregationStatus | None:
    """The summary the combine Job left in Redis; None when it is not (or no longer) there."""
    raw = reader.get(url, combine_key(tenant, uid))
    return aggregation_from(CombineSummary.from_json(raw), job) if raw is not None else None


COMBINE = StepWords(
    "combine",
    StepReasons("Combining", "CombineFailed", "CombineFailed", "CombineSummaryMissing", "SummaryMissing"),
    StepText("combine", "combining the replayed events into window results", "summary", "the combined results"),
)


def decide_combine(retry: int, job: JobView | None, failure: str, unavailable: str) -> Decision:
    """While no combined results are recorded: start, follow, retry or give up on the combine Job."""
    return follow_step_job(COMBINE, retry, job, failure, unavailable)
