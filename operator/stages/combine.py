"""The combine stage of windowed-aggregate replays (`spec.transform.aggregate`): after the replay,
one Job merges the sandbox into one result per (window, key); its summary is read from Redis once,
then recorded in status.aggregation for good. Reconciliation waits for it.
"""

from __future__ import annotations

from eventreplay.worker.contract.names import combine_key
from eventreplay.worker.contract.summaries import CombineSummary

from .. import conditions as cond
from ..api.v1alpha1 import AggregationStatus
from ..checkpoints import CheckpointReader
from ..conditions import Want
from ..job_state import JobView
from .facts import Decision, failed, in_progress, stalled


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
        digest=summary.digest,
        completed_at=summary.completed_at,
    )


def read_aggregation(reader: CheckpointReader, url: str, uid: str, job: str) -> AggregationStatus | None:
    """The summary the combine Job left in Redis; None when it is not (or no longer) there."""
    raw = reader.get(url, combine_key(uid))
    return aggregation_from(CombineSummary.from_json(raw), job) if raw is not None else None


def decide_combine(retry: int, job: JobView | None, failure: str, unavailable: str) -> Decision:
    """While no combined results are recorded: start, follow, retry or give up on the combine Job."""
    pending = Want(cond.RECONCILED, "False", "Combining", "combining the replayed events into window results")
    if job is None:
        return Decision(in_progress("Combining", "combine Job started", pending), "combine", 0)
    if job.state == "Failed" and job.attempt < retry:
        return Decision(in_progress("Combining", "combine retried", pending), "combine", retry)
    if job.state == "Failed":
        msg = "combine " + failed(job, failure)
        return Decision(stalled("CombineFailed", msg, Want(cond.RECONCILED, "False", "CombineFailed", msg)))
    if job.state == "Succeeded" and unavailable:
        return Decision(
            in_progress("RedisUnavailable", f"cannot read the combined results yet: {unavailable}", pending)
        )
    if job.state == "Succeeded":
        msg = f"combine Job {job.name} succeeded but its summary is gone from Redis (expired?)"
        return Decision(stalled("CombineSummaryMissing", msg, Want(cond.RECONCILED, "False", "SummaryMissing", msg)))
    return Decision(in_progress("Combining", f"combine Job {job.name} running", pending))
