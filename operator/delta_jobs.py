"""The reconciliation and promotion Jobs, built by pure functions (same inputs, same manifest).

One reconciliation Job per replay (`<replay>-reconcile`) and one promotion Job per approved
report (`<replay>-promote-<hash[:12]>`): the report hash is in the name, so a different report
gets a different Job and re-applying an approved replay finds the existing one instead of
promoting again. Both use the worker image with the partition Jobs' pod security and secret
handling (`jobs.job_manifest`); neither carries the partition label, so the partition
scheduler never mistakes them for replay workers. `-r<n>` marks a retry (spec.retry bumped).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal

from eventreplay.worker.contract import delta_tasks as rt
from eventreplay.worker.contract import tasks as wt
from eventreplay.worker.contract.names import (
    KAFKA_SETTINGS_ENV,
    PROMOTE_TASK_ENV,
    RECONCILE_TASK_ENV,
    REDIS_PASSWORD_ENV,
    report_topic,
)

from .api.v1alpha1 import GROUP, EventReplaySpec, Plan, parse_time
from .config import OperatorConfig
from .jobs import (
    LABEL_ATTEMPT,
    LABEL_REPLAY,
    LABEL_UID,
    Owner,
    job_manifest,
    label_value,
    worker_env,
)
from .planner import window_times

Step = Literal["reconcile", "promote"]
LABEL_STEP = f"{GROUP}/step"
ANNOTATION_REPORT = f"{GROUP}/report-hash"
WHOLE_TOPIC = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
"""An offset window says nothing about time: compare with everything the destination retains."""


def step_job_name(replay: str, step: str, attempt: int = 0) -> str:
    """`<replay>-<step>[-r<attempt>]`, at most 63 characters (long names cut, a hash keeps them apart)."""
    suffix = f"-{step}" + (f"-r{attempt}" if attempt else "")
    if len(replay) + len(suffix) <= 63:
        return replay + suffix
    digest = hashlib.sha256(replay.encode()).hexdigest()[:6]
    return f"{replay[: 63 - len(suffix) - 7].rstrip('.-')}-{digest}{suffix}"


def reconcile_job_name(replay: str, attempt: int = 0) -> str:
    return step_job_name(replay, "reconcile", attempt)


def promote_job_name(replay: str, report_hash: str, attempt: int = 0) -> str:
    return step_job_name(replay, f"promote-{report_hash[:12]}", attempt)


def _identity(owner: Owner) -> wt.ReplayIdentity:
    return wt.ReplayIdentity(namespace=owner.namespace, name=owner.name, uid=owner.uid)


def _kafka(spec: EventReplaySpec) -> wt.KafkaConnection:
    return wt.KafkaConnection(
        bootstrap_servers=spec.source.bootstrap_servers,
        settings_env=KAFKA_SETTINGS_ENV if spec.source.credentials_secret_ref else None,
    )


def _redis(spec: EventReplaySpec) -> rt.RedisTarget:
    redis = spec.dedup.redis
    return rt.RedisTarget(
        redis_url=redis.url,
        password_env=REDIS_PASSWORD_ENV if redis.password_secret_ref else None,
        ttl_seconds=spec.dedup.ttl_seconds,
    )


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def existing_output(spec: EventReplaySpec, plan: Plan) -> rt.ExistingOutput:
    """Where the existing output lives (precedence documented on `api.v1alpha1.Reconciliation`)."""
    rc = spec.reconciliation
    topic = rc.comparison_topic or spec.sink.topic
    if rc.existing_offsets is not None:
        ranges = [
            wt.OffsetRange(partition=r.partition, start_offset=r.from_, end_offset=r.to) for r in rc.existing_offsets
        ]
        return rt.ExistingOutput(topic=topic, offsets=ranges)
    if rc.existing_timestamps is not None:
        start, end = parse_time(rc.existing_timestamps.from_), parse_time(rc.existing_timestamps.to)
        return rt.ExistingOutput(
            topic=topic, timestamps=rt.TimeWindow(from_=start, to=end, slack_seconds=rc.slack_seconds)
        )
    times = window_times(spec, datetime.fromisoformat(plan.as_of.replace("Z", "+00:00")))
    if times is None:
        whole = rt.TimeWindow(from_=WHOLE_TOPIC[0], to=WHOLE_TOPIC[1], slack_seconds=0)
        return rt.ExistingOutput(topic=topic, timestamps=whole)
    window = rt.TimeWindow(from_=_at(times[0]), to=_at(times[1]), slack_seconds=rc.slack_seconds)
    return rt.ExistingOutput(topic=topic, timestamps=window)


def build_reconcile_task(spec: EventReplaySpec, plan: Plan, owner: Owner) -> rt.ReconcileTask:
    rc = spec.reconciliation
    return rt.ReconcileTask(
        replay=_identity(owner),
        kafka=_kafka(spec),
        sandbox_topic=plan.sandbox_topic,
        existing=existing_output(spec, plan),
        event_id=rt.EventIdSource(source=rc.event_id.source, field=rc.event_id.field),
        canonical=rt.Canonical(headers=sorted(set(rc.canonical_headers))),
        report=rt.ReportOutput(
            topic=report_topic(owner.namespace, owner.name), redis=_redis(spec), sample_size=rc.sample_size
        ),
        tuning=rt.DeltaTuning(batch_size=spec.worker.batch_size),
    )


def build_promote_task(spec: EventReplaySpec, owner: Owner, report_hash: str) -> rt.PromoteTask:
    return rt.PromoteTask(
        replay=_identity(owner),
        kafka=_kafka(spec),
        report_hash=report_hash,
        destination_topic=spec.sink.topic,
        redis=_redis(spec),
        tuning=rt.DeltaTuning(batch_size=spec.worker.batch_size),
    )


def step_command(config: OperatorConfig, step: Step) -> list[str]:
    """The configured worker command with its `run` verb swapped for the step's."""
    base = list(config.worker_command)
    if base and base[-1] == "run":
        base = base[:-1]
    return [*base, step]


def step_labels(owner: Owner, step: Step, attempt: int) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "eventreplay-worker",
        "app.kubernetes.io/managed-by": "eventreplay-operator",
        LABEL_REPLAY: label_value(owner.name),
        LABEL_UID: owner.uid,
        LABEL_STEP: step,
        LABEL_ATTEMPT: str(attempt),
    }


def reconcile_job(
    spec: EventReplaySpec, plan: Plan, owner: Owner, config: OperatorConfig, *, attempt: int = 0
) -> dict[str, Any]:
    task = build_reconcile_task(spec, plan, owner)
    return job_manifest(
        spec,
        owner,
        config,
        name=reconcile_job_name(owner.name, attempt),
        job_labels=step_labels(owner, "reconcile", attempt),
        annotations={f"{GROUP}/plan-hash": plan.hash},
        command=step_command(config, "reconcile"),
        env=worker_env(spec, RECONCILE_TASK_ENV, task.to_json()),
    )


def promote_job(
    spec: EventReplaySpec, owner: Owner, config: OperatorConfig, report_hash: str, *, attempt: int = 0
) -> dict[str, Any]:
    task = build_promote_task(spec, owner, report_hash)
    return job_manifest(
        spec,
        owner,
        config,
        name=promote_job_name(owner.name, report_hash, attempt),
        job_labels=step_labels(owner, "promote", attempt),
        annotations={ANNOTATION_REPORT: report_hash},
        command=step_command(config, "promote"),
        env=worker_env(spec, PROMOTE_TASK_ENV, task.to_json()),
    )
