"""The reconciliation/promotion Job and task builders (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from operator_fixtures import env_of, operator_config, plan, spec

from eventreplay.operator.job_names import LABEL_PARTITION, Owner, promotion_job_name
from eventreplay.operator.job_tasks import existing_output
from eventreplay.operator.jobs import promotion_job, reconciliation_job
from eventreplay.worker.contract.environment import PROMOTE_TASK_ENV, RECONCILE_TASK_ENV
from eventreplay.worker.contract.names import short_uid
from eventreplay.worker.contract.step_tasks import PromoteTask, ReconcileTask

OWNER = Owner("ns", "r", "uid-1")
PLAN = plan([(0, 0, 100), (1, 0, 50)])
HASH = "cd" * 32
CONFIG = operator_config(worker_command=("python", "-m", "eventreplay.worker", "run"))


def test_existing_output_follows_the_documented_precedence() -> None:
    ts = spec(window={"timestamps": {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T11:00:00Z"}})
    out = existing_output(ts, PLAN)
    assert out.topic == "orders-out" and out.timestamps is not None
    assert out.timestamps.from_ == datetime(2026, 11, 20, 10, tzinfo=UTC) and out.timestamps.slack_seconds == 600
    rel = spec(window={"relative": {"fromSecondsAgo": 3600}}, reconciliation={"slackSeconds": 5})
    out = existing_output(rel, PLAN)
    assert out.timestamps is not None and out.timestamps.to == datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert out.timestamps.slack_seconds == 5
    whole = existing_output(spec(), PLAN)  # an offset window: all the destination retains
    assert whole.timestamps is not None and whole.timestamps.from_.year == 1970
    explicit = spec(
        reconciliation={"comparisonTopic": "cmp", "existingOffsets": [{"partition": 3, "from": 5, "to": 9}]}
    )
    out = existing_output(explicit, PLAN)
    assert out.topic == "cmp" and out.offsets is not None
    assert [(r.partition, r.start_offset, r.end_offset) for r in out.offsets] == [(3, 5, 9)]


def test_reconcile_job_carries_the_task_and_the_worker_conventions() -> None:
    s = spec(
        reconciliation={"eventId": {"source": "valueField", "field": "id"}, "canonicalHeaders": ["b", "a", "b"]},
        dedup={"redis": {"url": "redis://r:6379/0", "passwordSecretRef": {"name": "redis"}}, "ledger": "l"},
    )
    job = reconciliation_job(s, PLAN, OWNER, CONFIG)
    assert job == reconciliation_job(s, PLAN, OWNER, CONFIG), "pure"
    meta = job["metadata"]
    assert meta["name"] == "r-reconcile" and meta["ownerReferences"][0]["uid"] == "uid-1"
    assert LABEL_PARTITION not in meta["labels"] and meta["labels"]["eventreplay.io/step"] == "reconcile"
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "eventreplay.worker", "reconcile"]
    assert pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    assert job["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"] == [10]
    env = env_of(job)
    assert env["EVENTREPLAY_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "redis", "key": "password"}
    task = ReconcileTask.model_validate_json(env[RECONCILE_TASK_ENV]["value"])
    assert task.sandbox_topic == PLAN.sandbox_topic and task.replay.uid == "uid-1"
    assert (
        task.report.topic == f"eventreplay.ns.r.{short_uid('uid-1')}.report"
        and task.report.redis.password_env is not None
    )
    assert (task.event_id.source, task.event_id.field, task.canonical.headers) == ("valueField", "id", ["a", "b"])
    assert task.report.redis.password_env == "EVENTREPLAY_REDIS_PASSWORD"  # the secret is only named


def test_promote_job_is_named_by_the_report_and_promotes_it_to_the_sink() -> None:
    job = promotion_job(spec(), PLAN, OWNER, CONFIG, HASH, attempt=2)
    assert job["metadata"]["name"] == f"r-promote-{HASH[:12]}-r2"
    assert job["metadata"]["annotations"]["eventreplay.io/report-hash"] == HASH
    task = PromoteTask.model_validate_json(env_of(job)[PROMOTE_TASK_ENV]["value"])
    assert (task.report_hash, task.sink_topic, task.partitions) == (HASH, "orders-out", None)


def test_long_names_fit_the_label_limit_and_stay_distinct() -> None:
    a = promotion_job_name("x" * 100, HASH, 3)
    b = promotion_job_name("x" * 99 + "y", HASH, 3)
    assert len(a) <= 63 and len(b) <= 63 and a != b and a.endswith(f"-promote-{HASH[:12]}-r3")
