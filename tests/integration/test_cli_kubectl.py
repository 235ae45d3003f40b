"""`kubectl eventreplay` through the real kubectl (the installed plugin on PATH), the approval patch
`approve --dry-run -o yaml` prints applied as a GitOps tool would, and the bash completion script loaded
by bash as a user's shell does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import config, kube
from eventreplay.operator.api.v1alpha1 import APPROVED_BY
from eventreplay.worker.contract.headers import REPORT_HASH_HEADER
from support.kafka_tools import read_partition
from support.operator_driver import OperatorDriver
from support.reconciliation_checks import check_report, replay_spec
from support.step_driver import StepDriver

BIN = Path(sys.executable).parent
"""The venv's bin folder: where installing the package put `eventreplay` and `kubectl-eventreplay`."""
GITOPS_USER = "system:serviceaccount:argocd:argocd-application-controller"


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(BIN), str(kube.bin_dir()), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path, "KUBECONFIG": str(config.kubeconfig_path())}


def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(kube.kubectl_path()), *args], env=_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done


def _merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`patch` merged into `base` (a JSON merge patch without deletions): the manifest in Git, edited."""
    out = dict(base)
    for key, value in patch.items():
        out[key] = _merged(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def _report_ids(bootstrap: str, reconciliation: dict[str, Any]) -> dict[str, str]:
    """Id -> class read exactly where status.reconciliation says the report's records are."""
    ids: dict[str, str] = {}
    for span in reconciliation["reportPartitions"]:
        for rec in read_partition(bootstrap, reconciliation["reportTopic"], span["partition"]):
            inside = span["startOffset"] <= rec.offset < span["endOffset"]
            if inside and rec.key and rec.headers.get(REPORT_HASH_HEADER) == reconciliation["reportHash"].encode():
                ids[rec.key.decode()] = (rec.value or b"").decode()
    return ids


def test_the_bash_completion_script_loads_in_bash() -> None:
    done = subprocess.run(
        ["bash", "-c", "source <(eventreplay completion bash) && complete -p eventreplay kubectl-eventreplay"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "complete -F _eventreplay eventreplay" in done.stdout and "kubectl-eventreplay" in done.stdout


@pytest.mark.stack
def test_kubectl_eventreplay_shows_the_report_location_and_the_gitops_patch_opens_the_gate(
    steps: StepDriver, driver: OperatorDriver, *, namespace: str, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    assert (BIN / "kubectl-eventreplay").exists(), f"no kubectl-eventreplay in {BIN}: re-install the package"
    assert str(BIN / "kubectl-eventreplay") in kubectl("plugin", "list").stdout
    sc = steps.build(per_partition=400, seed=41, run_workers=False)
    in_git = driver.manifest("gitops", replay_spec(sc, unique, {"policy": "Manual"}))
    with driver.running():
        driver.apply(in_git)
        report = check_report(driver.wait_for_condition("gitops", "Reconciled", timeout=300), sc)

        shown = yaml.safe_load(kubectl("eventreplay", "status", "gitops", "-n", namespace, "-o", "yaml").stdout)
        assert shown["metadata"]["name"] == "gitops"
        reconciliation = shown["status"]["reconciliation"]
        assert reconciliation["reportHash"] == report["reportHash"] and reconciliation["reportTopic"]
        listed = _report_ids(kafka_bootstrap, reconciliation)
        assert {i for i, cls in listed.items() if cls in ("changed", "missing")} == sc.delta != set()
        assert {i for i, cls in listed.items() if cls == "extra"} == sc.extra != set()
        assert set(listed.values()) <= {"changed", "missing", "extra"}
        assert "eventreplay" in kubectl("eventreplay", "--version").stdout
        got = yaml.safe_load(kubectl("eventreplay", "get", "gitops", "-n", namespace, "-o", "yaml").stdout)
        assert got["metadata"]["uid"] == shown["metadata"]["uid"]  # `get`: kubectl's verb for the same

        args = ("eventreplay", "approve", "gitops", "-n", namespace, "--dry-run", "--approver", GITOPS_USER)
        patch = yaml.safe_load(kubectl(*args, "-o", "yaml").stdout)
        assert patch == {
            "apiVersion": "eventreplay.io/v1alpha1",
            "kind": "EventReplay",
            "metadata": {"name": "gitops", "namespace": namespace, "annotations": {APPROVED_BY: GITOPS_USER}},
            "spec": {"promotion": {"approvedReportHash": report["reportHash"]}},
        }
        assert "approvedReportHash" not in (driver.get("gitops")["spec"].get("promotion") or {})  # a dry run

        # What Argo CD or Flux does with the commit: apply the manifest from Git, the patch merged in.
        manifest = tmp_path / "gitops.yaml"
        manifest.write_text(yaml.safe_dump(_merged(dict(in_git), patch)))
        kubectl("apply", "--server-side", "--force-conflicts", "-f", str(manifest))
        done = driver.wait_for_replay(
            "gitops",
            lambda r: (
                (r["status"].get("promotion") or {}).get("reportHash") == report["reportHash"]
                and driver.condition(r, "Ready").get("status") == "True"
            ),
            "promoted after the GitOps apply",
            timeout=300,
        )
        assert done["status"]["promotion"]["written"] == len(sc.delta)
        assert done["metadata"]["annotations"][APPROVED_BY] == GITOPS_USER
