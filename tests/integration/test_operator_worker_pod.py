"""Worker pod placement and pull settings on the real stack (issue 28): the operator's defaults
(EVENTREPLAY_WORKER_POD, as the chart renders `worker.pod`) and a policy project's `workerPod` reach
the Jobs the API server stores and the pods the Job controller creates, under the operator's own
labels (the replay's uid selector still finds them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from devstack import config
from eventreplay.operator.job_names import LABEL_UID
from eventreplay.operator.kube import Kube
from support.kafka_tools import seed_partitions
from support.operator_driver import OperatorDriver
from support.policies import one_project_policy
from support.replay_specs import stack_replay

pytestmark = pytest.mark.stack
ISTIO_OPT_OUT = {"sidecar.istio.io/inject": "false"}
DEDICATED = {"key": "dedicated", "operator": "Equal", "value": "replay", "effect": "NoSchedule"}
DEFAULTS = {"imagePullSecrets": ["platform-pull"], "tolerations": [DEDICATED], "annotations": ISTIO_OPT_OUT}


@pytest.fixture
def priority_class(driver: OperatorDriver, unique: str) -> Iterator[str]:
    """A PriorityClass of the test's own (cluster-wide), so the Priority admission lets the pods in."""
    name = f"replay-{unique}"
    path = "/apis/scheduling.k8s.io/v1/priorityclasses"
    driver.k.call("POST", path, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                 "metadata": {"name": name}, "value": 100})  # fmt: skip
    yield name
    driver.k.call("DELETE", f"{path}/{name}")


def write_policy(tmp: Path, namespace: str, worker_pod: dict[str, Any]) -> Path:
    redis = urlsplit(config.redis_url())
    doc = one_project_policy(
        "orders",
        [namespace],
        bootstrap=config.kafka_bootstrap().split(","),
        redis=f"{redis.hostname}:{redis.port}",
        sourceTopics=["placed-*"],
        sinkTopics=["placed-*"],
        workerPod=worker_pod,
    )
    path = tmp / "policy.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def spec(topic: str) -> dict[str, Any]:
    return stack_replay(topic, ledger=f"placed-{topic}", sink_topic=f"{topic}-out")


def pods(k: Kube, namespace: str, uid: str) -> list[dict[str, Any]]:
    return k.list_pods(namespace, f"{LABEL_UID}={uid}")


def test_chart_defaults_and_the_projects_settings_reach_the_worker_jobs_and_pods(
    driver: OperatorDriver, *, namespace: str, kafka_admin: Any, unique: str, tmp_path: Path, priority_class: str
) -> None:
    topic = f"placed-{unique}"
    seed_partitions(kafka_admin, config.kafka_bootstrap(), topic, (10,))
    # A node label nothing carries: the pod stays Pending, and nothing but its manifest is judged.
    project = {
        "imagePullSecrets": ["orders-pull"],
        "nodeSelector": {"pool": f"nowhere-{unique}"},
        "tolerations": [{"key": "spot", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}],
        "priorityClassName": priority_class,
        "labels": {"team": "orders"},
        "annotations": {"cost-center": "c-17"},
    }
    env = {
        "EVENTREPLAY_POLICY_FILE": str(write_policy(tmp_path, namespace, project)),
        "EVENTREPLAY_WORKER_POD": json.dumps(DEFAULTS),
    }
    with driver.running(env):
        replay = driver.create("placed", spec(topic))
        uid = replay["metadata"]["uid"]
        (job,) = driver.wait_for(lambda: driver.jobs(replay) or None, 90, "the partition's Job")
        template = job["spec"]["template"]
        assert template["metadata"]["labels"]["team"] == "orders"
        assert template["metadata"]["labels"][LABEL_UID] == uid, "the operator's selector label stays its own"
        assert template["metadata"]["annotations"] == {**ISTIO_OPT_OUT, "cost-center": "c-17"}
        pod_spec = template["spec"]
        assert pod_spec["imagePullSecrets"] == [{"name": "platform-pull"}, {"name": "orders-pull"}]
        assert pod_spec["nodeSelector"] == {"pool": f"nowhere-{unique}"}
        assert pod_spec["tolerations"] == [DEDICATED, project["tolerations"][0]]
        assert pod_spec["priorityClassName"] == priority_class
        assert pod_spec["automountServiceAccountToken"] is False

        (pod,) = driver.wait_for(lambda: pods(driver.k, namespace, uid) or None, 60, "the worker pod")
        assert pod["metadata"]["annotations"]["sidecar.istio.io/inject"] == "false"
        assert pod["metadata"]["labels"]["team"] == "orders"
        assert pod["spec"]["priorityClassName"] == priority_class
        assert pod["spec"]["nodeSelector"] == {"pool": f"nowhere-{unique}"}
