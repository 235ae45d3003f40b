"""The Job builder: deterministic names, restricted pod security, secretKeyRef, failure policy."""

from __future__ import annotations

import json

import pytest
from operator_fixtures import env_of, operator_config, plan, spec

from eventreplay.operator.job_names import Owner, job_name, label_value
from eventreplay.operator.jobs import build_job
from eventreplay.worker.contract.environment import TASK_ENV
from eventreplay.worker.contract.tasks import Task

OWNER = Owner(namespace="payments", name="orders-2026-11-20", uid="uid-1")
CONFIG = operator_config(worker_image="img@sha256:abc")


def _job(**kwargs):  # type: ignore[no-untyped-def]
    p = plan([(0, 10, 20), (1, 0, 5)])
    return build_job(kwargs.pop("spec", spec()), p, p.partitions[0], OWNER, CONFIG, **kwargs)


def test_names_are_deterministic_and_fit_the_label_limit() -> None:
    assert job_name("orders", 3) == "orders-3"
    assert job_name("orders", 3, attempt=2) == "orders-3-r2"
    long = "a" * 100
    assert job_name(long, 999, 7) == job_name(long, 999, 7)
    assert len(job_name(long, 999, 7)) <= 63
    assert job_name(long, 1) != job_name(long[:-1] + "b", 1)
    assert len(label_value("x" * 100)) <= 63


def test_same_inputs_same_manifest() -> None:
    assert json.dumps(_job(), sort_keys=True) == json.dumps(_job(), sort_keys=True)


def test_owner_labels_and_annotations() -> None:
    job = _job()
    meta = job["metadata"]
    assert meta["name"] == "orders-2026-11-20-0"
    assert meta["namespace"] == "payments"
    ref = meta["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"], ref["blockOwnerDeletion"]) == (
        "EventReplay",
        "uid-1",
        True,
        True,
    )
    assert meta["labels"]["eventreplay.io/partition"] == "0"
    assert meta["labels"]["eventreplay.io/replay-uid"] == "uid-1"
    assert job["spec"]["template"]["metadata"]["labels"] == meta["labels"]


def test_restricted_pod_security() -> None:
    pod = _job()["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"
    sc = container["securityContext"]
    assert sc == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert all("hostPath" not in v for v in pod["volumes"])
    assert container["image"] == "img@sha256:abc"


def test_failure_policy_and_backoff() -> None:
    job_spec = _job(spec=spec(worker={"backoffLimit": 5}))["spec"]
    assert job_spec["backoffLimit"] == 5
    assert job_spec["podReplacementPolicy"] == "Failed"
    fail = job_spec["podFailurePolicy"]["rules"][0]
    assert fail == {
        "action": "FailJob",
        "onExitCodes": {"containerName": "worker", "operator": "In", "values": [10]},
    }


def test_suspend_flag() -> None:
    assert _job(suspend=True)["spec"]["suspend"] is True
    assert _job()["spec"]["suspend"] is False


def test_credentials_only_through_secret_key_refs() -> None:
    source = {"bootstrapServers": "k:9092", "topic": "orders", "credentialsSecretRef": {"name": "kafka-client"}}
    redis = {"url": "redis://r:6379/0", "passwordSecretRef": {"name": "redis"}}
    env = env_of(_job(spec=spec(source=source, dedup={"redis": redis, "ledger": "orders"})))
    assert env["EVENTREPLAY_KAFKA_SETTINGS"]["valueFrom"] == {
        "secretKeyRef": {"name": "kafka-client", "key": "client.properties"}
    }
    assert env["EVENTREPLAY_REDIS_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "redis", "key": "password"}}
    task = Task.model_validate_json(env[TASK_ENV]["value"])
    assert task.kafka.settings_env == "EVENTREPLAY_KAFKA_SETTINGS"
    assert task.dedup.password_env == "EVENTREPLAY_REDIS_PASSWORD"


@pytest.mark.parametrize("partition", [0, 1])
def test_task_carries_the_frozen_range(partition: int) -> None:
    p = plan([(0, 10, 20), (1, 0, 5)])
    job = build_job(spec(), p, p.partitions[partition], OWNER, CONFIG)
    task = Task.model_validate_json(env_of(job)[TASK_ENV]["value"])
    assert (task.source.partition, task.source.start_offset, task.source.end_offset) == (
        partition,
        p.partitions[partition].start_offset,
        p.partitions[partition].end_offset,
    )
    assert task.replay.uid == "uid-1"
    assert task.output.sandbox_topic == p.sandbox_topic
    assert task.as_of.isoformat() == "2026-11-20T12:00:00+00:00"
