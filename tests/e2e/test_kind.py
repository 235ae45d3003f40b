"""On a real kind cluster (pytest-kind), where a Docker engine exists: a laptop or hosted CI.

Here (no Docker engine) conftest skips these with the reason; the same chart scenario runs on the
real node (tests/integration/test_node_e2e.py) and the CRD and examples against the local control
plane (tests/integration/test_operator_api.py).

The chart scenario is the real node's (tests/support/chart_e2e.py): the image is built from the
Dockerfile with Docker and loaded into kind (never pulled), and kind's pods reach the local stack's
Kafka and Redis at the stack's pod gateway, through the same DNAT chain as the real node's pods —
which is why the kind cluster gets a pod subnet that does not contain that gateway.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_kind import KindCluster

from devstack import config, images, pod_network
from support.chart_e2e import ChartCluster, ChartRun, chart_installed, replay_approve_promote

pytestmark = pytest.mark.kind
KIND_CONFIG = """\
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  podSubnet: 10.250.0.0/16
"""


@pytest.fixture(scope="module")
def kind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KindCluster]:
    cluster_config = tmp_path_factory.mktemp("kind") / "cluster.yaml"
    cluster_config.write_text(KIND_CONFIG)
    cluster = KindCluster("eventreplay-e2e")
    cluster.create(config_file=cluster_config)
    try:
        yield cluster
    finally:
        cluster.delete()


def docker_image() -> str:
    """The Dockerfile built by Docker from exactly what it COPYs (the Dockerfile's default base)."""
    with tempfile.TemporaryDirectory(prefix="eventreplay-kind-") as tmp:
        tag = f"localhost/eventreplay:kind-{images.stage_context(Path(tmp))[:16]}"
        out = subprocess.run(["docker", "build", "-t", tag, tmp], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, f"docker build: {out.stderr[-4000:]}"
    return tag


def kind_bridge() -> str:
    """The Linux bridge of Docker's `kind` network (where kind's node containers are)."""
    out = subprocess.run(["docker", "network", "inspect", "kind"], capture_output=True, text=True, check=True)
    (network,) = json.loads(out.stdout)
    return str(network["Options"].get("com.docker.network.bridge.name") or f"br-{network['Id'][:12]}")


@pytest.fixture
def kind_chart_cluster(kind: KindCluster, local_stack: dict[str, str]) -> Iterator[ChartCluster]:
    image = docker_image()
    kind.load_docker_image(image)
    bridge = kind_bridge()
    pod_network.admit(bridge)
    try:
        yield ChartCluster(Path(kind.kubeconfig_path), image)
    finally:
        pod_network.release(bridge)


def test_crd_and_examples_apply_on_kind(kind: KindCluster, tmp_path: Path) -> None:
    kind.kubectl("apply", "--server-side", "-f", str(config.REPO / "crds"))
    kind.kubectl("wait", "--for=condition=Established", "crd/eventreplays.eventreplay.io", "--timeout=60s")
    for manifest in sorted((config.REPO / "examples").glob("*.yaml")):
        namespace = manifest.read_text().split("namespace:", 1)[1].split()[0]
        ns_file = tmp_path / f"{namespace}.yaml"
        ns_file.write_text(f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {namespace}}}\n")
        kind.kubectl("apply", "-f", str(ns_file))
        kind.kubectl("apply", "--dry-run=server", "-n", namespace, "-f", str(manifest))


def test_helm_install_apply_approve_promote_on_kind(
    kind_chart_cluster: ChartCluster, helm: Path, kafka_admin: Any, kafka_bootstrap: str, unique: str
) -> None:
    with chart_installed(kind_chart_cluster, helm, unique) as installed:
        replay_approve_promote(ChartRun(kind_chart_cluster, installed, kafka_admin, kafka_bootstrap, unique))
