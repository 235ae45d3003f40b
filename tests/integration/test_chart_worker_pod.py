"""The chart's `worker.pod` and a policy project's `workerPod` reach the operator (issue 28): rendered
by helm, read back by the operator's own parsers, and merged into the fields of every worker pod
(`jobs.job_manifest` applies exactly these; tests/unit/test_worker_pod.py checks that)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventreplay.operator.api.v1alpha1 import EventReplaySpec
from eventreplay.operator.config import from_args
from eventreplay.operator.worker_pod import merged, pod_spec_fields
from support.chart_render import CHART, ChartDriver
from support.policies import one_project_policy

pytestmark = pytest.mark.stack
TOLERATION = {"key": "dedicated", "operator": "Equal", "value": "replay", "effect": "NoSchedule"}
AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["batch"]}]}]
        }
    }
}
VALUES: dict[str, Any] = {
    "worker": {
        "pod": {
            "imagePullSecrets": ["registry"],
            "nodeSelector": {"pool": "batch"},
            "tolerations": [TOLERATION],
            "affinity": AFFINITY,
            "priorityClassName": "replay-low",
            "annotations": {"sidecar.istio.io/inject": "false"},
        }
    },
    "policy": one_project_policy(
        "orders",
        ["orders"],
        bootstrap=["kafka:9092"],
        redis="redis:6379",
        workerPod={"imagePullSecrets": ["orders-pull"], "labels": {"team": "orders"}},
    ),
}


def render(chart: ChartDriver, tmp: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    path = tmp / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return chart.render("--values", str(path))


def test_worker_pod_values_and_a_projects_worker_pod_reach_the_jobs_the_operator_builds(
    chart: ChartDriver, tmp_path: Path
) -> None:
    docs = render(chart, tmp_path, VALUES)
    env = chart.env(docs)
    assert json.loads(env["EVENTREPLAY_WORKER_POD"]) == VALUES["worker"]["pod"], "set keys only, as given"
    (policy_map,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-policy")]
    policy = tmp_path / "policy.yaml"
    policy.write_text(policy_map["data"]["policy.yaml"])
    config = from_args(
        [], {"EVENTREPLAY_WORKER_POD": env["EVENTREPLAY_WORKER_POD"], "EVENTREPLAY_POLICY_FILE": str(policy)}
    )

    spec = EventReplaySpec.model_validate(
        {
            "source": {"cluster": "main", "topic": "orders"},
            "window": {"offsets": {"from": 0, "to": 10}},
            "dedup": {"redis": {"endpoint": "ledger"}, "ledger": "orders"},
            "sink": {"topic": "orders-out"},
        }
    )
    pod = merged(config.worker_pod, config.policy.worker_pod("orders", spec))
    assert (pod.labels, pod.annotations) == ({"team": "orders"}, {"sidecar.istio.io/inject": "false"})
    assert pod_spec_fields(pod) == {
        "imagePullSecrets": [{"name": "registry"}, {"name": "orders-pull"}],
        "nodeSelector": {"pool": "batch"},
        "tolerations": [TOLERATION],
        "affinity": AFFINITY,
        "priorityClassName": "replay-low",
    }


def test_the_default_install_sets_no_worker_pod_settings(chart: ChartDriver) -> None:
    assert "EVENTREPLAY_WORKER_POD" not in chart.env(chart.render())


@pytest.mark.parametrize(
    "pod", [{"hostNetwork": True}, {"tolerations": [{"effect": "Sometimes"}]}, {"affinity": {"nodeName": "n1"}}]
)
def test_the_values_schema_refuses_what_a_worker_pod_cannot_carry(
    chart: ChartDriver, tmp_path: Path, pod: dict[str, Any]
) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump({"worker": {"pod": pod}}))
    out = chart.run("template", "er", str(CHART), "--values", str(path))
    assert out.returncode != 0 and "values don't meet the specifications of the schema" in out.stderr
