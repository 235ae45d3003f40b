"""Every Job the operator creates, built by pure functions (same inputs, same manifest): one per
(partition, retry attempt), one combine Job (aggregate replays), one reconciliation Job, one
promotion Job per approved report.

All share one pod template: Pod Security *restricted* (plus a read-only root filesystem);
credentials reach the pod only through secretKeyRef to Secrets in the replay's namespace; the
worker's exit codes map to the Job's podFailurePolicy (permanent -> FailJob, retriable/fenced ->
counted by backoffLimit, disruptions ignored); `podReplacementPolicy: Failed` keeps a second pod
from starting while the first is still terminating (the transactional id fences it anyway).
"""

from __future__ import annotations

from typing import Any

from eventreplay.worker.contract.environment import (
    COMBINE_TASK_ENV,
    PROMOTE_TASK_ENV,
    RECONCILE_TASK_ENV,
    TASK_ENV,
)
from eventreplay.worker.contract.exit_codes import EXIT_PERMANENT
from eventreplay.worker.contract.step_tasks import RolloutStep

from .api.v1alpha1 import EventReplaySpec, Plan, PlanPartition
from .config import OperatorConfig
from .job_names import (
    ANNOTATION_PLAN,
    ANNOTATION_REFRESH,
    ANNOTATION_REPORT,
    ANNOTATION_ROLLOUT_STEP,
    Owner,
    Step,
    job_labels,
    job_name,
    owner_reference,
    promotion_job_name,
    reconciliation_job_name,
    step_job_name,
)
from .job_tasks import build_combine_task, build_promote_task, build_reconcile_task, build_task
from .schema_config_map import config_map, mount, schema_file, volume
from .worker_env import worker_env
from .worker_pod import merged, pod_metadata, pod_spec_fields

CONTAINER = "worker"
DEFAULT_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}


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
    """The worker Job for one partition."""
    grant = config.policy.grant(owner.namespace, spec)
    task = build_task(spec, plan, part, owner, grant, schema_file=schema_file(spec))
    schema_map = config_map(spec, owner)
    return job_manifest(
        spec,
        owner,
        config,
        name=job_name(owner.name, part.partition, attempt),
        labels=job_labels(owner, attempt, partition=part.partition),
        annotations={ANNOTATION_PLAN: plan.hash},
        command=list(config.worker_command),
        env=worker_env(spec, TASK_ENV, task.to_json(), grant),
        suspend=suspend,
        schema_map=None if schema_map is None else schema_map["metadata"]["name"],
    )


def combine_job(
    spec: EventReplaySpec, plan: Plan, owner: Owner, config: OperatorConfig, *, attempt: int = 0
) -> dict[str, Any]:
    """The Job merging an aggregate replay's sandbox into window results (one per replay and retry)."""
    task = build_combine_task(spec, plan, owner, config.policy.grant(owner.namespace, spec)).to_json()
    name = step_job_name(owner.name, "combine", attempt)
    annotations = {ANNOTATION_PLAN: plan.hash}
    return step_job(spec, owner, config, "combine", name=name, attempt=attempt, annotations=annotations, task_json=task)


def reconciliation_job(
    spec: EventReplaySpec, plan: Plan, owner: Owner, config: OperatorConfig, *, attempt: int = 0
) -> dict[str, Any]:
    """The Job comparing the sandbox with the existing output (one per replay and retry)."""
    task = build_reconcile_task(spec, plan, owner, config.policy.grant(owner.namespace, spec)).to_json()
    refresh = spec.reconciliation.refresh
    name = reconciliation_job_name(owner.name, attempt, refresh)
    annotations = {ANNOTATION_PLAN: plan.hash, ANNOTATION_REFRESH: str(refresh)}
    return step_job(
        spec, owner, config, "reconcile", name=name, attempt=attempt, annotations=annotations, task_json=task
    )


def promotion_job(
    spec: EventReplaySpec,
    plan: Plan,
    owner: Owner,
    config: OperatorConfig,
    report_hash: str,
    *,
    attempt: int = 0,
    rollout: RolloutStep | None = None,
) -> dict[str, Any]:
    """The Job writing one approved report's delta (one per report, rollout step and retry)."""
    task = build_promote_task(spec, plan, owner, report_hash, config.policy.grant(owner.namespace, spec))
    index = rollout.index if rollout is not None else 0
    notes = {ANNOTATION_REPORT: report_hash, **({ANNOTATION_ROLLOUT_STEP: str(index)} if index else {})}
    name, json = (
        promotion_job_name(owner.name, report_hash, attempt, index),
        task.model_copy(update={"rollout": rollout}).to_json(),
    )
    return step_job(spec, owner, config, "promote", name=name, attempt=attempt, annotations=notes, task_json=json)


STEP_TASK_ENV: dict[Step, str] = {
    "combine": COMBINE_TASK_ENV,
    "reconcile": RECONCILE_TASK_ENV,
    "promote": PROMOTE_TASK_ENV,
}


def step_job(
    spec: EventReplaySpec,
    owner: Owner,
    config: OperatorConfig,
    step: Step,
    *,
    name: str,
    attempt: int,
    annotations: dict[str, str],
    task_json: str,
) -> dict[str, Any]:
    """A post-replay step's Job: the step label, the step's verb, its task in the step's variable."""
    return job_manifest(
        spec,
        owner,
        config,
        name=name,
        labels=job_labels(owner, attempt, step=step),
        annotations=annotations,
        command=step_command(config, step),
        env=worker_env(spec, STEP_TASK_ENV[step], task_json, config.policy.grant(owner.namespace, spec)),
    )


def step_command(config: OperatorConfig, step: str) -> list[str]:
    """The configured worker command with its `run` verb swapped for the step's (or `gaps`)."""
    base = list(config.worker_command)
    if base and base[-1] == "run":
        base = base[:-1]
    return [*base, step]


def _resources(spec: EventReplaySpec) -> dict[str, Any]:
    if spec.worker.resources is None:
        return DEFAULT_RESOURCES
    return spec.worker.resources.model_dump(exclude_none=True)


def job_manifest(
    spec: EventReplaySpec,
    owner: Owner,
    config: OperatorConfig,
    *,
    name: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    command: list[str],
    env: list[dict[str, Any]],
    suspend: bool = False,
    schema_map: str | None = None,
) -> dict[str, Any]:
    """A worker-image Job owned by the replay: restricted pod security, exit 10 fails the Job; the
    platform's placement and pull settings (never the operator's labels: they are applied last); the
    replay's schema ConfigMap (`schema_map`) mounted read-only where its task says."""
    pod = merged(config.worker_pod, config.policy.worker_pod(owner.namespace, spec))
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    if schema_map is not None:
        volumes.append(volume(schema_map))
        mounts.append(mount())
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": owner.namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": {
            "suspend": suspend,
            "completions": 1,
            "parallelism": 1,
            "backoffLimit": spec.worker.backoff_limit,
            "podReplacementPolicy": "Failed",
            "podFailurePolicy": _pod_failure_policy(),
            "template": {
                "metadata": pod_metadata(pod, labels),
                "spec": {
                    **pod_spec_fields(pod),
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": _pod_security(config),
                    "containers": [_container(spec, config, command, env, mounts)],
                    "volumes": volumes,
                },
            },
        },
    }


def _pod_security(config: OperatorConfig) -> dict[str, Any]:
    """Restricted; the fixed uid/gid only where the platform does not assign one (OpenShift)."""
    uid = {} if config.run_as_user is None else {"runAsUser": config.run_as_user, "runAsGroup": config.run_as_user}
    return {"runAsNonRoot": True, **uid, "seccompProfile": {"type": "RuntimeDefault"}}


def _container(
    spec: EventReplaySpec,
    config: OperatorConfig,
    command: list[str],
    env: list[dict[str, Any]],
    mounts: list[dict[str, Any]],
) -> dict[str, Any]:
    """The worker container: the configured (or allowlisted) image, locked down."""
    return {
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
        "volumeMounts": mounts,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def _pod_failure_policy() -> dict[str, Any]:
    """Exit 10 (permanent) fails the Job at once; a disrupted pod does not count against backoffLimit."""
    return {
        "rules": [
            {
                "action": "FailJob",
                "onExitCodes": {"containerName": CONTAINER, "operator": "In", "values": [EXIT_PERMANENT]},
            },
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
        ]
    }
