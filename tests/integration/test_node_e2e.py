"""End to end on the real node: `helm install`, `kubectl apply` a replay, approve, promoted.

The chart is installed with the image as built from the Dockerfile (imported into the node's
containerd, never pulled) in a namespace enforcing the restricted Pod Security Standard; the
operator runs as the Deployment's pod with its ServiceAccount's token (in-cluster config, the
`kubernetes` Service) and the chart's RBAC alone. The scenario (tests/support/chart_e2e.py, shared
with the kind test) is replayed by worker, reconcile and promote Jobs that run as containers of
that image on the real node; the figures must equal the seeded truth. What ran is read back from
containerd (user, read-only root, image), not from the specs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import config, containerd, images, kubelet
from eventreplay.operator.job_names import LABEL_STEP
from eventreplay.operator.kube import Kube
from support.chart_e2e import ChartCluster, ChartRun, chart_installed, replay_approve_promote

pytestmark = pytest.mark.stack


@pytest.fixture
def node_cluster(real_node: dict[str, str]) -> ChartCluster:
    """The local control plane with the real node; test namespaces schedule onto it."""
    image = images.project_image()
    containerd.import_image(image)  # the sources may have changed since the node came up
    annotations = {kubelet.NODE_SELECTOR_ANNOTATION: kubelet.node_selector()}
    return ChartCluster(config.kubeconfig_path(), image, annotations)


@pytest.fixture
def installed(node_cluster: ChartCluster, helm: Path, k: Kube, unique: str) -> Iterator[dict[str, str]]:
    with chart_installed(node_cluster, helm, unique) as names:
        yield names


def what_ran(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The OCI specs containerd ran the pod's containers with (by container id)."""
    ran = []
    for status in pod["status"].get("containerStatuses") or []:
        cid = status["containerID"].removeprefix("containerd://")
        info = containerd.ctr("containers", "info", cid)
        assert info.returncode == 0, info.stderr
        ran.append(json.loads(info.stdout))
    return ran


def test_helm_install_apply_approve_promote_on_the_real_node(
    node_cluster: ChartCluster, installed: dict[str, str], kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    op, apps = installed["op"], installed["apps"]
    (operator_pod,) = node_cluster.pods(op)
    assert operator_pod["spec"]["nodeName"] == kubelet.NODE_NAME
    replay_approve_promote(ChartRun(node_cluster, installed, kafka_admin, kafka_bootstrap, unique))
    approved_by = node_cluster.client().get_replay(apps, "e2e")
    assert approved_by is not None and approved_by["status"]["promotion"]["approvedBy"] == "kube-admin"

    # Worker, reconcile and promote pods ran on the real node as containers of the built image,
    # as uid 65532 with a read-only root.
    job_pods = [p for p in node_cluster.pods(apps) if p["metadata"].get("labels", {}).get("job-name")]
    steps = {p["metadata"]["labels"].get(LABEL_STEP, "replay") for p in job_pods}
    assert {"replay", "reconcile", "promote"} <= steps and len(job_pods) >= 5, [p["metadata"] for p in job_pods]
    for pod in [operator_pod, *job_pods]:
        assert pod["spec"]["nodeName"] == kubelet.NODE_NAME, pod["metadata"]["name"]
        for ran in what_ran(pod):
            assert ran["Image"] == node_cluster.image, ran["Image"]
            assert ran["Spec"]["process"]["user"]["uid"] == 65532
            assert ran["Spec"]["root"]["readonly"] is True
