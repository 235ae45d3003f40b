"""The operator SIGKILLed twenty times at random points of one replay's life — plan, partition
Jobs, reconcile, the Manual gate, promotion — and restarted each time: no Job is created twice, no
Job is retried, the status converges to Promoted and the destination receives the delta exactly
once (real apiserver, Kafka and Redis; Jobs run by the stack's process node)."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from operator_helpers import condition, create_replay, get_replay, jobs_of, replay_manifest, running_operator

from eventreplay.operator.api.v1alpha1 import APPROVED_BY
from eventreplay.operator.kube import MERGE, Kube
from support.fault_log import IDENTICAL, record
from support.reconciliation_checks import check_destination, check_report, replay_spec
from support.reconciliation_scenario import build

pytestmark = pytest.mark.stack
KILLS = 20
APPROVE_AFTER = 14  # kills before the approval: the rest land during and after the promotion


def _jobs(k: Kube, replay: dict[str, Any], seen: dict[str, str]) -> None:
    """Record each Job's uid by name: a name seen with two uids was deleted and created again."""
    for job in jobs_of(k, replay):
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
    k: Kube, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    sc = build(kafka_bootstrap, kafka_admin, unique, per_partition=5000, seed=29, run_workers=False)
    rng = random.Random(5)
    at_kill: Counter[str] = Counter()
    seen: dict[str, str] = {}
    digest = ""
    with running_operator(k, namespace, tmp_path) as op:
        # One partition Job at a time: the replay phase lasts long enough for kills to land in it.
        spec = {**replay_spec(sc, unique, {"policy": "Manual"}), "worker": {"parallelism": 1}}
        create_replay(k, replay_manifest(namespace, "killed", spec))
        deadline = time.monotonic() + 600
        while True:
            assert time.monotonic() < deadline, f"no convergence after {sum(at_kill.values())} kills:\n{op.log()}"
            time.sleep(rng.uniform(0.2, 3.0))
            got = get_replay(k, namespace, "killed")
            _jobs(k, got, seen)
            done = condition(got, "Ready").get("status") == "True"
            if sum(at_kill.values()) >= KILLS and done:
                break
            gate = condition(got, "Promoted")
            if not digest and gate.get("reason") == "AwaitingApproval" and sum(at_kill.values()) >= APPROVE_AFTER:
                digest = check_report(got, sc)["reportHash"]
                _approve(k, namespace, "killed", digest)
            if sum(at_kill.values()) < KILLS:
                at_kill[got.get("status", {}).get("phase", "New")] += 1
                op.kill()
                op.start()
        assert digest, "approved after the kills"
        held = get_replay(k, namespace, "killed")
        promotion = held["status"]["promotion"]
        assert promotion["reportHash"] == digest and promotion["written"] == len(sc.delta)
        check_destination(kafka_bootstrap, sc, namespace, "killed", digest)
        time.sleep(8)  # more passes of the last operator: nothing moves
        _jobs(k, held, seen)
        assert get_replay(k, namespace, "killed")["status"]["promotion"] == promotion
    record("operator-sigkill", IDENTICAL, 0, 0)
    print(f"{sum(at_kill.values())} operator kills by phase: {dict(at_kill)}; {len(seen)} Jobs, each created once")
