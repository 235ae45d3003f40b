"""Why a partition's Job failed, in the worker's own words: its pod's termination message.

A failed Job's own condition only says which rule fired; the worker's reason is in its pod's
termination message (terminationMessagePolicy FallbackToLogsOnError) or a failed checkpoint.
Looked up once per failed Job (then kept in status), at most MAX_POD_LOOKUPS per pass, so a
thousand failed partitions cost a bounded number of pod listings.
"""

from __future__ import annotations

from dataclasses import replace

from eventreplay.worker.contract.checkpoints import Checkpoint

from .api.v1alpha1 import PartitionProgress
from .clients import KubePort
from .job_state import JobView
from .kube import JSON

MAX_POD_LOOKUPS = 20


def pod_message(pods: list[JSON]) -> str:
    """The newest terminated container message among a Job's pods ('' when none says anything)."""
    found: list[tuple[str, str]] = []
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            done = (status.get("state") or {}).get("terminated") or {}
            if done.get("message"):
                found.append((str(done.get("finishedAt") or ""), str(done["message"]).strip()))
    return max(found)[1][-500:] if found else ""


def with_pod_messages(
    kube: KubePort,
    namespace: str,
    jobs: dict[int, JobView],
    ckpts: dict[int, Checkpoint],
    previous: list[PartitionProgress],
) -> dict[int, JobView]:
    """`jobs` with each failed Job's message: the one kept in status, else its pod's (looked up)."""
    known_by_partition = {p.partition: p for p in previous}
    lookups = 0
    for partition, view in list(jobs.items()):
        ckpt = ckpts.get(partition)
        if view.state != "Failed" or (ckpt is not None and ckpt.state == "failed" and ckpt.message):
            continue
        known = known_by_partition.get(partition)
        if known is not None and known.job == view.name and known.state == "Failed" and known.message:
            jobs[partition] = replace(view, message=known.message)
        elif lookups < MAX_POD_LOOKUPS:
            lookups += 1
            said = pod_message(kube.list_pods(namespace, f"job-name={view.name}"))
            if said:
                jobs[partition] = replace(view, message=said)
    return jobs
