"""The reconciliation report a promote Job may promote: the approved one, whole, about its sink."""

from __future__ import annotations

import redis

from ..contract.exit_codes import PermanentFailure, RetriableFailure
from ..contract.step_tasks import PromoteTask
from ..contract.summaries import ReportSummary
from ..runtime.canonical import report_hash
from ..runtime.spill import load_summary


def approved_report(client: redis.Redis, task: PromoteTask) -> ReportSummary:
    """The stored report; refuses (permanent) one that is missing, is another report than the
    task's reportHash, does not match its own hash, or compared with another topic."""
    try:
        summary = load_summary(client, task.replay.key_tenant, task.replay.uid)
    except redis.RedisError as err:
        raise RetriableFailure(f"Redis (reconciliation report): {err}") from err
    if summary is None:
        raise PermanentFailure(f"no reconciliation report for replay {task.replay.uid} (expired?): reconcile again")
    if summary.report_hash != task.report_hash:
        raise PermanentFailure(
            f"report hash mismatch: asked to promote {task.report_hash}, the current report is "
            f"{summary.report_hash}: approve the current report"
        )
    if report_hash(summary.report) != task.report_hash:
        raise PermanentFailure("the stored report does not match its own hash: reconcile again")
    compared = summary.report.plan.existing_topic
    if task.existing_topic is not None and compared != task.existing_topic:
        raise PermanentFailure(
            f"the report compared with {compared!r}, not {task.existing_topic!r}: it says nothing "
            "about this sink; reconcile again"
        )
    return summary
