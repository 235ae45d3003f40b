"""`helm upgrade` from the chart's previous version keeps a running replay going (real node).

The previous version (tests/support/chart_upgrade.py: the chart and the image built from the tree
at its commit) is installed as a cluster that ran it has it, CRD included; a replay with a Manual
gate runs to AwaitingApproval under the old operator, which keeps its checkpoints, report and
reconciliation working set in Redis without the namespace (the legacy key layout, no keyLayout in
status.plan). Then exactly the steps of docs/operations.md "Upgrades": the new CRD applied
server-side, `helm upgrade --reset-then-reuse-values` to this chart with this tree's image. The
replay must be the same object, its Jobs the same (none recreated), its report and its pending
approval untouched; approved, the new operator's promotion Job resumes it on its legacy keys and
promotes the delta once, recorded in the sink's one ledger (`ers:`).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from devstack import config, containerd, images, kubelet
from eventreplay.operator.job_names import LABEL_STEP
from eventreplay.worker.contract import names, sink_keys
from support.chart_e2e import (
    ChartCluster,
    ChartRun,
    apply_until_awaiting_approval,
    approve_until_promoted,
    chart_installed,
)
from support.chart_render import CHART
from support.chart_upgrade import (
    CRD_PATH,
    NEW_CRD_FIELDS,
    PREVIOUS_VERSION,
    chart_version,
    crd_upgrade_argv,
    helm_upgrade_argv,
    jobs,
    operator_pod_after,
    previous_tree,
    put_crd,
    schema_has,
    stop_operator_argv,
    wait_no_pods,
    wait_served,
)
from support.operator_driver import install_crd
from support.replay_waits import condition

pytestmark = pytest.mark.stack


@dataclass(frozen=True)
class Upgrade:
    """The same cluster seen with the previous image (`old`) and this tree's (`new`), the previous
    chart's directory and the helm binary."""

    old: ChartCluster
    new: ChartCluster
    old_chart: Path
    helm: Path


@pytest.fixture
def upgrade(real_node: dict[str, str], helm: Path, tmp_path_factory: pytest.TempPathFactory) -> Upgrade:
    """The local control plane with the real node, holding the previous image and this one."""
    previous = previous_tree(tmp_path_factory.mktemp("previous"))
    old, new = images.project_image(previous), images.project_image()
    for image in (old, new):
        containerd.import_image(image)
    annotations = {kubelet.NODE_SELECTOR_ANNOTATION: kubelet.node_selector()}
    new_cluster = ChartCluster(config.kubeconfig_path(), new, annotations)
    return Upgrade(replace(new_cluster, image=old), new_cluster, previous / "charts" / "eventreplay-operator", helm)


@pytest.fixture
def old_installed(upgrade: Upgrade, unique: str) -> Iterator[dict[str, str]]:
    """The previous chart installed on a cluster whose CRD is the previous one (helm installs
    crds/ only where none is, and the stack's is this tree's). Afterwards the current CRD is back."""
    try:
        crd = put_crd(upgrade.old, upgrade.old_chart)
        assert not any(schema_has(crd, f) for f in NEW_CRD_FIELDS), "the previous CRD already has the new fields"
        wait_served(upgrade.old, "status.partitions.blocked", present=False)
        with chart_installed(upgrade.old, upgrade.helm, unique, chart=upgrade.old_chart) as names:
            yield names
    finally:
        install_crd(upgrade.old.client())


def upgrade_as_the_docs_say(upgrade: Upgrade, installed: dict[str, str]) -> None:
    """docs/operations.md "Upgrades", steps 2 to 4: the old operator stopped, the CRD (with its new
    fields), then helm."""
    cluster, op = upgrade.new, installed["op"]
    cluster.kubectl(*stop_operator_argv(installed["release"], op)[1:])
    wait_no_pods(cluster, op)
    cluster.kubectl(*crd_upgrade_argv(CHART)[1:])
    crd = cluster.client().call("GET", CRD_PATH)
    assert all(schema_has(crd, f) for f in NEW_CRD_FIELDS)
    wait_served(cluster, "status.partitions.blocked", present=True)
    repository, _, tag = cluster.image.partition(":")
    argv = helm_upgrade_argv(installed["release"], CHART, op, f"image.repository={repository}", f"image.tag={tag}")
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    out = subprocess.run(
        [str(upgrade.helm), *argv[1:], "--wait", "--timeout=180s"], capture_output=True, text=True, env=env, timeout=240
    )
    assert out.returncode == 0, f"helm upgrade: {out.stderr}\n{cluster.operator_log(op)[-4000:]}"


def rolled_to_the_new_chart(cluster: ChartCluster, op: str, old_pod: str) -> str:
    """The Deployment's pod template is the new chart's, its one pod runs it; the pod's name."""
    label = f"eventreplay-operator-{chart_version(CHART)}"
    (deploy,) = json.loads(cluster.kubectl("get", "deployments", "-n", op, "-o", "json"))["items"]
    template = deploy["spec"]["template"]
    assert template["metadata"]["labels"]["helm.sh/chart"] == label
    assert template["spec"]["containers"][0]["image"] == cluster.image
    pod = operator_pod_after(cluster, op, old_pod)
    assert pod["spec"]["containers"][0]["image"] == cluster.image
    assert pod["metadata"]["labels"]["helm.sh/chart"] == label
    return str(pod["metadata"]["name"])


def job_steps(cluster: ChartCluster, ns: str, names: set[str]) -> set[str | None]:
    items = json.loads(cluster.kubectl("get", "jobs", "-n", ns, "-o", "json"))["items"]
    return {j["metadata"]["labels"].get(LABEL_STEP) for j in items if j["metadata"]["name"] in names}


def legacy_keys_only(redis_client: Any, replay: dict[str, Any]) -> set[str]:
    """The replay's keys in Redis, checked to be all of the legacy layout (none carries its namespace)."""
    ns, uid, ledger = replay["metadata"]["namespace"], replay["metadata"]["uid"], replay["spec"]["dedup"]["ledger"]
    patterns = {layout: names.replay_key_patterns(layout, uid, ledger) for layout in (None, ns)}
    legacy = {k.decode() for p in patterns[None] for k in redis_client.scan_iter(match=p)}
    namespaced = [k for p in patterns[ns] for k in redis_client.scan_iter(match=p)]
    assert not namespaced, f"keys in the namespaced layout for a replay planned by 0.1.0: {namespaced}"
    return legacy


def test_helm_upgrade_from_the_previous_version_keeps_a_waiting_replay_going(
    upgrade: Upgrade,
    old_installed: dict[str, str],
    *,
    kafka_admin: Any,
    kafka_bootstrap: str,
    unique: str,
    redis_client: Any,
) -> None:
    cluster, op, apps = upgrade.new, old_installed["op"], old_installed["apps"]
    assert chart_version(upgrade.old_chart) == PREVIOUS_VERSION != chart_version(CHART)
    (old_pod,) = cluster.pods(op)
    assert old_pod["spec"]["containers"][0]["image"] == upgrade.old.image

    # The previous operator runs the replay to its gate.
    run = ChartRun(cluster, old_installed, kafka_admin, kafka_bootstrap, unique)
    sc, digest = apply_until_awaiting_approval(run, previous_version=True)
    before = cluster.client().get_replay(apps, "e2e")
    assert before is not None
    uid = before["metadata"]["uid"]
    assert "keyLayout" not in before["status"]["plan"], "0.1.0 plans in the legacy layout"
    assert names.report_key(None, uid) in legacy_keys_only(redis_client, before)
    jobs_before = jobs(cluster, apps)
    assert jobs_before, "the replay's Jobs"

    upgrade_as_the_docs_say(upgrade, old_installed)
    rolled_to_the_new_chart(cluster, op, old_pod["metadata"]["name"])  # its one pod Ready

    # Same replay, same Jobs, same report, still waiting for its approval.
    after = cluster.client().get_replay(apps, "e2e")
    assert after is not None
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["status"]["reconciliation"]["reportHash"] == digest
    assert condition(after, "Promoted")["reason"] == "AwaitingApproval"
    assert jobs(cluster, apps) == jobs_before

    # Approved, the new operator promotes the delta once (approve_until_promoted checks the sink):
    # its promoter found the report and working set 0.1.0's reconciliation left at legacy keys.
    done = approve_until_promoted(run, sc, digest)
    assert done["metadata"]["uid"] == uid
    assert done["status"]["reconciliation"]["reportHash"] == digest
    assert "keyLayout" not in done["status"]["plan"], "the frozen plan keeps its layout"
    legacy = legacy_keys_only(redis_client, done)
    assert {names.promotion_key(None, uid, p) for p in range(done["status"]["plan"]["topicPartitions"])} <= legacy
    # Into the sink's one ledger, as any promotion since the upgrade; none in 0.1.0's.
    ledgers = [
        k.decode() for k in redis_client.scan_iter(match=sink_keys.sink_route("*", sc.destination) + ":promoted")
    ]
    assert len(ledgers) == 1 and redis_client.hlen(ledgers[0]) >= len(sc.delta), ledgers
    assert not list(redis_client.scan_iter(match=sink_keys.legacy_sink_ledger_key("*", sc.destination)))
    # No Job of before the upgrade was recreated; the only new ones are the promotion's.
    jobs_after = jobs(cluster, apps)
    assert {n: jobs_after.get(n) for n in jobs_before} == jobs_before
    assert job_steps(cluster, apps, set(jobs_after) - set(jobs_before)) == {"promote"}
