"""End to end on the real node: `helm install`, `kubectl apply` a replay, approve, promoted.

The chart is installed with the image as built from the Dockerfile (imported into the node's
containerd, never pulled) in a namespace enforcing the restricted Pod Security Standard; the
operator runs as the Deployment's pod with its ServiceAccount's token (in-cluster config, the
`kubernetes` Service) and the chart's RBAC alone. The seeded reconciliation scenario (shared with
test_operator_reconciliation.py and the kind test) is replayed by worker, reconcile and promote
Jobs that run as containers of that image on the real node; the figures must equal the seeded
truth. What ran is read back from containerd (user, read-only root, image), not from the specs.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli
from operator_helpers import condition, wait_for_condition, wait_for_replay

from devstack import config, containerd, images, kube, kubelet
from eventreplay.operator.job_names import LABEL_STEP
from eventreplay.operator.kube import Kube
from support.reconciliation_checks import check_destination, check_report, replay_spec
from support.reconciliation_scenario import build

pytestmark = pytest.mark.stack
CHART = config.REPO / "charts" / "eventreplay-operator"


def kubectl(*args: str, stdin: str | None = None, timeout: float = 60) -> str:
    out = kube.kubectl(*args, stdin=stdin, timeout=timeout)
    assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stderr}"
    return out.stdout


def node_namespace(name: str) -> None:
    """A namespace enforcing `restricted` whose pods go to the real node."""
    kubectl("create", "namespace", name)
    kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
    kubectl("annotate", "namespace", name, f"{kubelet.NODE_SELECTOR_ANNOTATION}={kubelet.node_selector()}")


@pytest.fixture
def installed(real_node: dict[str, str], helm: Path, k: Kube, unique: str) -> Iterator[dict[str, str]]:
    """The chart installed (namespaced mode, watching the replay namespace) and its operator Ready."""
    op, apps, release = f"e2e-op-{unique}", f"e2e-{unique}", f"er{unique}"
    node_namespace(op)
    node_namespace(apps)
    image = images.project_image()
    containerd.import_image(image)  # the sources may have changed since the node came up
    repository, _, tag = image.partition(":")
    values = [
        f"image.repository={repository}",
        f"image.tag={tag}",
        "image.pullPolicy=Never",
        f"watchNamespaces={{{apps}}}",
        "operator.statusIntervalSeconds=2",
    ]
    argv = [str(helm), "install", release, str(CHART), "-n", op, *(a for v in values for a in ("--set", v))]
    env = {**os.environ, "KUBECONFIG": str(config.kubeconfig_path())}
    out = subprocess.run([*argv, "--wait", "--timeout=120s"], capture_output=True, text=True, env=env, timeout=180)
    names = {"op": op, "apps": apps, "release": release, "image": image}
    try:
        assert out.returncode == 0, f"helm install: {out.stderr}\n{operator_log(op)}"
        yield names
    finally:
        subprocess.run([str(helm), "uninstall", release, "-n", op, "--wait"], capture_output=True, env=env, timeout=120)
        kube.kubectl("delete", "namespace", op, apps, "--wait=false")


def operator_log(ns: str) -> str:
    out = kube.kubectl("logs", "-n", ns, "-l", "app.kubernetes.io/name=eventreplay-operator", "--tail=-1")
    return out.stdout + out.stderr


def pods(ns: str) -> list[dict[str, Any]]:
    return list(json.loads(kubectl("get", "pods", "-n", ns, "-o", "json"))["items"])


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
    installed: dict[str, str], k: Kube, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    op, apps = installed["op"], installed["apps"]
    (operator_pod,) = pods(op)
    assert operator_pod["spec"]["nodeName"] == kubelet.NODE_NAME
    sc = build(kafka_bootstrap, kafka_admin, unique, per_partition=1000, seed=29, run_workers=False)
    spec = replay_spec(
        sc, unique, {"policy": "Manual"}, bootstrap=config.pod_kafka_bootstrap(), redis_url=config.pod_redis_url()
    )
    manifest = {
        "apiVersion": "eventreplay.io/v1alpha1",
        "kind": "EventReplay",
        "metadata": {"name": "e2e"},
        "spec": spec,
    }
    kubectl("apply", "-n", apps, "-f", "-", stdin=json.dumps(manifest))

    try:
        got = wait_for_condition(k, apps, "e2e", "Reconciled", timeout=420)
    except AssertionError as err:
        raise AssertionError(f"{err}\noperator log:\n{operator_log(op)[-6000:]}") from err
    digest = check_report(got, sc)["reportHash"]
    assert condition(got, "Promoted")["reason"] == "AwaitingApproval"
    # As a user approves under the chart's approval policy: the CLI names the approver (who we are).
    approved = cli("approve", "e2e", "-n", apps, "--kubeconfig", str(config.kubeconfig_path()))
    assert approved.returncode == 0, approved.stderr
    done = wait_for_replay(
        k, apps, "e2e", lambda r: condition(r, "Ready").get("status") == "True", "Ready", timeout=300
    )
    assert done["status"]["promotion"]["written"] == len(sc.delta)
    assert done["status"]["promotion"]["approvedBy"] == "kube-admin"
    check_destination(kafka_bootstrap, sc, apps, "e2e", digest)

    # Worker, reconcile and promote pods ran on the real node as containers of the built image,
    # as uid 65532 with a read-only root.
    job_pods = [p for p in pods(apps) if p["metadata"].get("labels", {}).get("job-name")]
    steps = {p["metadata"]["labels"].get(LABEL_STEP, "replay") for p in job_pods}
    assert {"replay", "reconcile", "promote"} <= steps and len(job_pods) >= 5, [p["metadata"] for p in job_pods]
    for pod in [operator_pod, *job_pods]:
        assert pod["spec"]["nodeName"] == kubelet.NODE_NAME, pod["metadata"]["name"]
        for ran in what_ran(pod):
            assert ran["Image"] == installed["image"], ran["Image"]
            assert ran["Spec"]["process"]["user"]["uid"] == 65532
            assert ran["Spec"]["root"]["readonly"] is True

    # The operator did all of that with the chart's RBAC: not one call was refused.
    log = operator_log(op)
    assert "Forbidden" not in log and " 403" not in log, log[-6000:]
