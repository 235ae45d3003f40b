"""One controller pass over one EventReplay (`sync`), as a conductor of phases (`phases/`): plan
once, run the partition Jobs, then (once replayed) the post-replay steps, and write status.
Safe to re-run.

Every handler and the status timer call `sync()`. It reads the object fresh (never a stale
handler body), serialises per replay with a lock, pins the plan in status *before* any Job
exists (so a restarted operator reuses it), and writes status as a merge patch holding only
what changed (explicit nulls for removed fields), so an unchanged replay costs one GET per tick.
Each phase gathers its facts, decides in a pure `decide_*`, then acts; a phase that must stop
the pass (a refusal, a wait) returns the pass's `Outcome` instead of its result.
"""

from __future__ import annotations

from datetime import UTC, datetime

from . import metrics
from .api.v1alpha1 import ObjectMeta
from .clients import Clients
from .kube import JobRejected
from .phases import partitions, plan, status, steps
from .phases.context import Outcome, Pass, read_pass


def sync(clients: Clients, namespace: str, name: str, *, now: datetime | None = None) -> Outcome:
    """Bring one replay's Jobs and status in line with its spec; nothing for a gone or deleted one."""
    with clients.lock(f"{namespace}/{name}"), metrics.HANDLER_SECONDS.time():
        obj = clients.kube.get_replay(namespace, name)
        meta = ObjectMeta.model_validate(obj["metadata"]) if obj is not None else None
        if obj is None or meta is None or meta.deletion_timestamp:
            metrics.forget(namespace, name)
            clients.forget(f"{namespace}/{name}", meta.uid if meta is not None else None)
            return Outcome([])
        run = read_pass(clients, namespace, name, obj=obj, meta=meta, now=now or datetime.now(UTC))
        outcome = conduct(run)
        # An invalid status's numbers are not to be trusted (nor parsed): only its phase counts.
        metrics.observe_status(namespace, name, {"phase": "Stalled"} if run.invalid_status else run.raw_status)
        return outcome


def conduct(run: Pass) -> Outcome:
    """The phases, in order: plan, partitions, steps, status."""
    planned = plan.run(run)
    if isinstance(planned, Outcome):
        return planned
    try:
        replayed = partitions.run(run, planned)
        if isinstance(replayed, Outcome):
            return replayed
        stepped = steps.run(run, planned, replayed)
        return status.finish(run, planned, replayed, stepped)
    except JobRejected as err:
        return status.job_rejected(run, err)
