"""Why a worker pod cannot run (`blocked_cause`) and what the replay says about it: the
partition's `blocked` record (or status.blockedStep for the running post-replay step's Job), the
kstatus triple and one Warning Event per pod and cause.

A Job's own status says nothing while its pod waits on an image pull, a missing Secret or a node:
the replay would read "Replaying 0 %" for ever. The kubelet's and the scheduler's reasons are read
off the pods (listed once per pass, only while a Running partition is not progressing or a step
Job runs: a step has no progress figure to watch) and kept in status, which is also the memory
of what was already announced: an Event is posted when a partition's (or the step Job's) pod and
cause first appear, never once per pass.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .api.v1alpha1 import BlockedPod, BlockedStep, PartitionProgress
from .conditions import Want, kstatus
from .events import Event
from .job_names import STEPS
from .job_state import JobView
from .kube import JSON
from .planner import format_time

WAITING_CAUSES = {
    "ErrImagePull": "ImagePullBackOff",  # the kubelet alternates the two for one failing pull
    "ImagePullBackOff": "ImagePullBackOff",
    "ErrImageNeverPull": "ErrImageNeverPull",
    "InvalidImageName": "InvalidImageName",
    "CreateContainerConfigError": "CreateContainerConfigError",
    "CreateContainerError": "CreateContainerError",
    "CrashLoopBackOff": "CrashLoopBackOff",
}
"""A waiting container's reason -> the cause it is announced under."""
STALLED_AT_ONCE = frozenset({"InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError"})
"""Causes no retry of the kubelet's will lift: a person must fix the image name or the Secret."""
STALL_AFTER = timedelta(minutes=5)
"""A cause that may lift by itself (a registry back, a node added, a crash fixed upstream) is
Stalled once it has held this long."""
MAX_LISTED = 3
"""Blocked partitions named in the condition's message (the rest are counted)."""
BLOCKED = "PodsBlocked"
STALLED = "PodsStalled"
EVENT_REASON = "PodBlocked"


@dataclass(frozen=True)
class Block:
    """One pod's cause, as read from the pod (no memory yet)."""

    pod: str
    container: str
    cause: str
    message: str


def blocked_cause(pod: JSON) -> Block | None:
    """Why this pod cannot run, or None: unschedulable, a container waiting on a cause above, or a
    container killed for memory (an OOM-killed worker is retried by the Job and killed again)."""
    name = str((pod.get("metadata") or {}).get("name") or "")
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if (condition.get("type"), condition.get("status"), condition.get("reason")) == (
            "PodScheduled",
            "False",
            "Unschedulable",
        ):
            return Block(name, "", "Unschedulable", str(condition.get("message") or ""))
    containers = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    for container in containers:
        waiting = (container.get("state") or {}).get("waiting") or {}
        cause = WAITING_CAUSES.get(str(waiting.get("reason") or ""))
        if cause is not None:
            return Block(name, str(container.get("name") or ""), cause, str(waiting.get("message") or ""))
    for container in containers:
        for state in (container.get("state") or {}, container.get("lastState") or {}):
            if ((state.get("terminated") or {}).get("reason")) == "OOMKilled":
                return Block(name, str(container.get("name") or ""), "OOMKilled", "killed at its memory limit")
    return None


def decide_look(old: Iterable[PartitionProgress], new: Iterable[PartitionProgress]) -> bool:
    """List the pods this pass: a Running partition has not moved since the last status (a new
    Job, a stuck one), so its pod may be blocked. A progressing replay costs no listing."""
    before = {p.partition: p for p in old}
    for part in new:
        was = before.get(part.partition)
        if part.state == "Running" and (
            was is None or was.job != part.job or was.committed_offset == part.committed_offset
        ):
            return True
    return False


def newest_blocks(pods: Iterable[JSON]) -> dict[str, Block]:
    """Per Job name, the block of its newest blocked pod (a Job retries with new pods)."""
    found: dict[str, tuple[str, Block]] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        job = str((meta.get("labels") or {}).get("job-name") or "")
        block = blocked_cause(pod)
        created = str(meta.get("creationTimestamp") or "")
        if job and block is not None and (job not in found or created >= found[job][0]):
            found[job] = (created, block)
    return {job: block for job, (_, block) in found.items()}


def decide_blocked(
    parts: list[PartitionProgress], old: Iterable[PartitionProgress], blocks: dict[str, Block], now: datetime
) -> list[PartitionProgress]:
    """`parts` with each Running partition's `blocked` record: its Job's block, `since` kept from
    the last status while the pod and cause stay the same (that is what was announced)."""
    before = {p.partition: p.blocked for p in old}
    result = []
    for part in parts:
        block = blocks.get(part.job or "") if part.state == "Running" else None
        record = None
        if block is not None:
            was = before.get(part.partition)
            same = was is not None and (was.pod, was.cause) == (block.pod, block.cause)
            record = BlockedPod(**_fields(block, was.since if same and was is not None else format_time(now)))
        result.append(part.model_copy(update={"blocked": record}))
    return result


def _fields(block: Block, since: str) -> dict[str, str | None]:
    """A block as recorded in status, first seen at `since`."""
    return {
        "pod": block.pod,
        "container": block.container or None,
        "cause": block.cause,
        "message": block.message[:512] or None,
        "since": since,
    }


def stalled(record: BlockedPod, now: datetime) -> bool:
    return record.cause in STALLED_AT_ONCE or now - datetime.fromisoformat(record.since) >= STALL_AFTER


def describe(record: BlockedPod) -> str:
    """`pod P container C: Cause: message`: what a person needs to find the pod and fix it."""
    where = f"pod {record.pod}" + (f" container {record.container}" if record.container else "")
    return f"{where}: {record.cause}" + (f": {record.message}" if record.message else "")


def blocked_conditions(parts: list[PartitionProgress], now: datetime) -> list[Want]:
    """The kstatus triple while a partition's pod is blocked (nothing when none is): Stalled when
    one cause will not lift by itself (or has held `STALL_AFTER`), else still reconciling."""
    blocked = [p for p in parts if p.blocked is not None]
    if not blocked:
        return []
    listed = "; ".join(f"partition {p.partition}: {describe(p.blocked)}" for p in blocked[:MAX_LISTED] if p.blocked)
    more = f" (+{len(blocked) - MAX_LISTED} more)" if len(blocked) > MAX_LISTED else ""
    message = f"{len(blocked)} worker pod(s) cannot run: {listed}{more}"
    return _triple(message, stuck=any(p.blocked is not None and stalled(p.blocked, now) for p in blocked))


def _triple(message: str, *, stuck: bool) -> list[Want]:
    if stuck:
        return kstatus("Stalled", STALLED, message + "; fix the cause (see docs/install.md, Blocked worker pods)")
    return kstatus("InProgress", BLOCKED, message)


def blocked_events(old: Iterable[PartitionProgress], new: Iterable[PartitionProgress]) -> list[Event]:
    """One Warning per partition whose (pod, cause) is new since the last status."""
    before = {p.partition: p.blocked for p in old}
    events = []
    for part in new:
        record, was = part.blocked, before.get(part.partition)
        if record is not None and (was is None or (was.pod, was.cause) != (record.pod, record.cause)):
            events.append(Event("Warning", EVENT_REASON, f"partition {part.partition}: {describe(record)}"))
    return events


def running_step(jobs: Iterable[JobView]) -> JobView | None:
    """The post-replay step Job running now: the steps run one after another, so at most one (a
    promotion finishing while a refreshed reconciliation starts: the later step)."""
    running = [v for v in jobs if v.step is not None and v.state == "Running"]
    return max(running, key=lambda v: (STEPS.index(v.step or "combine"), v.attempt)) if running else None


def decide_step_blocked(
    job: JobView | None, old: BlockedStep | None, blocks: dict[str, Block], now: datetime
) -> BlockedStep | None:
    """The running step Job's `blockedStep` record: its block, `since` kept from the last status
    while the Job, pod and cause stay the same (that is what was announced)."""
    block = blocks.get(job.name) if job is not None and job.step is not None else None
    if job is None or job.step is None or block is None:
        return None
    same = old is not None and (old.job, old.pod, old.cause) == (job.name, block.pod, block.cause)
    since = old.since if same and old is not None else format_time(now)
    return BlockedStep(step=job.step, job=job.name, **_fields(block, since))


def step_blocked_conditions(record: BlockedStep | None, now: datetime) -> list[Want]:
    """The kstatus triple while the running step's pod is blocked (nothing when it is not): they
    follow the step's own wants, which would say "Promoting" of a pod that cannot start."""
    if record is None:
        return []
    return _triple(f"the {record.step} step's worker pod cannot run: {describe(record)}", stuck=stalled(record, now))


def step_blocked_events(old: BlockedStep | None, new: BlockedStep | None) -> list[Event]:
    """One Warning when the step's (Job, pod, cause) is new since the last status."""
    if new is None or (old is not None and (old.job, old.pod, old.cause) == (new.job, new.pod, new.cause)):
        return []
    return [Event("Warning", EVENT_REASON, f"{new.step} step: {describe(new)}")]
