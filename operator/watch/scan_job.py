"""A scan's Job (pure): the gap finder over the scan's window, planned (`planner.make_plan`, its
topics named for the watch) as the EventReplay the watch would draft, its summary left in Redis
under `names.watch_scan_key`; and that summary read back."""

from __future__ import annotations

from typing import Any

from eventreplay.worker.contract.environment import GAP_TASK_ENV
from eventreplay.worker.contract.gap_summary import GapSummary
from eventreplay.worker.contract.names import watch_scan_key

from ..api.v1alpha1 import EventReplaySpec, EventReplayWatchSpec, Plan
from ..config import OperatorConfig
from ..job_names import Owner
from ..job_tasks import build_scan_task
from ..jobs import job_manifest, step_command
from ..worker_env import worker_env
from .owner import scan_job_name, scan_labels, watch_owner_reference


def scan_job(
    watch: EventReplayWatchSpec, spec: EventReplaySpec, plan: Plan, owner: Owner, *, scan: int, config: OperatorConfig
) -> dict[str, Any]:
    """The gap finder's Job for scan number `scan`, owned by the watch."""
    grant = config.policy.grant(owner.namespace, spec)
    key = watch_scan_key(owner.namespace, owner.uid, scan)
    task = build_scan_task(spec, plan, watch.join_seconds, key, grant)
    labels = scan_labels(owner, scan)
    job = job_manifest(
        spec,
        owner,
        config,
        name=scan_job_name(owner.name, scan),
        labels=labels,
        annotations={},
        command=step_command(config, "gaps"),
        env=worker_env(spec, GAP_TASK_ENV, task.to_json(), grant),
    )
    job["metadata"]["ownerReferences"] = [watch_owner_reference(owner)]
    job["spec"]["backoffLimit"] = min(job["spec"]["backoffLimit"], 1)  # the next scan is the retry
    return job


def read_summary(raw: bytes | None) -> GapSummary | None:
    """The finder's summary, or None when there is none (or it does not decode: a failed scan)."""
    if raw is None:
        return None
    try:
        return GapSummary.from_json(raw)
    except ValueError:
        return None
