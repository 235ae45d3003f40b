"""The chart's previous version and the upgrade to this one, as docs/operations.md "Upgrades" says.

The previous version is the chart (and the source tree its image is built from) at PREVIOUS_COMMIT,
the last commit before this version's CRD changes. The upgrade commands are built here once: the
real-node test runs them and a unit test checks the docs print the very same ones.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from devstack import config
from support.chart_e2e import ChartCluster

PREVIOUS_COMMIT = "7d99ca5"
PREVIOUS_VERSION = "0.1.0"
CRD_NAME = "eventreplays.eventreplay.io"
CRD_PATH = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}"
# Fields the CRD gained since the previous version: applying the new CRD must bring them.
NEW_CRD_FIELDS = (
    ("status", "partitions", "blocked"),
    ("spec", "transform", "aggregate", "engine"),
    ("spec", "source", "format"),
)


def previous_tree(into: Path) -> Path:
    """The repository at PREVIOUS_COMMIT unpacked into `into` (git archive): its chart and the
    sources its image is built from. Needs the commit: CI clones with full history."""
    have = subprocess.run(["git", "-C", str(config.REPO), "cat-file", "-t", PREVIOUS_COMMIT], capture_output=True)
    assert have.returncode == 0, (
        f"commit {PREVIOUS_COMMIT} (chart {PREVIOUS_VERSION}, the previous version) is not in {config.REPO}: "
        "a shallow clone? `git fetch --unshallow` and run again"
    )
    archive = subprocess.run(["git", "-C", str(config.REPO), "archive", PREVIOUS_COMMIT], capture_output=True)
    assert archive.returncode == 0, archive.stderr.decode()
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def chart_version(chart: Path) -> str:
    return str(yaml.safe_load((chart / "Chart.yaml").read_text())["version"])


def stop_operator_argv(release: str, namespace: str) -> list[str]:
    """Step 2 of the docs: the old operator stopped before the new CRD is served, whose defaults for
    fields it does not know (`source.format`) it would refuse as an invalid spec; `helm upgrade`
    brings the Deployment back to the chart's one replica. Jobs run on meanwhile."""
    selector = f"app.kubernetes.io/instance={release}"
    return ["kubectl", "scale", "deployment", "-n", namespace, "-l", selector, "--replicas=0"]


def crd_upgrade_argv(chart: Path) -> list[str]:
    """Step 3 of the docs: helm never upgrades crds/, so they are applied first; --force-conflicts
    takes over the fields of whoever created the CRD (helm, at the first install)."""
    return ["kubectl", "apply", "--server-side", "--force-conflicts", "-f", f"{chart}/crds/"]


def helm_upgrade_argv(release: str, chart: Path, namespace: str, *sets: str) -> list[str]:
    """Step 4 of the docs. --reset-then-reuse-values (Helm 3.14): the new chart's defaults under
    the release's own values; --reuse-values would keep the old chart's defaults, which lack the
    values the new chart added, and the render fails."""
    argv = ["helm", "upgrade", release, str(chart), "-n", namespace, "--reset-then-reuse-values"]
    return [*argv, *(a for s in sets for a in ("--set", s))]


def put_crd(cluster: ChartCluster, chart: Path) -> dict[str, Any]:
    """Replace the cluster's CRD by `chart`'s as a whole (a PUT, so fields it lacks go), as a
    cluster that ran that version has it; the CRD as stored."""
    k = cluster.client()
    body = yaml.safe_load((chart / "crds" / "eventreplay.io_eventreplays.yaml").read_text())
    live = k.call("GET", CRD_PATH)
    body["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
    return dict(k.call("PUT", CRD_PATH, body))


def schema_has(crd: dict[str, Any], path: tuple[str, ...]) -> bool:
    """Whether the CRD's (only) version's schema has the field at `path` (arrays walked through)."""
    node = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for name in path:
        while node.get("type") == "array":
            node = node["items"]
        if name not in (node.get("properties") or {}):
            return False
        node = node["properties"][name]
    return True


def wait_served(cluster: ChartCluster, field: str, present: bool, timeout: float = 60) -> None:
    """Until the API server's published schema knows (or no longer knows) `field` (kubectl explain)."""
    deadline = time.monotonic() + timeout
    while (cluster.run("explain", f"eventreplays.{field}").returncode == 0) != present:
        assert time.monotonic() < deadline, f"the API server still {'lacks' if present else 'serves'} {field}"
        time.sleep(1)


def jobs(cluster: ChartCluster, ns: str) -> dict[str, str]:
    """The namespace's Jobs: name -> uid."""
    items = json.loads(cluster.kubectl("get", "jobs", "-n", ns, "-o", "json"))["items"]
    return {j["metadata"]["name"]: j["metadata"]["uid"] for j in items}


def operator_pod_after(cluster: ChartCluster, ns: str, old_pod: str, timeout: float = 180) -> dict[str, Any]:
    """The operator's one pod once the old one is gone and the new one is Ready."""
    deadline = time.monotonic() + timeout
    while True:
        pods = [p for p in cluster.pods(ns) if p["metadata"]["name"] != old_pod]
        ready = [p for p in pods if _ready(p)]
        if len(ready) == 1 and len(cluster.pods(ns)) == 1:
            return ready[0]
        assert time.monotonic() < deadline, f"operator pod after the upgrade: {[p['metadata'] for p in pods]}"
        time.sleep(1)


def _ready(pod: dict[str, Any]) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def wait_no_pods(cluster: ChartCluster, ns: str, timeout: float = 120) -> None:
    """Until the namespace has no pod (the stopped operator's is gone)."""
    deadline = time.monotonic() + timeout
    while pods := cluster.pods(ns):
        assert time.monotonic() < deadline, f"pods left in {ns}: {[p['metadata']['name'] for p in pods]}"
        time.sleep(1)
