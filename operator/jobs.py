"""Worker Jobs, built by pure functions: one Job per (partition, retry attempt), named deterministically.

The pod meets Pod Security *restricted* (plus a read-only root filesystem); credentials reach
it only through secretKeyRef to Secrets in the replay's namespace; the worker's exit codes map
to the Job's podFailurePolicy (permanent -> FailJob, retriable/fenced -> counted by backoffLimit,
disruptions ignored); `podReplacementPolicy: Failed` keeps a second pod from starting while the
first is still terminating (the transactional id fences it anyway).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventreplay.worker.contract import tasks as wt
from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT
from eventreplay.worker.contract.names import KAFKA_SETTINGS_ENV, REDIS_PASSWORD_ENV, TASK_ENV

from .api.v1alpha1 import GROUP, KIND, VERSION, EventReplaySpec, Plan, PlanPartition
from .config import OperatorConfig

CONTAINER = "worker"
LABEL_UID = f"{GROUP}/replay-uid"
LABEL_REPLAY = f"{GROUP}/replay"
LABEL_PARTITION = f"{GROUP}/partition"
LABEL_ATTEMPT = f"{GROUP}/attempt"
ANNOTATION_PLAN = f"{GROUP}/plan-hash"
DEFAULT_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}


@dataclass(frozen=True)
class Owner:
    """The EventReplay a Job belongs to."""

    namespace: str
    name: str
    uid: str


def job_name(replay: str, partition: int, attempt: int = 0) -> str:
    """`<replay>-<partition>[-r<attempt>]`, at most 63 characters (the job-name label limit).

    Long replay names are cut and a hash of the full name keeps them distinct.
    """
    suffix = f"-{partition}" + (f"-r{attempt}" if attempt else "")
    if len(replay) + len(suffix) <= 63:
        return replay + suffix
    digest = hashlib.sha256(replay.encode()).hexdigest()[:6]
    head = replay[: 63 - len(suffix) - len(digest) - 1].rstrip(".-")
    return f"{head}-{digest}{suffix}"


def label_value(text: str) -> str:
    """A valid label value (<= 63 chars, alnum at both ends) naming `text`."""
    if len(text) <= 63:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return re.sub(r"[^A-Za-z0-9]+$", "", text[:56]) + "-" + digest


def labels(owner: Owner, partition: int, attempt: int) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "eventreplay-worker",
        "app.kubernetes.io/managed-by": "eventreplay-operator",
        LABEL_REPLAY: label_value(owner.name),
        LABEL_UID: owner.uid,
        LABEL_PARTITION: str(partition),
        LABEL_ATTEMPT: str(attempt),
    }


def build_task(spec: EventReplaySpec, plan: Plan, part: PlanPartition, owner: Owner) -> wt.Task:
    """The worker's contract for one partition: the frozen range and how to replay it."""
    redis = spec.dedup.redis
    return wt.Task(
        replay=wt.ReplayIdentity(namespace=owner.namespace, name=owner.name, uid=owner.uid),
        kafka=wt.KafkaConnection(
            bootstrap_servers=spec.source.bootstrap_servers,
            settings_env=KAFKA_SETTINGS_ENV if spec.source.credentials_secret_ref else None,
        ),
        source=wt.SourceRange(
            topic=plan.topic,
            partition=part.partition,
            start_offset=part.start_offset,
            end_offset=part.end_offset,
        ),
        as_of=datetime.fromisoformat(plan.as_of.replace("Z", "+00:00")),
        validation=wt.Validation(
            event_id_field=spec.validation.event_id_field,
            json_schema=spec.validation.json_schema,
            model=spec.validation.model,
            max_event_bytes=spec.validation.max_event_bytes,
            timestamp_field=spec.validation.timestamp_field,
            max_future_skew_seconds=spec.validation.max_future_skew_seconds,
        ),
        dedup=wt.Dedup(
            redis_url=redis.url,
            password_env=REDIS_PASSWORD_ENV if redis.password_secret_ref else None,
            ledger=spec.dedup.ledger,
            mode=spec.dedup.mode,
            ttl_seconds=spec.dedup.ttl_seconds,
        ),
        transform=wt.Transform(function=spec.transform.function, fields=spec.transform.fields),
        output=wt.Output(sandbox_topic=plan.sandbox_topic, dead_letter_topic=plan.dead_letter_topic),
        tuning=wt.Tuning(batch_size=spec.worker.batch_size),
    )


def worker_env(spec: EventReplaySpec, task_env: str, task_json: str) -> list[dict[str, Any]]:
    """The task inline, and credentials only by secretKeyRef (never copied into the Job)."""
    env: list[dict[str, Any]] = [
        {"name": task_env, "value": task_json},
        {"name": "HOME", "value": "/tmp"},
        {"name": "PYTHONUNBUFFERED", "value": "1"},
    ]
    creds = spec.source.credentials_secret_ref
    if creds is not None:
        ref = {"name": creds.name, "key": creds.key}
        env.append({"name": KAFKA_SETTINGS_ENV, "valueFrom": {"secretKeyRef": ref}})
    password = spec.dedup.redis.password_secret_ref
    if password is not None:
        ref = {"name": password.name, "key": password.key}
        env.append({"name": REDIS_PASSWORD_ENV, "valueFrom": {"secretKeyRef": ref}})
    return env


def _resources(spec: EventReplaySpec) -> dict[str, Any]:
    if spec.worker.resources is None:
        return DEFAULT_RESOURCES
    return spec.worker.resources.model_dump(exclude_none=True)


def build_job(
    spec: EventReplaySpec,
    plan: Plan,
    part: PlanPartition,
    owner: Owner,
    config: OperatorConfig,
    *,
    attempt: int = 0,
    suspend: bool = False,
) -> dict[str, Any]:
    """The Job manifest for one partition (pure: same inputs, same bytes)."""
    task = build_task(spec, plan, part, owner)
    return job_manifest(
        spec,
        owner,
        config,
        name=job_name(owner.name, part.partition, attempt),
        job_labels=labels(owner, part.partition, attempt),
        annotations={ANNOTATION_PLAN: plan.hash},
        command=list(config.worker_command),
        env=worker_env(spec, TASK_ENV, task.to_json()),
        suspend=suspend,
    )


def job_manifest(
    spec: EventReplaySpec,
    owner: Owner,
    config: OperatorConfig,
    *,
    name: str,
    job_labels: dict[str, str],
    annotations: dict[str, str],
    command: list[str],
    env: list[dict[str, Any]],
    suspend: bool = False,
) -> dict[str, Any]:
    """A worker-image Job owned by the replay: restricted pod security, exit 10 fails the Job."""
    container = {
        "name": CONTAINER,
        "image": spec.worker.image or config.worker_image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": env,
        "resources": _resources(spec),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": owner.namespace,
            "labels": job_labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": KIND,
                    "name": owner.name,
                    "uid": owner.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "suspend": suspend,
            "completions": 1,
            "parallelism": 1,
            "backoffLimit": spec.worker.backoff_limit,
            "podReplacementPolicy": "Failed",
            "podFailurePolicy": {
                "rules": [
                    {
                        "action": "FailJob",
                        "onExitCodes": {
                            "containerName": CONTAINER,
                            "operator": "In",
                            "values": [EXIT_PERMANENT],
                        },
                    },
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
                ]
            },
            "template": {
                "metadata": {"labels": job_labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": config.run_as_user,
                        "runAsGroup": config.run_as_user,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
                },
            },
        },
    }
