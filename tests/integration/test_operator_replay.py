"""Replays run by the operator on the real stack: completion, operator restart, suspend/resume.

Truth comes from the independent oracle (tests/support/oracle.py) over the seeded partitions;
the Jobs run the real worker through the node harness.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from devstack import config
from eventreplay.operator.kube import KubeError
from support.kafka_tools import key_values
from support.operator_driver import OperatorDriver
from support.oracle import Expected
from support.orders_replay import seed, spec

pytestmark = pytest.mark.stack


Seeder = Callable[[int], tuple[str, dict[int, Expected]]]


@pytest.fixture
def seeded(kafka_admin: Any, kafka_bootstrap: str, unique: str) -> Seeder:
    """seeded(n) seeds topic `orders-<unique>` with n records per partition: (topic, truth per partition)."""

    def seed_topic(per_partition: int) -> tuple[str, dict[int, Expected]]:
        topic = f"orders-{unique}"
        return topic, seed(kafka_admin, kafka_bootstrap, topic, per_partition)

    return seed_topic


def replayed(driver: OperatorDriver, name: str) -> dict[str, Any]:
    return driver.wait_for_condition(name, "Replayed")


def finished(driver: OperatorDriver, name: str) -> dict[str, Any]:
    """Replayed and reconciled (policy Never: the end state, Ready)."""
    return driver.wait_for_condition(name, "Ready")


def check_output(bootstrap: str, got: dict[str, Any], truth: dict[int, Expected]) -> None:
    status = got["status"]
    totals = status["totals"]
    assert totals["emitted"] == sum(len(t.emitted) for t in truth.values())
    assert totals["duplicate"] == sum(t.duplicate for t in truth.values())
    assert totals["deadLettered"] == sum(t.dead_lettered for t in truth.values())
    assert totals.get("processed", 0) == 0
    reasons: dict[str, int] = {}
    for t in truth.values():
        for reason, count in t.reasons.items():
            reasons[reason] = reasons.get(reason, 0) + count
    assert totals["deadLetterReasons"] == reasons
    assert totals["read"] == totals["records"] == status["plan"]["records"]
    for p, t in truth.items():
        assert key_values(bootstrap, status["plan"]["sandboxTopic"], p) == t.emitted, f"partition {p}"


def test_replay_runs_to_completion(
    driver: OperatorDriver, *, namespace: str, seeded: Seeder, kafka_bootstrap: str, unique: str
) -> None:
    topic, truth = seeded(400)
    with driver.running() as op:
        driver.create("full", spec(topic, unique))
        got = finished(driver, "full")
        check_output(kafka_bootstrap, got, truth)
        status = got["status"]
        assert status["phase"] == "Reconciled"
        assert status["observedGeneration"] == got["metadata"]["generation"]
        assert status["progress"]["partitions"] == "3/3" and status["progress"]["percent"] == 100
        assert [p["state"] for p in status["partitions"]] == ["Done"] * 3
        for kind, value in (
            ("Ready", "True"),
            ("Reconciling", "False"),
            ("Stalled", "False"),
            ("Planned", "True"),
            ("Replayed", "True"),
            ("Reconciled", "True"),
        ):
            assert driver.condition(got, kind)["status"] == value, kind
        assert driver.condition(got, "Promoted")["reason"] == "PolicyNever"
        jobs = driver.jobs(got)
        assert sorted(j["metadata"]["name"] for j in jobs) == ["full-0", "full-1", "full-2", "full-reconcile"]
        # The destination is empty: every replayed id is missing there; Never promotes nothing.
        report = status["reconciliation"]
        assert report["missing"] == report["replayedIds"] > 0 and report["unchanged"] == report["changed"] == 0
        assert len(report["reportHash"]) == 64 and driver.condition(got, "Promoted")["status"] == "False"
        for job in jobs:
            assert job["metadata"]["ownerReferences"][0]["uid"] == got["metadata"]["uid"]
        reasons = [e["reason"] for e in driver.events(got)]
        assert "Planned" in reasons and "Replayed" in reasons and reasons.count("PartitionFinished") == 3
        assert "Reconciled" in reasons
        columns = subprocess.run(
            [
                "kubectl",
                "--kubeconfig",
                str(config.kubeconfig_path()),
                "get",
                "er",
                "full",
                "-n",
                namespace,
                "--no-headers",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()
        assert columns[:5] == ["full", "Reconciled", topic, "3/3", "100"], columns
        assert "Traceback" not in op.log()


def test_finished_jobs_drive_the_replay_without_the_timer(
    driver: OperatorDriver, *, seeded: Seeder, kafka_bootstrap: str, unique: str
) -> None:
    """With a status timer of an hour, only the Job watch can carry the replay from its worker Jobs
    through the reconciliation Job to Ready: a finished Job is noticed when it finishes."""
    topic, truth = seeded(50)
    with driver.running(args=("--status-interval", "3600")) as op:
        driver.create("watched", spec(topic, unique))
        got = driver.wait_for_condition("watched", "Ready", timeout=180)
        assert driver.condition(got, "Ready")["status"] == "True", op.log()
        check_output(kafka_bootstrap, got, truth)
        assert got["status"]["phase"] == "Reconciled"


def test_operator_killed_mid_replay_converges(
    driver: OperatorDriver, *, seeded: Seeder, kafka_bootstrap: str, unique: str
) -> None:
    topic, truth = seeded(400)
    with driver.running() as op:
        driver.create("restart", spec(topic, unique, worker={"parallelism": 1}))
        first = driver.wait_for(lambda: driver.jobs(driver.get("restart")), 60, "the first Job")
        assert len(first) == 1
        op.kill()
        time.sleep(3)
        op.start()
        got = replayed(driver, "restart")
        check_output(kafka_bootstrap, got, truth)
        names = sorted(j["metadata"]["name"] for j in driver.jobs(got) if "-reconcile" not in j["metadata"]["name"])
        assert names == ["restart-0", "restart-1", "restart-2"]


def test_suspend_then_resume(driver: OperatorDriver, *, seeded: Seeder, kafka_bootstrap: str, unique: str) -> None:
    topic, truth = seeded(400)
    with driver.running():
        driver.create("pause", spec(topic, unique, worker={"parallelism": 1}))
        driver.wait_for(lambda: driver.jobs(driver.get("pause")), 60, "the first Job")
        driver.patch_spec("pause", {"suspend": True})
        paused = driver.wait_for(
            lambda: (r := driver.get("pause"))["status"].get("phase") == "Suspended" and r,
            30,
            "suspended",
        )
        # Parallelism 1: the other two partitions wait behind the first Job, so the replay cannot
        # be finished when the suspension lands.
        assert driver.condition(paused, "Ready")["reason"] == "Suspended"
        before = {j["metadata"]["name"] for j in driver.jobs(paused)}
        time.sleep(8)
        jobs = driver.jobs(driver.get("pause"))
        assert {j["metadata"]["name"] for j in jobs} == before, "no Job may start while suspended"
        live = [
            j
            for j in jobs
            if not any(
                c["type"] in ("Complete", "Failed") and c["status"] == "True"
                for c in (j.get("status") or {}).get("conditions") or []
            )
        ]
        assert all(j["spec"]["suspend"] for j in live)
        driver.patch_spec("pause", {"suspend": False})
        got = replayed(driver, "pause")
        check_output(kafka_bootstrap, got, truth)
        assert len([j for j in driver.jobs(got) if "-reconcile" not in j["metadata"]["name"]]) == 3
        reasons = [e["reason"] for e in driver.events(got)]
        assert "Suspended" in reasons and "Resumed" in reasons


def test_permanent_failure_stalls_and_retry_reruns_only_failed_partitions(
    driver: OperatorDriver, *, seeded: Seeder, unique: str
) -> None:
    topic, _ = seeded(50)
    broken = spec(topic, unique, transform={"function": "no_such_module_xyz:fn"}, worker={"backoffLimit": 2})
    broken["source"]["partitions"] = ["0-1"]
    # An unknown transform must reach the worker (its own reason is asserted): the permissive opt-in;
    # the default install refuses it before any Job (test_operator_security_defaults.py).
    with driver.running(permissive=True):
        driver.create("broken", broken)

        def stalled() -> dict[str, Any] | None:
            got = driver.get("broken")
            return got if driver.condition(got, "Stalled").get("status") == "True" else None

        got = driver.wait_for(stalled, 120, "stalled on failed partitions", interval=1)
        cond = driver.condition(got, "Stalled")
        assert cond["reason"] == "PartitionsFailed"
        assert "partitions 0-1 failed" in cond["message"], cond
        assert "cannot import transform 'no_such_module_xyz:fn'" in cond["message"], "the worker's own reason"
        assert [p["state"] for p in got["status"]["partitions"]] == ["Failed", "Failed"]
        jobs = driver.jobs(got)
        assert sorted(j["metadata"]["name"] for j in jobs) == ["broken-0", "broken-1"]
        # exit 10 is permanent: the podFailurePolicy fails the Job at once, without using the backoff
        assert all((j.get("status") or {}).get("failed", 0) == 1 for j in jobs)
        driver.patch_spec("broken", {"retry": 1})
        driver.wait_for(
            lambda: (
                sorted(j["metadata"]["name"] for j in driver.jobs(driver.get("broken")))
                == ["broken-0", "broken-0-r1", "broken-1", "broken-1-r1"]
            ),
            60,
            "retry Jobs",
        )
        again = driver.wait_for(
            lambda: (
                (r := driver.get("broken"))["status"]["partitions"][0].get("attempt") == 1
                and driver.condition(r, "Stalled").get("status") == "True"
                and r
            ),
            120,
            "stalled again",
        )
        assert again["status"]["observedRetry"] == 1
        assert any(e["reason"] == "PartitionFailed" for e in driver.events(again))


def test_failed_partition_carries_the_workers_message(driver: OperatorDriver, *, seeded: Seeder, unique: str) -> None:
    topic, _ = seeded(10)
    broken = spec(topic, unique, transform={"function": "no_such_module_xyz:fn"})
    broken["source"]["partitions"] = ["0"]
    with driver.running(permissive=True):  # the worker's message is the point: see above
        driver.create("why", broken)
        got = driver.wait_for(
            lambda: driver.condition(r := driver.get("why"), "Stalled").get("status") == "True" and r,
            120,
            "stalled",
        )
        assert "no_such_module_xyz" in driver.condition(got, "Stalled")["message"]


def test_an_invalid_status_edit_is_refused_by_the_api_and_the_plan_stays(
    driver: OperatorDriver, *, namespace: str, seeded: Seeder, unique: str
) -> None:
    # The CRD's status schema is generated from the same model the operator reads it with: an edit
    # the model would refuse is refused by the API server (422, the field named) and never lands.
    # (The operator's own answer to an invalid status that did land, InvalidStatus with the plan and
    # Jobs untouched, is tests/unit/test_operator_invalid_status.py.)
    topic, _ = seeded(20)
    with driver.running() as op:
        driver.create("edited", spec(topic, unique, dryRun=True))
        planned = driver.wait_for_condition("edited", "Planned")
        path = f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/edited/status"
        bad_offset = {"op": "replace", "path": "/status/plan/partitions/0/startOffset", "value": "not a number"}
        bad_state = {"op": "add", "path": "/status/partitions", "value": [{"partition": 0, "state": "Exploded"}]}
        for edit, field in ((bad_offset, "startOffset"), (bad_state, "state")):
            with pytest.raises(KubeError) as refused:
                driver.k.call("PATCH", path, [edit], content_type="application/json-patch+json")
            assert refused.value.status == 422 and field in str(refused.value), str(refused.value)
        time.sleep(6)  # passes of the operator after the attempts
        after = driver.get("edited")
        assert after["status"]["plan"] == planned["status"]["plan"], "the pinned plan is untouched"
        assert driver.condition(after, "Stalled").get("status") != "True", op.log()
