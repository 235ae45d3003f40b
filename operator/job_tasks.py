"""The workers' tasks (their contract, `worker/contract/`) built from a replay: one per partition,
one for the reconciliation Job, one per promoted report, one per scan of a watch. Pure: same inputs, same JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime

from eventreplay.worker.contract import step_tasks as rt
from eventreplay.worker.contract import tasks as wt
from eventreplay.worker.contract.combine_task import Aggregate, CombineTask, Requested
from eventreplay.worker.contract.environment import (
    KAFKA_CA_ENV,
    KAFKA_SETTINGS_ENV,
    REDIS_PASSWORD_ENV,
    REDIS_USERNAME_ENV,
    SCHEMA_REGISTRY_CREDENTIALS_ENV,
    SINK_SCHEMA_REGISTRY_CREDENTIALS_ENV,
)
from eventreplay.worker.contract.gap_task import GapTask, SummaryTarget
from eventreplay.worker.contract.names import ReplayTopics, planned_layout

from .api.v1alpha1 import EventReplaySpec, Plan, PlanPartition, parse_time
from .api.v1alpha1.source_format import SchemaRegistry
from .job_names import Owner
from .planner import read_times, window_times
from .policy import OPEN, ClusterGrant

WHOLE_TOPIC = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))
"""An offset window says nothing about time: compare with everything the destination retains."""


def _identity(owner: Owner, grant: ClusterGrant, plan: Plan) -> wt.ReplayIdentity:
    """Who the replay is, with the Redis key layout it was planned in (a replay planned before the
    upgrade to namespaced keys keeps its keys where they are)."""
    layout = planned_layout(plan.key_layout)
    return wt.ReplayIdentity(
        namespace=owner.namespace, name=owner.name, uid=owner.uid, project=grant.project, key_layout=layout
    )


def _redis_credentials(spec: EventReplaySpec, grant: ClusterGrant) -> dict[str, str | None]:
    """The env vars naming a Job's Redis user and password: the project's ACL user when the policy
    binds one (`worker_env.worker_env` fills both from its Secret), else the replay's password if any."""
    if grant.redis_user_secret is not None:
        return {"username_env": REDIS_USERNAME_ENV, "password_env": REDIS_PASSWORD_ENV}
    return {"password_env": REDIS_PASSWORD_ENV if spec.dedup.redis.password_secret_ref else None}


def _kafka(spec: EventReplaySpec, grant: ClusterGrant) -> wt.KafkaConnection:
    """Servers and the names of the env vars carrying Secrets; the policy's settings inline (not secret)."""
    return wt.KafkaConnection(
        bootstrap_servers=spec.source.bootstrap_servers,
        settings_env=KAFKA_SETTINGS_ENV if spec.source.credentials_secret_ref else None,
        settings=dict(grant.settings) or None,
        ca_env=KAFKA_CA_ENV if grant.ca is not None else None,
        tenant_settings=list(grant.tenant_settings) if grant.tenant_settings is not None else None,
    )


def _format(fmt: wt.Format, registry: SchemaRegistry | None, credentials_env: str) -> wt.ValueFormat:
    """How a topic's values are encoded; the registry as the policy resolved it (a URL, never an alias)."""
    if registry is None:
        return wt.ValueFormat(format=fmt)
    env = credentials_env if registry.credentials_secret_ref else None
    conn = wt.SchemaRegistryConnection(url=registry.url, credentials_env=env)
    return wt.ValueFormat(format=fmt, schema_registry=conn)


def source_format(spec: EventReplaySpec) -> wt.ValueFormat:
    return _format(spec.source.format, spec.source.schema_registry, SCHEMA_REGISTRY_CREDENTIALS_ENV)


def sink_format(spec: EventReplaySpec) -> wt.ValueFormat:
    return _format(spec.sink.format, spec.sink.schema_registry, SINK_SCHEMA_REGISTRY_CREDENTIALS_ENV)


def sink_subject(spec: EventReplaySpec) -> wt.SinkSubject | None:
    """The subject a registry sink format encodes under, and the schema to register there if given."""
    if not spec.sink.encoded:
        return None
    return wt.SinkSubject(name=spec.sink.subject_name(), schema_text=spec.sink.schema_)


def _poison_breaker(spec: EventReplaySpec) -> wt.PoisonBreaker | None:
    breaker = spec.validation.poison_breaker
    if breaker is None:
        return None
    return wt.PoisonBreaker(max_invalid_ratio=breaker.max_invalid_ratio, min_records=breaker.min_records)


def _as_of(plan: Plan) -> datetime:
    return datetime.fromisoformat(plan.as_of.replace("Z", "+00:00"))


def build_task(
    spec: EventReplaySpec,
    plan: Plan,
    part: PlanPartition,
    owner: Owner,
    grant: ClusterGrant = OPEN,
    *,
    schema_file: wt.SchemaFile | None = None,
) -> wt.Task:
    """The worker's contract for one partition: the frozen range and how to replay it. The JSON
    Schema inline (`eventreplay run`), or only the file that holds it (`schema_file`: a Job)."""
    redis = spec.dedup.redis
    return wt.Task(
        replay=_identity(owner, grant, plan),
        kafka=_kafka(spec, grant),
        source=wt.SourceRange(
            dead_letters=spec.source.dead_letters,
            topic=plan.topic,
            partition=part.partition,
            start_offset=part.start_offset,
            end_offset=part.end_offset,
        ),
        source_format=source_format(spec),
        as_of=_as_of(plan),
        validation=wt.Validation(
            event_id_field=spec.validation.event_id_field,
            json_schema=spec.validation.json_schema if schema_file is None else None,
            json_schema_file=schema_file,
            model=spec.validation.model,
            max_event_bytes=spec.validation.max_event_bytes,
            timestamp_field=spec.validation.timestamp_field,
            max_future_skew_seconds=spec.validation.max_future_skew_seconds,
            poison_breaker=_poison_breaker(spec),
        ),
        dedup=wt.Dedup(
            redis_url=redis.url,
            **_redis_credentials(spec, grant),
            ledger=spec.dedup.ledger,
            mode=spec.dedup.mode,
            ttl_seconds=spec.dedup.ttl_seconds,
        ),
        transform=wt.Transform(function=spec.transform.function, fields=spec.transform.fields),
        output=wt.Output(sandbox_topic=plan.sandbox_topic, dead_letter_topic=plan.dead_letter_topic),
        sink=spec.sink.record(),
        sink_format=sink_format(spec),
        sink_subject=sink_subject(spec),
        tuning=wt.Tuning(batch_size=spec.worker.batch_size),
    )


def _redis(spec: EventReplaySpec, grant: ClusterGrant) -> rt.RedisTarget:
    return rt.RedisTarget(
        redis_url=spec.dedup.redis.url, **_redis_credentials(spec, grant), ttl_seconds=spec.dedup.ttl_seconds
    )


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def existing_output(spec: EventReplaySpec, plan: Plan) -> rt.ExistingOutput:
    """Where the existing output lives (precedence documented on `api.v1alpha1.Reconciliation`)."""
    rc = spec.reconciliation
    topic = spec.compared_topic
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
    # An aggregate replay's results span whole windows: compare with what production wrote for them.
    times = read_times(spec, window_times(spec, _as_of(plan)))
    if times is None:
        whole = rt.TimeWindow(from_=WHOLE_TOPIC[0], to=WHOLE_TOPIC[1], slack_seconds=0)
        return rt.ExistingOutput(topic=topic, timestamps=whole)
    window = rt.TimeWindow(from_=_at(times[0]), to=_at(times[1]), slack_seconds=rc.slack_seconds)
    return rt.ExistingOutput(topic=topic, timestamps=window)


def replayed_output(spec: EventReplaySpec, plan: Plan, owner: Owner) -> str:
    """What reconcile and promote read: the sandbox, or the combined results of an aggregate replay."""
    if spec.transform.aggregate is None:
        return plan.sandbox_topic
    return ReplayTopics.of(owner.namespace, owner.name, owner.uid).results


def build_combine_task(spec: EventReplaySpec, plan: Plan, owner: Owner, grant: ClusterGrant = OPEN) -> CombineTask:
    """The combine Job's contract: the sandbox's events -> one result per (window, key)."""
    aggregate = spec.transform.aggregate
    assert aggregate is not None
    return CombineTask(
        replay=_identity(owner, grant, plan),
        kafka=_kafka(spec, grant),
        sandbox_topic=plan.sandbox_topic,
        results_topic=replayed_output(spec, plan, owner),
        aggregate=Aggregate.model_validate(aggregate.model_dump(by_alias=True, exclude_none=True, exclude={"engine"})),
        requested=_requested(plan),
        redis=_redis(spec, grant),
        tuning=rt.StepTuning(batch_size=spec.worker.batch_size),
    )


def _event_id(spec: EventReplaySpec) -> rt.EventIdSource:
    """How destination records name their id, for the reconciliation Job and the gap finder alike."""
    source = spec.reconciliation.event_id
    return rt.EventIdSource(source=source.source, field=source.field, header=source.header)


def build_reconcile_task(
    spec: EventReplaySpec, plan: Plan, owner: Owner, grant: ClusterGrant = OPEN
) -> rt.ReconcileTask:
    """The reconciliation Job's contract: the sandbox against the existing output, per event id."""
    rc = spec.reconciliation
    return rt.ReconcileTask(
        replay=_identity(owner, grant, plan),
        kafka=_kafka(spec, grant),
        sandbox_topic=replayed_output(spec, plan, owner),
        existing=existing_output(spec, plan),
        event_id=_event_id(spec),
        canonical=rt.Canonical(headers=sorted(set(rc.canonical_headers)), key=rc.compare_key),
        report=rt.ReportOutput(
            topic=plan.report_topic or ReplayTopics.of(owner.namespace, owner.name, owner.uid).report,
            redis=_redis(spec, grant),
            sample_size=rc.sample_size,
        ),
        sink_topic=spec.sink.topic,
        refresh=rc.refresh,
        sink_format=sink_format(spec),
        tuning=rt.StepTuning(batch_size=spec.worker.batch_size),
    )


def build_promote_task(
    spec: EventReplaySpec, plan: Plan, owner: Owner, report_hash: str, grant: ClusterGrant = OPEN
) -> rt.PromoteTask:
    """The promotion Job's contract: one approved report's delta into the destination."""
    return rt.PromoteTask(
        replay=_identity(owner, grant, plan),
        kafka=_kafka(spec, grant),
        report_hash=report_hash,
        sink_topic=spec.sink.topic,
        existing_topic=spec.compared_topic,
        redis=_redis(spec, grant),
        tuning=rt.StepTuning(batch_size=spec.worker.batch_size),
    )


def build_gap_task(spec: EventReplaySpec, plan: Plan, join_seconds: int, grant: ClusterGrant = OPEN) -> GapTask:
    """The gap finder's contract: the planned source ranges against the output a replay would compare with."""
    rc = spec.reconciliation
    return GapTask(
        kafka=_kafka(spec, grant),
        source_topic=plan.topic,
        source_ranges=[
            wt.OffsetRange(partition=p.partition, start_offset=p.start_offset, end_offset=p.end_offset)
            for p in plan.partitions
        ],
        source_format=source_format(spec),
        source_event_id_field=spec.validation.event_id_field,
        existing=existing_output(spec, plan),
        sink_format=sink_format(spec),
        event_id=_event_id(spec),
        join_seconds=join_seconds,
        sample_size=rc.sample_size,
    )


def build_scan_task(
    spec: EventReplaySpec, plan: Plan, join_seconds: int, summary_key: str, grant: ClusterGrant = OPEN
) -> GapTask:
    """A watch's scan: the gap finder's task, its summary left under `summary_key` in the spec's Redis."""
    task = build_gap_task(spec, plan, join_seconds, grant)
    return task.model_copy(update={"summary": SummaryTarget(redis=_redis(spec, grant), key=summary_key)})


def _requested(plan: Plan) -> Requested | None:
    """The replay window whose overlapping windows are the results (None: an offset window, every window)."""
    window = plan.requested_window
    if window is None or plan.read_range is None:
        return None
    return Requested(
        from_ms=int(parse_time(window.from_).timestamp() * 1000),
        to_ms=int(parse_time(window.to).timestamp() * 1000),
        head_partitions=[p.partition for p in plan.partitions if p.at_head],
    )
