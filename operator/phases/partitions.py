"""The partitions phase: schedule the partition Jobs (create / suspend / resume), create the
sandbox topics first when the operator owns them (and the schema ConfigMap the Jobs mount), then
read each partition's progress: its checkpoint (or the last status carried forward), for a failed
Job its pod's message, and for a stuck one why its pod cannot run (`pods`).
"""

from __future__ import annotations

import logging
from dataclasses import replace

from eventreplay.worker.contract.checkpoints import Checkpoint
from eventreplay.worker.contract.kafka_clients import output_topic_config
from eventreplay.worker.contract.names import ReplayTopics

from .. import progress
from ..api.v1alpha1 import EventReplaySpec, EventReplayStatus, PartitionProgress, Plan, Totals
from ..checkpoints import CheckpointsUnavailable, carried_forward
from ..job_names import Owner
from ..job_state import JobView, current_jobs
from ..jobs import build_job
from ..kafka import KafkaUnavailable
from ..pod_messages import with_pod_messages
from ..schedule import Actions, schedule
from ..schema_config_map import config_map
from . import pods, status
from .context import Outcome, Pass, Planned, Replayed

log = logging.getLogger(__name__)


def decide_recorded(old: EventReplayStatus, plan: Plan, *, replanned: bool) -> dict[int, PartitionProgress]:
    """What the status records per partition of this very plan (nothing of another plan's): its
    Done partitions stay done though their Jobs may have expired (promoted)."""
    same_plan = not replanned and old.plan is not None and old.plan.hash == plan.hash
    return {p.partition: p for p in old.partitions} if same_plan else {}


def decide_carry_forward(old: EventReplayStatus, plan: Plan) -> bool:
    """Every partition is recorded Done with totals: those are final (a new plan resets them).
    Checkpoints expire with the ledger TTL, and totals rebuilt from nothing would let an
    Automatic gate judge 0/0 and open."""
    return (
        old.totals is not None
        and len(old.partitions) == len(plan.partitions)
        and all(p.state == "Done" for p in old.partitions)
    )


def decide_topics(actions: Actions, *, created_by_operator: bool, ensured: bool) -> bool:
    """Create the sandbox topics now: Jobs are about to start, the operator (not the tenant) creates
    topics on that cluster, and this process has not created them yet."""
    return bool(actions.create) and created_by_operator and not ensured


def replay_topics(spec: EventReplaySpec, plan: Plan, owner: Owner) -> list[str]:
    """The topics created before the Jobs start: the sandbox and dead letters, and for an External
    aggregate replay its results topic too (the exported Flink job writes into it; its Kafka sink
    creates no topic, and the results must be partitioned as the combine Job's would be)."""
    topics = [plan.sandbox_topic, plan.dead_letter_topic]
    if spec.external_engine:
        topics.append(ReplayTopics.of(owner.namespace, owner.name, owner.uid).results)
    return topics


def run(p: Pass, planned: Planned) -> Replayed | Outcome:
    """Act on the schedule, then read the partitions' progress; an Outcome when Kafka is down."""
    spec, plan = planned.spec, planned.plan
    recorded = decide_recorded(p.old, plan, replanned=p.replanned)
    done = frozenset(n for n, entry in recorded.items() if entry.state == "Done")
    jobs = current_jobs(planned.jobs)
    actions = schedule(spec, plan, jobs, done)
    # `topicsCreatedBy: tenant`: the workers create their topics with the replay's credentials
    # (they ensure them anyway); the operator's principal then creates nothing on that cluster.
    by_operator = p.c.config.policy.grant(p.ns, spec).topics_created_by == "operator"
    if decide_topics(actions, created_by_operator=by_operator, ensured=p.owner.uid in p.c.ensured_topics):
        try:
            p.c.kafka.ensure_topics(
                spec.source.bootstrap_servers,
                replay_topics(spec, plan, p.owner),
                plan.topic_partitions,
                output_topic_config(spec.validation.max_event_bytes, spec.dedup.ttl_seconds),
            )
        except KafkaUnavailable as err:
            return status.wait(p, spec, "KafkaUnavailable", f"cannot create the sandbox topics yet: {err}")
        p.c.ensured_topics.add(p.owner.uid)
    _act(p, spec, plan, actions, jobs)
    ckpts, totals = _checkpoints(p, spec, plan)
    jobs = with_pod_messages(p.c.kube, p.ns, jobs, ckpts, p.old.partitions)
    parts = pods.run(p, progress.partitions(plan, jobs, ckpts, recorded))
    return Replayed(parts, totals or progress.totals(plan, ckpts), ckpts)


def _act(p: Pass, spec: EventReplaySpec, plan: Plan, actions: Actions, jobs: dict[int, JobView]) -> None:
    """Create, suspend and resume the Jobs `schedule` asked for; `jobs` then shows them so."""
    spans = {part.partition: part for part in plan.partitions}
    schema_map = config_map(spec, p.owner)
    if actions.create and schema_map is not None:
        p.c.kube.create_config_map(schema_map)  # before the Jobs that mount it
    for partition, attempt in actions.create:
        job = build_job(spec, plan, spans[partition], p.owner, p.c.config, attempt=attempt)
        p.c.kube.create_job(job)
        jobs[partition] = JobView(job["metadata"]["name"], partition, attempt, "Running")
    for partition, view in list(jobs.items()):
        if view.name in actions.suspend or view.name in actions.resume:
            suspend = view.name in actions.suspend
            p.c.kube.set_job_suspended(p.ns, view.name, suspend)
            jobs[partition] = replace(view, state="Suspended" if suspend else "Running")


def _checkpoints(p: Pass, spec: EventReplaySpec, plan: Plan) -> tuple[dict[int, Checkpoint], Totals | None]:
    """The workers' checkpoints, with the totals to keep (None: count them from the checkpoints)."""
    if decide_carry_forward(p.old, plan):
        return carried_forward(plan, p.old.partitions), p.old.totals
    live = [part.partition for part in plan.partitions if part.records > 0]
    try:
        return p.c.checkpoints.read(spec.dedup.redis.url, plan.key_tenant(p.owner.namespace), p.owner.uid, live), None
    except CheckpointsUnavailable as err:
        log.warning("%s/%s: %s; carrying the last status forward", p.ns, p.name, err)
        return carried_forward(plan, p.old.partitions), p.old.totals
