"""The `eventreplay` cluster commands against a real EventReplay: status, approve, watch, an unreachable API.

The status is written as the operator would write it; no operator runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import config
from eventreplay.operator.api.v1alpha1 import (
    Condition,
    EventReplayStatus,
    PartitionProgress,
    Progress,
    ReconciliationStatus,
    Totals,
)
from eventreplay.operator.kube import Kube
from support.cli_run import cli, spec_for
from support.operator_driver import OperatorDriver
from support.plans import plan_of

pytestmark = pytest.mark.stack


@pytest.fixture
def cluster_env(k: Kube) -> dict[str, str]:
    """The CLI's environment for the local control plane (`k` has installed the CRD)."""
    return {"KUBECONFIG": str(config.kubeconfig_path())}


def _status(report_hash: str | None, ready: str = "False", stalled: str = "False") -> dict[str, Any]:
    now = "2026-11-20T12:00:00Z"
    plan = plan_of(
        [(p, 0, 150) for p in range(2)],
        as_of=now,
        topic_partitions=2,
        sandbox_topic="eventreplay.x.sandbox",
        dead_letter_topic="eventreplay.x.dlq",
    )
    status = EventReplayStatus(
        observed_generation=1,
        phase="Replayed" if ready == "True" else "Replaying",
        conditions=[
            Condition(
                type="Ready",
                status=ready,
                reason="Replayed" if ready == "True" else "Replaying",
                last_transition_time=now,
            ),
            Condition(
                type="Stalled",
                status=stalled,
                reason="PartitionsFailed" if stalled == "True" else "Replaying",
                message="partition 1 failed" if stalled == "True" else "",
                last_transition_time=now,
            ),
        ],
        plan=plan,
        partitions=[
            PartitionProgress(
                partition=0, state="Done", committed_offset=150, emitted=140, dead_lettered=10, percent=100
            ),
            PartitionProgress(partition=1, state="Running", committed_offset=75, emitted=70, duplicate=5, percent=50),
        ],
        totals=Totals(
            records=300, read=225, emitted=210, duplicate=5, dead_lettered=10, dead_letter_reasons={"schema": 10}
        ),
        progress=Progress(
            partitions="1/2", partitions_done=1, partitions_total=2, percent=75, events_per_second=25.0, eta="3s"
        ),
        reconciliation=ReconciliationStatus(report_hash=report_hash, changed=3, missing=7, unchanged=200, extra=1)
        if report_hash
        else None,
    )
    return status.to_wire()


def test_status_approve_and_watch_against_a_real_resource(
    driver: OperatorDriver, cluster_env: dict[str, str], namespace: str, unique: str
) -> None:
    spec = spec_for("orders", {"offsets": {"from": 0, "to": 150}}, promotion={"policy": "Manual"})
    driver.create("manual", spec)
    driver.create("never", {**spec, "promotion": {"policy": "Never"}})

    fresh = cli("status", "manual", "-n", namespace, env=cluster_env)
    assert fresh.returncode == 0, fresh.stderr
    assert "no conditions yet" in fresh.stdout
    refused = cli("approve", "manual", "-n", namespace, env=cluster_env)
    assert refused.returncode == 6
    assert "has no reconciliation report yet" in refused.stderr

    driver.k.patch_replay_status(namespace, "manual", _status("aaaabbbbccccdddd"))
    shown = cli("status", "manual", "-n", namespace, env=cluster_env)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"EventReplay {namespace}/manual   phase Replaying" in out
    assert "Ready      False   Replaying" in out
    assert "1  [" in out and "50%  75/150" in out and "Running  emitted 70, duplicate 5" in out
    assert "0  [" in out and "100%  150/150  Done" in out
    assert "overall: 1/2 partitions done, 75%, 25.0 events/s, ETA 3s" in out
    assert "  reportHash: aaaabbbbccccdddd" in out and "  missing: 7" in out
    assert "approval: awaiting approval of report aaaabbbbccccdddd" in out

    wrong = cli("approve", "manual", "-n", namespace, "--report-hash", "ffffeeeeddddcccc", env=cluster_env)
    assert wrong.returncode == 6 and "is aaaabbbbccccdddd, not ffffeeeeddddcccc" in wrong.stderr
    approved = cli("approve", "manual", "-n", namespace, env=cluster_env)
    assert approved.returncode == 0, approved.stderr
    assert driver.k.get_replay(namespace, "manual")["spec"]["promotion"]["approvedReportHash"] == "aaaabbbbccccdddd"
    assert "already approved" in cli("approve", "manual", "-n", namespace, env=cluster_env).stdout

    driver.k.patch_replay_status(namespace, "never", _status("aaaabbbbccccdddd"))
    never = cli("approve", "never", "-n", namespace, env=cluster_env)
    assert never.returncode == 6
    assert (
        never.stderr == f"eventreplay: {namespace}/never has promotion policy Never: approval only applies to Manual\n"
    )

    missing = cli("status", f"absent-{unique}", "-n", namespace, env=cluster_env)
    assert missing.returncode == 4
    assert missing.stderr == f"eventreplay: EventReplay {namespace}/absent-{unique} not found\n"

    # approve changed the spec: watch waits until the status observed that generation (kstatus).
    generation = driver.k.get_replay(namespace, "manual")["metadata"]["generation"]
    assert generation == 2
    driver.k.patch_replay_status(namespace, "manual", {"conditions": _status(None, ready="True")["conditions"]})
    assert cli("watch", "manual", "-n", namespace, "--timeout", "2", env=cluster_env).returncode == 1
    driver.k.patch_replay_status(namespace, "manual", {"observedGeneration": generation})
    ready = cli("watch", "manual", "-n", namespace, "--interval", "0.2", env=cluster_env, timeout=60)
    assert ready.returncode == 0, ready.stderr
    assert ready.stdout.rstrip().endswith(f"{namespace}/manual is Ready")
    driver.k.patch_replay_status(namespace, "never", {"conditions": _status(None, stalled="True")["conditions"]})
    stalled = cli("watch", "never", "-n", namespace, "--interval", "0.2", env=cluster_env, timeout=60)
    assert stalled.returncode == 1
    assert "partition 1 failed" in stalled.stdout and stalled.stdout.rstrip().endswith("is Stalled")


def test_an_unreachable_cluster_gives_one_line(cluster_env: dict[str, str], tmp_path: Path) -> None:
    kubeconfig = yaml.safe_load(Path(cluster_env["KUBECONFIG"]).read_text())
    for entry in kubeconfig["clusters"]:
        entry["cluster"]["server"] = "https://127.0.0.1:1"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    done = cli("status", "anything", "-n", "default", env={"KUBECONFIG": str(path)}, timeout=120)
    assert done.returncode == 5
    assert done.stderr.startswith("eventreplay: cannot reach the Kubernetes API at https://127.0.0.1:1: ")
    assert len(done.stderr.splitlines()) == 1


def test_reconcile_bumps_the_refresh_counter(
    driver: OperatorDriver, cluster_env: dict[str, str], namespace: str
) -> None:
    spec = spec_for("orders", {"offsets": {"from": 0, "to": 150}}, promotion={"policy": "Manual"})
    driver.create("again", spec)
    for expected in (1, 2):
        done = cli("reconcile", "again", "-n", namespace, env=cluster_env)
        assert done.returncode == 0, done.stderr
        assert f"refresh = {expected}" in done.stdout
        assert driver.k.get_replay(namespace, "again")["spec"]["reconciliation"]["refresh"] == expected
    missing = cli("reconcile", "nope", "-n", namespace, env=cluster_env)
    assert missing.returncode != 0 and "nope" in missing.stderr
