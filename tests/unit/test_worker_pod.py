"""Worker pod placement and pull settings: chart defaults, a project's extension, the pod template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from operator_fixtures import operator_config, plan, spec
from pydantic import ValidationError

from eventreplay.operator.config import from_args
from eventreplay.operator.job_names import LABEL_UID, Owner
from eventreplay.operator.jobs import build_job, promotion_job
from eventreplay.operator.policy import Policy, PolicyDocument
from eventreplay.operator.worker_pod import WORKER_POD_ENV, WorkerPod, merged, pod_spec_fields
from support.policies import one_project_policy

OWNER = Owner(namespace="ns", name="orders", uid="uid-1")
NO_SCHEDULE = {"key": "dedicated", "operator": "Equal", "value": "replay", "effect": "NoSchedule"}
DEFAULTS = WorkerPod.model_validate(
    {
        "imagePullSecrets": ["registry"],
        "nodeSelector": {"pool": "batch", "arch": "amd64"},
        "tolerations": [NO_SCHEDULE],
        "priorityClassName": "low",
        "labels": {"team": "platform"},
        "annotations": {"sidecar.istio.io/inject": "false"},
    }
)
AFFINITY = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}


def _pod(**fields: Any) -> WorkerPod:
    return WorkerPod.model_validate(fields)


@pytest.mark.parametrize(
    ("project", "field", "expected"),
    [
        (None, "image_pull_secrets", ["registry"]),
        (_pod(imagePullSecrets=["orders-pull", "registry"]), "image_pull_secrets", ["registry", "orders-pull"]),
        (_pod(nodeSelector={"pool": "orders"}), "node_selector", {"pool": "orders", "arch": "amd64"}),
        (_pod(tolerations=[NO_SCHEDULE, {"operator": "Exists"}]), "tolerations", [NO_SCHEDULE, {"operator": "Exists"}]),
        (_pod(affinity=AFFINITY), "affinity", AFFINITY),
        (_pod(), "priority_class_name", "low"),
        (_pod(priorityClassName="high"), "priority_class_name", "high"),
        (_pod(labels={"team": "orders", "cost": "c1"}), "labels", {"team": "orders", "cost": "c1"}),
        (_pod(annotations={"a": "1"}), "annotations", {"sidecar.istio.io/inject": "false", "a": "1"}),
        (_pod(serviceAccountName="orders-worker"), "service_account_name", "orders-worker"),
    ],
)
def test_a_project_extends_lists_merges_maps_and_replaces_single_values(
    project: WorkerPod | None, field: str, expected: Any
) -> None:
    value = getattr(merged(DEFAULTS, project), field)
    if field == "tolerations":
        value = [t.model_dump(by_alias=True, exclude_none=True) for t in value]
    assert value == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"labels": {LABEL_UID: "other"}}, "the operator's own key"),
        ({"labels": {"eventreplay.io/anything": "x"}}, "the operator's own key"),
        ({"labels": {"app.kubernetes.io/managed-by": "me"}}, "the operator's own key"),
        ({"labels": {"batch.kubernetes.io/job-name": "x"}}, "the operator's own key"),
        ({"labels": {"job-name": "x"}}, "the operator's own key"),
        ({"annotations": {"eventreplay.io/plan-hash": "x"}}, "the operator's own key"),
        ({"labels": {"team": "not ok"}}, "not a valid label value"),
        ({"labels": {"bad key!": "x"}}, "not a valid Kubernetes key"),
        ({"affinity": {"nodeName": "n1"}}, "affinity: only"),
        ({"imagePullSecrets": ["Not_A_Name"]}, "not a Secret name"),
        ({"hostNetwork": True}, "Extra inputs are not permitted"),
    ],
)
def test_reserved_keys_and_invalid_settings_are_refused_with_the_reason(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WorkerPod.model_validate(fields)


def test_unset_settings_add_nothing_to_the_pod() -> None:
    assert pod_spec_fields(WorkerPod()) == {}
    p = plan([(0, 10, 20)])
    template = build_job(spec(), p, p.partitions[0], OWNER, operator_config())["spec"]["template"]
    assert "annotations" not in template["metadata"]
    assert "nodeSelector" not in template["spec"] and "imagePullSecrets" not in template["spec"]


def test_a_projects_settings_reach_every_worker_pod_and_never_override_the_operators() -> None:
    document = one_project_policy("orders", ["ns"], workerPod={"nodeSelector": {"pool": "orders"}})
    config = operator_config(policy=Policy(PolicyDocument.model_validate(document)), worker_pod=DEFAULTS)
    p = plan([(0, 10, 20)])
    jobs = (build_job(spec(), p, p.partitions[0], OWNER, config), promotion_job(spec(), p, OWNER, config, "a" * 64))
    for job in jobs:
        template = job["spec"]["template"]
        assert template["metadata"]["labels"] == {"team": "platform", **job["metadata"]["labels"]}
        assert template["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false"}
        pod = template["spec"]
        assert pod["imagePullSecrets"] == [{"name": "registry"}]
        assert pod["nodeSelector"] == {"pool": "orders", "arch": "amd64"}
        assert pod["tolerations"] == [NO_SCHEDULE]
        assert pod["priorityClassName"] == "low"
        assert pod["automountServiceAccountToken"] is False


def test_the_defaults_come_from_the_environment_as_the_chart_renders_them() -> None:
    rendered = {"imagePullSecrets": [], "nodeSelector": {"pool": "batch"}, "affinity": {}, "priorityClassName": ""}
    config = from_args([], {WORKER_POD_ENV: json.dumps(rendered)})
    assert config.worker_pod == WorkerPod(node_selector={"pool": "batch"})
    assert from_args([], {}).worker_pod == WorkerPod()
    with pytest.raises(SystemExit):
        from_args([], {WORKER_POD_ENV: json.dumps({"labels": {LABEL_UID: "x"}})})


def test_a_tenant_cannot_set_placement_in_the_spec() -> None:
    with pytest.raises(ValidationError, match="nodeSelector"):
        spec(worker={"nodeSelector": {"pool": "gpu"}})
