"""Reconcile one EventReplay: plan once, start/suspend/resume Jobs, then (once replayed) the
reconciliation and promotion stage (`delta_run`), write status. Safe to re-run.

Every handler and the status timer call `reconcile()`. It reads the object fresh (never a
stale handler body), serialises per replay with a lock, pins the plan in status *before* any
Job exists (so a restarted operator reuses it), and writes status as a merge patch holding only
what changed (explicit nulls for removed fields), so an unchanged replay costs one GET per tick.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from eventreplay.worker.contract.checkpoints import Checkpoint

from . import aggregate, metrics
from . import conditions as cond
from .api.v1alpha1 import EventReplay, EventReplaySpec, EventReplayStatus, ObjectMeta, Plan
from .checkpoints import CheckpointReader, CheckpointsUnavailable, carried_forward
from .config import OperatorConfig
from .delta_run import DeltaStage
from .events import Event, condition_events, partition_events
from .jobs import LABEL_UID, Owner, build_job
from .kafka import KafkaAccess, KafkaUnavailable
from .kube import JSON, Kube
from .planner import PlanRefused, format_time, input_hash, make_plan
from .schedule import JobView, current_jobs, job_view, schedule

log = logging.getLogger(__name__)
REFUSALS = frozenset(
    {
        "TopicNotFound",
        "PartitionOutOfRange",
        "PartitionNotSelected",
        "RetentionExpired",
        "EmptyWindow",
    }
)
"""Plan refusals that wait for a spec change. InvalidSpec and ImageNotAllowed are not here: they are
checked again on every pass, so an operator whose allowlist grows picks the replay up."""
MAX_POD_LOOKUPS = 20
PLACEHOLDER_REASONS = frozenset({"AwaitingReplay", "AwaitingReconciliation", "PolicyNever"})


@dataclass
class Clients:
    """Long-lived clients and per-process memory, kept in kopf's memo."""

    kube: Kube
    kafka: KafkaAccess
    checkpoints: CheckpointReader
    config: OperatorConfig
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    ensured_topics: set[str] = field(default_factory=set)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, key: str) -> threading.Lock:
        with self.guard:
            return self.locks.setdefault(key, threading.Lock())


@dataclass(frozen=True)
class Outcome:
    events: list[Event]


def merge_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch turning `old` into `new` (lists are replaced whole)."""
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            sub = merge_diff(before, value)
            if sub:
                patch[key] = sub
        elif value != before:
            patch[key] = value
    return patch


def pod_message(pods: list[JSON]) -> str:
    """The newest terminated container message among a Job's pods ('' when none says anything)."""
    found: list[tuple[str, str]] = []
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            done = (status.get("state") or {}).get("terminated") or {}
            if done.get("message"):
                found.append((str(done.get("finishedAt") or ""), str(done["message"]).strip()))
    return max(found)[1][-500:] if found else ""


def reconcile(clients: Clients, namespace: str, name: str, *, now: datetime | None = None) -> Outcome:
    with clients.lock(f"{namespace}/{name}"), metrics.HANDLER_SECONDS.time():
        run = _Pass(clients, namespace, name, now or datetime.now(UTC))
        outcome = run.run()
        if getattr(run, "obj", None) is None:
            metrics.forget(namespace, name)
        else:
            metrics.observe_status(namespace, name, run.raw_status)
        return outcome


class _Pass:
    def __init__(self, clients: Clients, namespace: str, name: str, now: datetime) -> None:
        self.c, self.ns, self.name, self.now = clients, namespace, name, now
        self.stamp = format_time(now)

    def run(self) -> Outcome:
        obj = self.c.kube.get_replay(self.ns, self.name)
        if obj is None:
            return Outcome([])
        meta = ObjectMeta.model_validate(obj["metadata"])
        if meta.deletion_timestamp:
            return Outcome([])
        assert meta.uid is not None, "the API server sets metadata.uid"
        self.obj, self.raw_status = obj, dict(obj.get("status") or {})
        self.generation: int | None = meta.generation
        self.owner = Owner(self.ns, self.name, meta.uid)
        try:
            self.old = EventReplayStatus.model_validate(self.raw_status)
        except ValidationError:
            self.old = EventReplayStatus()
        try:
            spec = EventReplay.desired(obj).spec
        except ValidationError as err:
            return self._stall("InvalidSpec", f"spec is invalid: {err.errors()[0].get('msg', err)}", None)
        image = spec.worker.image
        if image and not self.c.config.allowed(image):
            return self._stall("ImageNotAllowed", f"worker image {image} is not in the operator's allowlist", None)
        self.raw_jobs = self._jobs()
        jobs = current_jobs(v for v in map(job_view, self.raw_jobs) if v is not None)
        plan = self.old.plan
        if plan is None or (plan.input_hash != input_hash(spec) and (spec.dry_run or not jobs)):
            if plan is None and self._refused_already():
                return Outcome([])  # an impossible plan waits for a spec change
            try:
                count, observed = self.c.kafka.observe(spec, self.now)
                plan = make_plan(
                    spec,
                    namespace=self.ns,
                    name=self.name,
                    topic_partitions=count,
                    observed=observed,
                    as_of=self.now,
                )
            except PlanRefused as refused:
                return self._stall(refused.reason, refused.message, spec)
            except KafkaUnavailable as err:
                return self._wait(spec, "KafkaUnavailable", f"cannot plan yet: {err}")
            # Pin the plan before any Job is created: a restart or a retry reuses exactly this range.
            pinned = self.old.model_copy(update={"plan": plan, "partitions": [], "totals": None, "progress": None})
            self._write(pinned)
        return self._run(spec, plan, jobs)

    def _jobs(self) -> list[JSON]:
        return self.c.kube.list_jobs(self.ns, f"{LABEL_UID}={self.owner.uid}")

    def _refused_already(self) -> bool:
        planned = cond.get(self.old.conditions, cond.PLANNED)
        return (
            planned is not None
            and planned.status == "False"
            and planned.reason in REFUSALS
            and self.old.observed_generation == self.generation
        )

    def _run(self, spec: EventReplaySpec, plan: Plan, jobs: dict[int, JobView]) -> Outcome:
        actions = schedule(spec, plan, jobs)
        if actions.create and self.owner.uid not in self.c.ensured_topics:
            try:
                self.c.kafka.ensure_topics(
                    spec.source.bootstrap_servers,
                    [plan.sandbox_topic, plan.dead_letter_topic],
                    plan.topic_partitions,
                )
            except KafkaUnavailable as err:
                return self._wait(spec, "KafkaUnavailable", f"cannot create the sandbox topics yet: {err}")
            self.c.ensured_topics.add(self.owner.uid)
        spans = {p.partition: p for p in plan.partitions}
        for partition, attempt in actions.create:
            job = build_job(spec, plan, spans[partition], self.owner, self.c.config, attempt=attempt)
            self.c.kube.create_job(job)
            jobs[partition] = JobView(job["metadata"]["name"], partition, attempt, "Running")
        for view in [v for v in jobs.values() if v.name in actions.suspend or v.name in actions.resume]:
            suspend = view.name in actions.suspend
            self.c.kube.set_job_suspended(self.ns, view.name, suspend)
            jobs[view.partition] = JobView(
                view.name, view.partition, view.attempt, "Suspended" if suspend else "Running"
            )
        live = [p.partition for p in plan.partitions if p.records > 0]
        totals = None
        finished = (
            self.old.totals is not None
            and len(self.old.partitions) == len(plan.partitions)
            and all(p.state == "Done" for p in self.old.partitions)
        )
        if finished:
            # Final figures (a new plan resets them): checkpoints expire with the ledger TTL, and
            # totals rebuilt from nothing would let an Automatic gate judge 0/0 and open.
            ckpts, totals = carried_forward(plan, self.old.partitions), self.old.totals
        else:
            try:
                ckpts = self.c.checkpoints.read(spec.dedup.redis.url, self.owner.uid, live)
            except CheckpointsUnavailable as err:
                log.warning("%s/%s: %s; carrying the last status forward", self.ns, self.name, err)
                ckpts, totals = carried_forward(plan, self.old.partitions), self.old.totals
        jobs = self._with_pod_messages(jobs, ckpts)
        parts = aggregate.partitions(plan, jobs, ckpts)
        totals = totals or aggregate.totals(plan, ckpts)
        wants = aggregate.replay_conditions(spec, plan, parts, totals) + self._placeholders(spec)
        reconciliation, promotion = self.old.reconciliation, self.old.promotion
        if not spec.dry_run and all(p.state == "Done" for p in parts):
            # Replayed: reconcile, then promote through the gate (these wants override Ready & co.).
            stage = DeltaStage(self.c.kube, self.c.checkpoints, self.c.config, self.owner, self.stamp)
            result = stage.run(spec, plan, totals, self.old, self.raw_jobs)
            wants += result.wants
            reconciliation, promotion = result.reconciliation, result.promotion
        conds = cond.merge(self.old.conditions, wants, now=self.stamp, generation=self.generation)
        new = EventReplayStatus(
            observed_generation=self.generation,
            phase=cond.phase(conds, suspended=spec.suspend, dry_run=spec.dry_run),
            conditions=conds,
            observed_retry=spec.retry,
            plan=plan,
            partitions=parts,
            totals=totals,
            progress=aggregate.progress(plan, parts, ckpts),
            reconciliation=reconciliation,
            promotion=promotion,
        )
        self._write(new)
        events = condition_events(self.old.conditions, conds) + partition_events(plan, self.old.partitions, parts)
        return Outcome(events)

    def _with_pod_messages(self, jobs: dict[int, JobView], ckpts: dict[int, Checkpoint]) -> dict[int, JobView]:
        """A failed Job's own message only says which rule fired; the worker's reason is in its pod's
        termination message (terminationMessagePolicy FallbackToLogsOnError) or a failed checkpoint.
        Looked up once per failed Job (then kept in status), at most MAX_POD_LOOKUPS per pass."""
        previous = {p.partition: p for p in self.old.partitions}
        lookups = 0
        for partition, view in list(jobs.items()):
            ckpt = ckpts.get(partition)
            if view.state != "Failed" or (ckpt is not None and ckpt.state == "failed" and ckpt.message):
                continue
            known = previous.get(partition)
            if known is not None and known.job == view.name and known.state == "Failed" and known.message:
                jobs[partition] = replace(view, message=known.message)
            elif lookups < MAX_POD_LOOKUPS:
                lookups += 1
                said = pod_message(self.c.kube.list_pods(self.ns, f"job-name={view.name}"))
                if said:
                    jobs[partition] = replace(view, message=said)
        return jobs

    def _placeholders(self, spec: EventReplaySpec | None) -> list[cond.Want]:
        if spec is None:
            return []
        wants = []
        for want in aggregate.placeholder_conditions(spec):
            existing = cond.get(self.old.conditions, want.type)
            if existing is None or existing.reason in PLACEHOLDER_REASONS:
                wants.append(want)
        return wants

    def _stall(self, reason: str, message: str, spec: EventReplaySpec | None) -> Outcome:
        return self._conditions_only(aggregate.refused_conditions(reason, message) + self._placeholders(spec))

    def _wait(self, spec: EventReplaySpec, reason: str, message: str) -> Outcome:
        return self._conditions_only(aggregate.waiting_conditions(reason, message) + self._placeholders(spec))

    def _conditions_only(self, wants: list[cond.Want]) -> Outcome:
        conds = cond.merge(self.old.conditions, wants, now=self.stamp, generation=self.generation)
        spec_flags = self.obj.get("spec") or {}
        new = self.old.model_copy(
            update={
                "observed_generation": self.generation,
                "conditions": conds,
                "phase": cond.phase(
                    conds, suspended=bool(spec_flags.get("suspend")), dry_run=bool(spec_flags.get("dryRun"))
                ),
            }
        )
        self._write(new)
        return Outcome(condition_events(self.old.conditions, conds))

    def _write(self, status: EventReplayStatus) -> None:
        wire = status.to_wire()
        patch = merge_diff(self.raw_status, wire)
        if patch:
            self.c.kube.patch_replay_status(self.ns, self.name, patch)
            self.raw_status = wire
