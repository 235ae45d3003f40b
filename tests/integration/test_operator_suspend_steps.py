"""`spec.suspend` set while the reconciliation Job runs, and again while the promotion Job runs
(real apiserver, Kafka, Redis; Jobs on the stack's process node): each running step Job is
suspended (its pod stopped), nothing more is written - no report stored, not one record in the
destination - until suspend is cleared; then the report is the seeded truth and the delta lands once.

Both step Jobs are held a few seconds before their worker starts (a wrapper given as the operator's
`--worker-command`), so that the suspend lands while their pods run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from eventreplay.operator.api.v1alpha1 import APPROVED_BY
from eventreplay.operator.kube import MERGE
from eventreplay.worker.contract.names import report_key
from support.kafka_tools import watermarks
from support.operator_driver import OperatorDriver
from support.reconciliation_checks import check_report, check_sink, replay_spec
from support.reconciliation_scenario import DEST_PARTITIONS
from support.step_driver import StepDriver

pytestmark = pytest.mark.stack
HOLD = 8  # seconds a step Job's pod waits before its worker starts

SLOW_STEPS = f"""#!/bin/sh
# The reconciliation and promotion steps start {HOLD} s late: a suspend lands while their pod runs.
case "$1" in reconcile|promote) sleep {HOLD};; esac
exec python -m eventreplay.worker "$@"
"""


def _running_step(driver: OperatorDriver, name: str, step: str) -> dict[str, Any]:
    """The step's Job once its pod runs."""

    def running() -> dict[str, Any] | None:
        jobs = [j for j in driver.jobs(driver.get(name)) if f"-{step}" in j["metadata"]["name"]]
        return next((j for j in jobs if (j.get("status") or {}).get("active")), None)

    return driver.wait_for(running, 120, f"the {step} Job running")


def _suspended(driver: OperatorDriver, name: str, step: str) -> None:
    driver.patch_spec(name, {"suspend": True})
    driver.wait_for_replay(
        name, lambda r: driver.condition(r, "Ready").get("reason") == "Suspended", "suspended", timeout=60
    )
    driver.wait_for(
        lambda: all(
            (j["spec"].get("suspend") and not (j.get("status") or {}).get("active"))
            for j in driver.jobs(driver.get(name))
            if f"-{step}" in j["metadata"]["name"]
        ),
        60,
        f"the {step} Job suspended, its pod stopped",
    )
    time.sleep(HOLD + 4)  # longer than the hold: a pod left running would have started its worker


def test_suspend_while_reconcile_and_promote_run_writes_nothing_until_cleared(
    steps: StepDriver,
    driver: OperatorDriver,
    *,
    namespace: str,
    kafka_bootstrap: str,
    redis_client: Any,
    unique: str,
    tmp_path: Path,
) -> None:
    sc = steps.build(per_partition=800, seed=37, run_workers=False)
    untouched = [high for _, high in watermarks(kafka_bootstrap, sc.destination, DEST_PARTITIONS)]
    script = tmp_path / "slow_steps.sh"
    script.write_text(SLOW_STEPS)
    args = ("--worker-command", f"sh {script} run")
    with driver.running(args=args):
        driver.create("paused", replay_spec(sc, unique, {"policy": "Manual"}))
        uid = driver.wait_for(lambda: driver.get("paused")["metadata"]["uid"], 30, "the uid")

        _running_step(driver, "paused", "reconcile")
        _suspended(driver, "paused", "reconcile")
        held = driver.get("paused")
        assert not (held["status"].get("reconciliation") or {}).get("reportHash")
        assert redis_client.get(report_key(namespace, uid)) is None, "no report stored while suspended"

        driver.patch_spec("paused", {"suspend": False})
        got = driver.wait_for_replay(
            "paused", lambda r: driver.condition(r, "Reconciled").get("status") == "True", "reconciled"
        )
        digest = check_report(got, sc)["reportHash"]

        approval = {
            "metadata": {"annotations": {APPROVED_BY: "reviewer"}},
            "spec": {"promotion": {"approvedReportHash": digest}},
        }
        path = f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/paused"
        driver.k.call("PATCH", path, approval, content_type=MERGE)
        _running_step(driver, "paused", "promote")
        _suspended(driver, "paused", "promote")
        now = [high for _, high in watermarks(kafka_bootstrap, sc.destination, DEST_PARTITIONS)]
        assert now == untouched, "nothing written to the destination while suspended"

        driver.patch_spec("paused", {"suspend": False})
        done = driver.wait_for_replay(
            "paused", lambda r: driver.condition(r, "Ready").get("status") == "True", "promoted"
        )
        assert done["status"]["promotion"]["written"] == len(sc.delta)
        check_sink(kafka_bootstrap, sc, namespace, "paused", digest)
