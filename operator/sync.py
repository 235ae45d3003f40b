"""One controller pass over one EventReplay (`sync`): plan once, start/suspend/resume the partition
Jobs, then (once replayed) the post-replay steps (`steps/`), write status. Safe to re-run.

Every handler and the status timer call `sync()`. It reads the object fresh (never a stale
handler body), serialises per replay with a lock, pins the plan in status *before* any Job
exists (so a restarted operator reuses it), and writes status as a merge patch holding only
what changed (explicit nulls for removed fields), so an unchanged replay costs one GET per tick.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from eventreplay.worker.contract.kafka_clients import output_topic_config

from . import approval, metrics, progress
from . import conditions as cond
from .api.v1alpha1 import Condition, EventReplay, EventReplaySpec, EventReplayStatus, ObjectMeta, Plan
from .checkpoints import CheckpointsUnavailable, carried_forward
from .clients import Clients
from .conditions import Want
from .events import Event, condition_events, partition_events
from .job_names import Owner, owned_by
from .job_state import JobView, current_jobs, newest_step, read_jobs
from .jobs import build_job
from .kafka import KafkaUnavailable
from .kube import JSON, JobRejected
from .planner import PlanRefused, format_time, input_hash, make_plan, refuse_foreign_output, window_times
from .pod_messages import with_pod_messages
from .retention import with_retention_notes
from .schedule import schedule
from .status_patch import conditions_only_patch, partition_ops
from .steps.post_replay import PostReplaySteps

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
"""Plan refusals that wait for a spec change. InvalidSpec, ImageNotAllowed and NotAllowed are not here:
they are checked again on every pass, so an operator whose allowlist or policy grows picks the replay up."""
PLACEHOLDER_REASONS = frozenset({"AwaitingReplay", "AwaitingReconciliation", "PolicyNever"})


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


def sync(clients: Clients, namespace: str, name: str, *, now: datetime | None = None) -> Outcome:
    """Bring one replay's Jobs and status in line with its spec; nothing for a gone or deleted one."""
    with clients.lock(f"{namespace}/{name}"), metrics.HANDLER_SECONDS.time():
        obj = clients.kube.get_replay(namespace, name)
        meta = ObjectMeta.model_validate(obj["metadata"]) if obj is not None else None
        if obj is None or meta is None or meta.deletion_timestamp:
            metrics.forget(namespace, name)
            clients.forget(f"{namespace}/{name}", meta.uid if meta is not None else None)
            return Outcome([])
        run = SyncPass(clients, namespace, name, obj=obj, meta=meta, now=now or datetime.now(UTC))
        outcome = run.run()
        # An invalid status's numbers are not to be trusted (nor parsed): only its phase counts.
        metrics.observe_status(namespace, name, {"phase": "Stalled"} if run.invalid_status else run.raw_status)
        return outcome


class SyncPass:
    """One pass over one fetched replay; everything it reads is fixed here, before it acts."""

    def __init__(
        self, clients: Clients, namespace: str, name: str, *, obj: JSON, meta: ObjectMeta, now: datetime
    ) -> None:
        assert meta.uid is not None, "the API server sets metadata.uid"
        self.c, self.ns, self.name = clients, namespace, name
        self.stamp = format_time(now)
        self.now = now
        self.owner = Owner(namespace, name, meta.uid)
        self.generation = meta.generation
        self.annotations = dict(meta.annotations)
        self.raw_status: dict[str, Any] = dict(obj.get("status") or {})
        self.invalid_status = ""
        self.replanned = False
        """This pass made a new plan: what the old status recorded per partition was another plan's."""
        try:
            self.old = EventReplayStatus.model_validate(self.raw_status)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            self.invalid_status = f"status.{where}: {first.get('msg', err)}"
            self.old = EventReplayStatus(conditions=_readable_conditions(self.raw_status))
        declared = obj.get("spec") or {}
        # Read from the raw spec: the phase of an invalid spec still says suspended / dry run.
        self.suspended, self.dry_run = bool(declared.get("suspend")), bool(declared.get("dryRun"))
        self.spec: EventReplaySpec | None = None
        self.invalid = ""
        try:
            self.spec = EventReplay.desired(obj).spec
        except ValidationError as err:
            self.invalid = f"spec is invalid: {err.errors()[0].get('msg', err)}"

    def run(self) -> Outcome:
        if self.invalid_status:  # someone edited the status: say so, and touch neither plan nor Jobs
            message = f"{self.invalid_status}; fix or remove that field (kubectl edit --subresource=status)"
            return self._conditions_only(progress.refused_conditions("InvalidStatus", message), keep_rest=True)
        spec = self.spec
        if spec is None:
            return self._stall("InvalidSpec", self.invalid, None)
        image = spec.worker.image
        if image and not self.c.config.allowed(image):
            return self._stall("ImageNotAllowed", f"worker image {image} is not in the operator's allowlist", None)
        refusal = self.c.config.policy.check(self.ns, spec, default_image=self.c.config.worker_image)
        if refusal is not None:  # before any connection to Kafka or Redis and before any Job
            return self._stall("NotAllowed", f"policy rule {refusal.rule}: {refusal.message}", None)
        spec = self.c.config.policy.resolve(self.ns, spec)
        jobs = read_jobs(self.c.kube.list_jobs(self.ns, owned_by(self.owner)))
        partition_jobs = current_jobs(jobs)
        plan = self.old.plan
        if plan is None or (plan.input_hash != input_hash(spec) and (spec.dry_run or not partition_jobs)):
            if plan is None and self._refused_already():
                return Outcome([])  # an impossible plan waits for a spec change
            try:
                count, observed = self.c.kafka.observe(spec, self.now)
                plan = make_plan(
                    spec,
                    namespace=self.ns,
                    name=self.name,
                    uid=self.owner.uid,
                    topic_partitions=count,
                    observed=observed,
                    as_of=self.now,
                )
                plan = with_retention_notes(plan, spec, self.c.kafka.retention(spec), self.now)
                outputs = [plan.sandbox_topic, plan.dead_letter_topic]
                refuse_foreign_output(self.c.kafka.writers(spec.source.bootstrap_servers, outputs), self.owner.uid)
            except PlanRefused as refused:
                return self._stall(refused.reason, refused.message, spec)
            except KafkaUnavailable as err:
                return self._wait(spec, err.reason, f"cannot plan yet: {err}")
            # Pin the plan before any Job is created: a restart or a retry reuses exactly this range.
            pinned = self.old.model_copy(update={"plan": plan, "partitions": [], "totals": None, "progress": None})
            self._write(pinned)
            self.replanned = True
        try:
            return self._replay(spec, plan, partition_jobs, jobs)
        except JobRejected as err:
            return self._job_rejected(err)

    def _refused_already(self) -> bool:
        planned = cond.get(self.old.conditions, cond.PLANNED)
        return (
            planned is not None
            and planned.status == "False"
            and planned.reason in REFUSALS
            and self.old.observed_generation == self.generation
        )

    def _replay(self, spec: EventReplaySpec, plan: Plan, jobs: dict[int, JobView], all_jobs: list[JobView]) -> Outcome:
        # Done partitions of this very plan, as recorded: their Jobs may have expired (promoted).
        same_plan = not self.replanned and self.old.plan is not None and self.old.plan.hash == plan.hash
        recorded = {p.partition: p for p in self.old.partitions} if same_plan else {}
        done = frozenset(n for n, p in recorded.items() if p.state == "Done")
        actions = schedule(spec, plan, jobs, done)
        # `topicsCreatedBy: tenant`: the workers create their topics with the replay's credentials
        # (they ensure them anyway); the operator's principal then creates nothing on that cluster.
        by_operator = self.c.config.policy.grant(self.ns, spec).topics_created_by == "operator"
        if actions.create and by_operator and self.owner.uid not in self.c.ensured_topics:
            try:
                self.c.kafka.ensure_topics(
                    spec.source.bootstrap_servers,
                    [plan.sandbox_topic, plan.dead_letter_topic],
                    plan.topic_partitions,
                    output_topic_config(spec.validation.max_event_bytes, spec.dedup.ttl_seconds),
                )
            except KafkaUnavailable as err:
                return self._wait(spec, "KafkaUnavailable", f"cannot create the sandbox topics yet: {err}")
            self.c.ensured_topics.add(self.owner.uid)
        spans = {p.partition: p for p in plan.partitions}
        for partition, attempt in actions.create:
            job = build_job(spec, plan, spans[partition], self.owner, self.c.config, attempt=attempt)
            self.c.kube.create_job(job)
            jobs[partition] = JobView(job["metadata"]["name"], partition, attempt, "Running")
        for partition, view in list(jobs.items()):
            if view.name in actions.suspend or view.name in actions.resume:
                suspend = view.name in actions.suspend
                self.c.kube.set_job_suspended(self.ns, view.name, suspend)
                jobs[partition] = replace(view, state="Suspended" if suspend else "Running")
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
        jobs = with_pod_messages(self.c.kube, self.ns, jobs, ckpts, self.old.partitions)
        parts = progress.partitions(plan, jobs, ckpts, recorded)
        totals = totals or progress.totals(plan, ckpts)
        wants = progress.replay_conditions(spec, plan, parts, totals) + self._placeholders(spec)
        reconciliation, promotion, aggregation = self.old.reconciliation, self.old.promotion, self.old.aggregation
        unbounded = None
        if not spec.dry_run and all(p.state == "Done" for p in parts):
            unbounded = self._unbounded_existing_output(spec, all_jobs)
        if unbounded is not None:
            reason = "ExistingOutputUnbounded"
            wants += [*cond.kstatus("Stalled", reason, unbounded), Want(cond.RECONCILED, "False", reason, unbounded)]
        elif not spec.dry_run and spec.suspend and all(p.state == "Done" for p in parts):
            wants += self._suspend_steps(all_jobs)
        elif not spec.dry_run and all(p.state == "Done" for p in parts):
            self._resume_steps(all_jobs)
            # Replayed: reconcile, then promote through the gate (these wants override Ready & co.).
            steps = PostReplaySteps(self.c.kube, self.c.checkpoints, self.c.config, self.owner, self.stamp)
            result = steps.run(spec, plan, totals, self.old, all_jobs)
            wants += result.wants
            reconciliation, promotion, aggregation = result.reconciliation, result.promotion, result.aggregation
        promotion = approval.record(
            self.old.promotion, promotion, spec.promotion, reconciliation, annotations=self.annotations, now=self.stamp
        )
        conds = cond.merge(self.old.conditions, wants, now=self.stamp, generation=self.generation)
        new = EventReplayStatus(
            observed_generation=self.generation,
            phase=cond.phase(conds, suspended=spec.suspend, dry_run=spec.dry_run),
            conditions=conds,
            observed_retry=spec.retry,
            plan=plan,
            partitions=parts,
            totals=totals,
            progress=progress.progress(plan, parts, ckpts),
            aggregation=aggregation,
            reconciliation=reconciliation,
            promotion=promotion,
        )
        self._write(new)
        if finished_for_good(conds):
            self._expire_finished(all_jobs)
        events = condition_events(self.old.conditions, conds) + partition_events(plan, self.old.partitions, parts)
        return Outcome(approval.approval_events(self.old.promotion, promotion) + events)

    def _expire_finished(self, all_jobs: list[JobView]) -> None:
        """The outcome is in status: hand the finished Jobs (and so their pods) to the TTL controller."""
        for view in all_jobs:
            if view.terminal and view.ttl is None:
                self.c.kube.expire_job(self.ns, view.name, self.c.config.finished_job_ttl)

    def _suspend_steps(self, all_jobs: list[JobView]) -> list[Want]:
        """Suspended after the replay: no combine, reconciliation or promotion Job starts, and a
        running one is suspended (its pod stops; a promotion's open transaction aborts and resumes
        from its checkpoint, so nothing is written twice when spec.suspend is cleared)."""
        for view in all_jobs:
            if view.step is not None and view.state == "Running":
                self.c.kube.set_job_suspended(self.ns, view.name, True)
        msg = "replayed; suspended before reconciliation and promotion end (clear spec.suspend to resume)"
        return cond.kstatus("Waiting", "Suspended", msg)

    def _resume_steps(self, all_jobs: list[JobView]) -> None:
        for view in all_jobs:
            if view.step is not None and view.state == "Suspended":
                self.c.kube.set_job_suspended(self.ns, view.name, False)

    def _unbounded_existing_output(self, spec: EventReplaySpec, all_jobs: list[JobView]) -> str | None:
        """Why reconciliation may not start: an offsets window with no explicit existing-output
        window reads the whole retained destination; above the operator's limit it must be given."""
        rc = spec.reconciliation
        if window_times(spec, self.now) is not None or rc.existing_offsets is not None or rc.existing_timestamps:
            return None
        if self.old.reconciliation is not None or newest_step(all_jobs, "reconcile") is not None:
            return None  # decided already (a Job exists or a report is recorded)
        topic = rc.comparison_topic or spec.sink.topic
        limit = self.c.config.max_unbounded_existing_records
        try:
            retained = self.c.kafka.retained_records(spec.source.bootstrap_servers, topic)
        except KafkaUnavailable as err:
            log.warning("%s/%s: cannot size %s: %s", self.ns, self.name, topic, err)
            return None  # the reconcile Job itself retries and fails loudly on an unreachable cluster
        if retained is None or retained <= limit:
            return None
        return (
            f"an offsets window compares with the whole retained {topic} ({retained} records > {limit}): "
            "set spec.reconciliation.existingOffsets or existingTimestamps"
        )

    def _placeholders(self, spec: EventReplaySpec | None) -> list[cond.Want]:
        if spec is None:
            return []
        wants = []
        for want in progress.placeholder_conditions(spec):
            existing = cond.get(self.old.conditions, want.type)
            if existing is None or existing.reason in PLACEHOLDER_REASONS:
                wants.append(want)
        return wants

    def _stall(self, reason: str, message: str, spec: EventReplaySpec | None) -> Outcome:
        return self._conditions_only(progress.refused_conditions(reason, message) + self._placeholders(spec))

    def _wait(self, spec: EventReplaySpec, reason: str, message: str) -> Outcome:
        return self._conditions_only(progress.waiting_conditions(reason, message) + self._placeholders(spec))

    def _conditions_only(self, wants: list[cond.Want], *, keep_rest: bool = False) -> Outcome:
        conds = cond.merge(self.old.conditions, wants, now=self.stamp, generation=self.generation)
        new = self.old.model_copy(
            update={
                "observed_generation": self.generation,
                "conditions": conds,
                "phase": cond.phase(conds, suspended=self.suspended, dry_run=self.dry_run),
            }
        )
        if keep_rest:  # the rest of the stored status did not validate: patch only these fields
            patch = conditions_only_patch(self.raw_status, new.to_wire())
            if patch:
                self.c.kube.patch_replay_status(self.ns, self.name, patch)
        else:
            self._write(new)
        return Outcome(condition_events(self.old.conditions, conds))

    def _job_rejected(self, err: JobRejected) -> Outcome:
        """A Job the API server will not create: Stalled until someone acts (a foreign Job holding
        the name, an invalid Job), or waiting while a quota or grant may still change (403); each
        says why in its condition and one Warning Event. Every pass tries again."""
        message = f"the API server refused a Job ({err})"
        if not err.retriable:
            return self._conditions_only(cond.kstatus("Stalled", "JobRejected", message))
        was = cond.get(self.old.conditions, cond.RECONCILING)
        outcome = self._conditions_only(cond.kstatus("InProgress", "JobCreateFailed", message + "; retrying"))
        if was is None or was.reason != "JobCreateFailed":
            outcome.events.append(Event("Warning", "JobCreateFailed", message))
        return outcome

    def _write(self, status: EventReplayStatus) -> None:
        wire = status.to_wire()
        patch = merge_diff(self.raw_status, wire)
        if patch:
            ops = partition_ops(self.raw_status, wire, patch)
            if ops is not None:
                sent = self.c.kube.json_patch_replay_status(self.ns, self.name, ops)
            else:
                sent = self.c.kube.patch_replay_status(self.ns, self.name, patch)
            metrics.STATUS_PATCH_BYTES.labels(self.ns, self.name).inc(sent)
            self.raw_status = wire


def finished_for_good(conds: list[Condition]) -> bool:
    """Nothing is left to run: promoted, or reconciled under a `Never` gate (Ready for good)."""
    ready = cond.get(conds, cond.READY)
    return ready is not None and ready.status == "True" and ready.reason in ("Promoted", "Reconciled")


def _readable_conditions(raw_status: JSON) -> list[Condition]:
    """The conditions of a status that failed validation, where they themselves still validate."""
    try:
        return [Condition.model_validate(c) for c in raw_status.get("conditions") or []]
    except ValidationError:
        return []
