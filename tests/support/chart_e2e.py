"""The chart's end-to-end scenario, shared by the real-node test and the kind test.

A platform team's first contact: `helm install` the chart (the image as built, the operator as the
Deployment with its ServiceAccount, namespaced mode) into namespaces enforcing the restricted Pod
Security Standard, `kubectl apply` a replay of the seeded reconciliation scenario, wait for
Reconciled, approve with the CLI, wait for Ready; the figures must equal the seeded truth and the
operator's log must show no refused API call. Only where the cluster comes from and what is checked
about the node differ between the callers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import config, kube
from eventreplay.operator.kube import Kube, api_client
from support.chart_render import CHART
from support.reconciliation_checks import check_report, check_sink, replay_spec
from support.reconciliation_scenario import Scenario, build
from support.replay_waits import condition, wait_for_condition, wait_for_replay

OPERATOR_LABEL = "app.kubernetes.io/name=eventreplay-operator"


@dataclass(frozen=True)
class ChartCluster:
    """A cluster to install into: its kubeconfig, the image its nodes already hold (never pulled),
    and annotations every test namespace needs there (the real node's selector)."""

    kubeconfig: Path
    image: str
    namespace_annotations: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(kube.kubectl_path()), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        out = self.run(*args, stdin=stdin, timeout=timeout)
        assert out.returncode == 0, f"kubectl {' '.join(args)}: {out.stderr}"
        return out.stdout

    def client(self) -> Kube:
        return Kube(api_client(str(self.kubeconfig)))

    def restricted_namespace(self, name: str) -> None:
        self.kubectl("create", "namespace", name)
        self.kubectl("label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
        for key, value in self.namespace_annotations.items():
            self.kubectl("annotate", "namespace", name, f"{key}={value}")

    def pods(self, ns: str) -> list[dict[str, Any]]:
        return list(json.loads(self.kubectl("get", "pods", "-n", ns, "-o", "json"))["items"])

    def operator_log(self, ns: str) -> str:
        out = self.run("logs", "-n", ns, "-l", OPERATOR_LABEL, "--tail=-1")
        return out.stdout + out.stderr


@contextmanager
def chart_installed(cluster: ChartCluster, helm: Path, unique: str, chart: Path = CHART) -> Iterator[dict[str, str]]:
    """The chart installed (namespaced mode, watching the replay namespace), its operator Ready.
    `chart` is the chart's directory: this tree's, or an earlier version's (the upgrade test)."""
    op, apps, release = f"e2e-op-{unique}", f"e2e-{unique}", f"er{unique}"
    cluster.restricted_namespace(op)
    cluster.restricted_namespace(apps)
    repository, _, tag = cluster.image.partition(":")
    values = [
        f"image.repository={repository}",
        f"image.tag={tag}",
        "image.pullPolicy=Never",
        f"watchNamespaces={{{apps}}}",
        "operator.statusIntervalSeconds=2",
        # No policy: the closed default lends replays the operator's own Kafka and Redis only.
        f"operator.kafka.bootstrapServers={config.pod_kafka_bootstrap()}",
        f"operator.redis.address={config.POD_GATEWAY}:{config.PORTS.redis}",
    ]
    argv = [str(helm), "install", release, str(chart), "-n", op, *(a for v in values for a in ("--set", v))]
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    out = subprocess.run([*argv, "--wait", "--timeout=120s"], capture_output=True, text=True, env=env, timeout=180)
    try:
        assert out.returncode == 0, f"helm install: {out.stderr}\n{cluster.operator_log(op)}"
        yield {"op": op, "apps": apps, "release": release}
    finally:
        subprocess.run([str(helm), "uninstall", release, "-n", op, "--wait"], capture_output=True, env=env, timeout=120)
        cluster.run("delete", "namespace", op, apps, "--wait=false")


@dataclass(frozen=True)
class ChartRun:
    """One run of the scenario: the cluster and the chart installed there (`chart_installed`'s
    names), the stack's Kafka the scenario is seeded into, and the test's unique suffix."""

    cluster: ChartCluster
    installed: dict[str, str]
    kafka_admin: Any
    kafka_bootstrap: str
    unique: str


def replay_approve_promote(run: ChartRun) -> Scenario:
    """Apply the seeded scenario's replay as a user would, approve it with the CLI, and check that
    the report and the destination equal the seeded truth. Kafka and Redis are the local stack's,
    as pods reach them (the stack's pod gateway)."""
    sc, digest = apply_until_awaiting_approval(run)
    approve_until_promoted(run, sc, digest)
    return sc


def apply_until_awaiting_approval(run: ChartRun, *, previous_version: bool = False) -> tuple[Scenario, str]:
    """The scenario's replay `e2e` applied with a Manual gate and Reconciled: the seeded scenario
    and the report's hash; the replay waits for approval. `previous_version`: the operator is chart
    0.1.0's, whose status has no `reportPartitions`."""
    cluster, installed, kafka_bootstrap, unique = run.cluster, run.installed, run.kafka_bootstrap, run.unique
    op, apps = installed["op"], installed["apps"]
    k = cluster.client()
    sc = build(kafka_bootstrap, run.kafka_admin, unique, per_partition=1000, seed=29, run_workers=False)
    spec = replay_spec(
        sc, unique, {"policy": "Manual"}, bootstrap=config.pod_kafka_bootstrap(), redis_url=config.pod_redis_url()
    )
    manifest = {"apiVersion": "eventreplay.io/v1alpha1", "kind": "EventReplay", "metadata": {"name": "e2e"}}
    cluster.kubectl("apply", "-n", apps, "-f", "-", stdin=json.dumps({**manifest, "spec": spec}))
    try:
        got = wait_for_condition(k, apps, "e2e", "Reconciled", timeout=420)
    except AssertionError as err:
        raise AssertionError(f"{err}\noperator log:\n{cluster.operator_log(op)[-6000:]}") from err
    digest = check_report(got, sc, report_partitions=not previous_version)["reportHash"]
    assert condition(got, "Promoted")["reason"] == "AwaitingApproval"
    return sc, str(digest)


def approve_until_promoted(run: ChartRun, sc: Scenario, digest: str) -> dict[str, Any]:
    """Approve `e2e` with the CLI, wait for Ready and check the delta written once; the replay."""
    cluster, op, apps = run.cluster, run.installed["op"], run.installed["apps"]
    k = cluster.client()
    # As a user approves under the chart's approval policy: the CLI names the approver (who we are).
    approve = [sys.executable, "-m", "eventreplay.cli", "approve", "e2e", "-n", apps]
    approved = subprocess.run([*approve, "--kubeconfig", str(cluster.kubeconfig)], capture_output=True, text=True)
    assert approved.returncode == 0, approved.stderr
    ready = lambda r: condition(r, "Ready").get("status") == "True"  # noqa: E731
    done = wait_for_replay(k, apps, "e2e", ready, "Ready", timeout=300)
    assert done["status"]["promotion"]["written"] == len(sc.delta)
    assert done["status"]["promotion"]["approvedBy"]
    check_sink(run.kafka_bootstrap, sc, apps, "e2e", digest)
    # The operator did all of that with the chart's RBAC: not one call was refused.
    log = cluster.operator_log(op)
    assert "Forbidden" not in log and " 403" not in log, log[-6000:]
    return done
