"""The combine step of windowed-aggregate replays (`spec.transform.aggregate`): after the replay,
one Job merges the sandbox into one result per (window, key); its summary is read from Redis once,
then recorded in status.aggregation for good. Reconciliation waits for it.
"""

from __future__ import annotations

from typing import Any

import orjson

from eventreplay.worker.contract.names import combine_key

from .. import conditions as cond
from ..api.v1alpha1 import AggregationStatus
from ..checkpoints import CheckpointReader
from ..conditions import Want
from ..job_state import JobView
from .facts import Decision, failed, in_progress, stalled


def aggregation_from(summary: dict[str, Any], job: str) -> AggregationStatus:
    counts = summary.get("counts") or {}
    return AggregationStatus(
        job=job,
        results_topic=summary["resultsTopic"],
        results=summary["results"],
        windows=summary.get("windows"),
        late=counts.get("late", 0),
        no_event_time=counts.get("noEventTime", 0),
        no_key=counts.get("noKey", 0),
        skipped_values=counts.get("skippedValues", 0),
        digest=summary.get("digest"),
        completed_at=summary.get("completedAt"),
    )


def read_aggregation(reader: CheckpointReader, url: str, uid: str, job: str) -> AggregationStatus | None:
    """The summary the combine Job left in Redis; None when it is not (or no longer) there."""
    raw = reader.get(url, combine_key(uid))
    return aggregation_from(orjson.loads(raw), job) if raw is not None else None


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
