"""The operator SIGKILLed twenty times at random points of one replay's life — plan, partition
Jobs, reconcile, the Manual gate, promotion — and restarted each time: no Job is created twice, no
Job is retried, the status converges to Promoted and the destination receives the delta exactly
once (real apiserver, Kafka and Redis; Jobs run by the stack's process node)."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import pytest

from eventreplay.operator.api.v1alpha1 import APPROVED_BY
from eventreplay.operator.kube import MERGE, Kube
from support.fault_log import IDENTICAL, record
from support.operator_driver import OperatorDriver
from support.reconciliation_checks import check_report, check_sink, replay_spec
from support.step_driver import StepDriver

pytestmark = pytest.mark.stack
KILLS = 20
APPROVE_AFTER = 14  # kills before the approval: the rest land during and after the promotion


def _jobs(driver: OperatorDriver, replay: dict[str, Any], seen: dict[str, str]) -> None:
    """Record each Job's uid by name: a name seen with two uids was deleted and created again."""
    for job in driver.jobs(replay):
        name, uid = job["metadata"]["name"], job["metadata"]["uid"]
        assert seen.setdefault(name, uid) == uid, f"Job {name} was created twice"
        assert not job.get("status", {}).get("failed"), f"Job {name} retried a pod"


def _approve(k: Kube, ns: str, name: str, digest: str) -> None:
    body = {
        "metadata": {"annotations": {APPROVED_BY: "reviewer"}},
        "spec": {"promotion": {"approvedReportHash": digest}},
    }
    k.call("PATCH", f"/apis/eventreplay.io/v1alpha1/namespaces/{ns}/eventreplays/{name}", body, content_type=MERGE)


def test_operator_killed_twenty_times_converges_and_promotes_the_delta_once(
    steps: StepDriver, driver: OperatorDriver, *, namespace: str, kafka_bootstrap: str, unique: str
) -> None:
    sc = steps.build(per_partition=5000, seed=29, run_workers=False)
    rng = random.Random(5)
    at_kill: Counter[str] = Counter()
    seen: dict[str, str] = {}
    digest = ""
    with driver.running() as op:
        # One partition Job at a time: the replay phase lasts long enough for kills to land in it.
        spec = {**replay_spec(sc, unique, {"policy": "Manual"}), "worker": {"parallelism": 1}}
        driver.create("killed", spec)
        deadline = time.monotonic() + 600
        while True:
            assert time.monotonic() < deadline, f"no convergence after {sum(at_kill.values())} kills:\n{op.log()}"
            time.sleep(rng.uniform(0.2, 3.0))
            got = driver.get("killed")
            _jobs(driver, got, seen)
            done = driver.condition(got, "Ready").get("status") == "True"
            if sum(at_kill.values()) >= KILLS and done:
                break
            gate = driver.condition(got, "Promoted")
            if not digest and gate.get("reason") == "AwaitingApproval" and sum(at_kill.values()) >= APPROVE_AFTER:
                digest = check_report(got, sc)["reportHash"]
                _approve(driver.k, namespace, "killed", digest)
            if sum(at_kill.values()) < KILLS:
                at_kill[got.get("status", {}).get("phase", "New")] += 1
                op.kill()
                op.start()
        assert digest, "approved after the kills"
        held = driver.get("killed")
        promotion = held["status"]["promotion"]
        assert promotion["reportHash"] == digest and promotion["written"] == len(sc.delta)
        check_sink(kafka_bootstrap, sc, namespace, "killed", digest)
        time.sleep(8)  # more passes of the last operator: nothing moves
        _jobs(driver, held, seen)
        assert driver.get("killed")["status"]["promotion"] == promotion
    record("operator-sigkill", IDENTICAL, 0, 0)
    print(f"{sum(at_kill.values())} operator kills by phase: {dict(at_kill)}; {len(seen)} Jobs, each created once")
