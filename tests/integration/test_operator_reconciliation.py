"""Reconciliation and promotion driven by the operator, end to end on the real stack.

The seeded scenario (tests/support/reconciliation_scenario.py: a destination written by a processor that
missed events and wrote wrong values in a failure window) is replayed by the operator's Jobs;
the report must equal the seeded truth, and the gate must keep the destination untouched until
it opens.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from eventreplay.operator.api.v1alpha1 import APPROVED_BY
from eventreplay.operator.job_names import LABEL_UID
from eventreplay.operator.kube import MERGE
from eventreplay.worker.contract.names import checkpoint_key
from support.kafka_tools import watermarks
from support.operator_driver import OperatorDriver
from support.reconciliation_checks import check_report, check_sink, replay_spec
from support.reconciliation_scenario import DEST_PARTITIONS, Scenario
from support.step_driver import StepDriver

pytestmark = pytest.mark.stack


def spec(sc: Scenario, unique: str, promotion: dict[str, Any]) -> dict[str, Any]:
    return replay_spec(sc, unique, promotion)


def high_watermarks(bootstrap: str, topic: str) -> list[int]:
    return [high for _, high in watermarks(bootstrap, topic, DEST_PARTITIONS)]


def when(driver: OperatorDriver, name: str, what: str, test: Any, *, timeout: float = 300) -> dict[str, Any]:
    return driver.wait_for_replay(name, test, what, timeout=timeout, stalled_fails=what != "stalled")


def seen(driver: OperatorDriver, name: str, what: str, test: Any) -> dict[str, Any]:
    """The replay once the operator has acted on its latest spec (observedGeneration) and `test` holds."""
    return when(
        driver, name, what, lambda r: r["status"].get("observedGeneration") == r["metadata"]["generation"] and test(r)
    )


def reconciled(driver: OperatorDriver, name: str) -> dict[str, Any]:
    return driver.wait_for_condition(name, "Reconciled", timeout=300)


def promote_jobs(driver: OperatorDriver, got: dict[str, Any]) -> list[str]:
    return [j["metadata"]["name"] for j in driver.jobs(got) if "-promote-" in j["metadata"]["name"]]


def test_manual_gate_waits_for_the_right_approval_then_promotes_the_delta_once(
    steps: StepDriver, driver: OperatorDriver, *, namespace: str, kafka_bootstrap: str, unique: str
) -> None:
    sc = steps.build(per_partition=1500, seed=23, run_workers=False)
    untouched = high_watermarks(kafka_bootstrap, sc.destination)
    # Finished Jobs expire as soon as the promotion is recorded (the default keeps them 10 min).
    with driver.running(args=("--finished-job-ttl", "0")) as op:
        driver.create("manual", spec(sc, unique, {"policy": "Manual"}))
        got = reconciled(driver, "manual")
        report = check_report(got, sc)
        digest = report["reportHash"]
        gate = driver.condition(got, "Promoted")
        assert (gate["status"], gate["reason"]) == ("False", "AwaitingApproval") and digest in gate["message"]
        assert (
            driver.condition(got, "Ready")["status"] == "False"
            and driver.condition(got, "Reconciling")["status"] == "False"
        )
        assert got["status"]["phase"] == "Reconciled"
        driver.wait_for_event(got, "AwaitingApproval")

        # A wrong (stale) approval names another report: the gate stays shut.
        driver.patch_spec("manual", {"promotion": {"approvedReportHash": "0" * 64}})
        stale = seen(
            driver,
            "manual",
            "stale approval seen",
            lambda r: "0" * 64 in driver.condition(r, "Promoted").get("message", ""),
        )
        time.sleep(6)  # a few more passes
        stale = driver.get("manual")
        assert driver.condition(stale, "Promoted")["reason"] == "AwaitingApproval"
        assert promote_jobs(driver, stale) == []
        assert high_watermarks(kafka_bootstrap, sc.destination) == untouched, "written before approval"

        # The approval as `eventreplay approve` writes it: the hash and the approver in one patch.
        approval = {
            "metadata": {"annotations": {APPROVED_BY: "reviewer"}},
            "spec": {"promotion": {"approvedReportHash": digest}},
        }
        driver.k.call(
            "PATCH",
            f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/manual",
            approval,
            content_type=MERGE,
        )
        done = when(driver, "manual", "promoted", lambda r: driver.condition(r, "Ready").get("status") == "True")
        assert driver.condition(done, "Promoted")["status"] == "True" and done["status"]["phase"] == "Promoted"
        promotion = done["status"]["promotion"]
        assert promotion["reportHash"] == digest
        assert promotion["written"] == len(sc.delta) == report["changed"] + report["missing"]
        assert promotion["skippedIdentical"] == report["unchanged"]
        assert len(promotion["sha256"]) == 64
        assert promotion["approvedBy"] == "reviewer" and promotion["approvedAt"] <= promotion["completedAt"]
        driver.wait_for_event(done, "Approved")
        assert f"report {digest} approved by reviewer" in [e["message"] for e in driver.events(done)]
        check_sink(kafka_bootstrap, sc, namespace, "manual", digest)
        driver.wait_for_event(done, "Promoted")

        # Promoted: Kubernetes' TTL controller deletes the finished Jobs and, with them, their pods.
        uid = done["metadata"]["uid"]
        driver.wait_for(lambda: not driver.jobs(done), 60, "the finished Jobs deleted by their TTL")
        driver.wait_for(lambda: not driver.k.list_pods(namespace, f"{LABEL_UID}={uid}"), 60, "their pods deleted")

        # Re-applying the approved replay (no change) promotes nothing more and runs no Job again.
        after = high_watermarks(kafka_bootstrap, sc.destination)
        driver.patch_spec("manual", spec(sc, unique, {"policy": "Manual", "approvedReportHash": digest}))
        op.kill()  # and the operator forgets everything it held in memory
        op.start()
        time.sleep(12)
        again = driver.get("manual")
        assert again["status"]["promotion"] == promotion
        assert driver.condition(again, "Ready")["status"] == "True"
        assert [p["state"] for p in again["status"]["partitions"]] == ["Done"] * len(again["status"]["partitions"])
        assert driver.jobs(again) == [], "no Job of the promoted replay is created again"
        assert high_watermarks(kafka_bootstrap, sc.destination) == after


def test_automatic_over_threshold_and_never_leave_the_destination_untouched(
    steps: StepDriver, driver: OperatorDriver, *, namespace: str, kafka_bootstrap: str, redis_client: Any, unique: str
) -> None:
    sc = steps.build(per_partition=1000, seed=31, run_workers=False)
    untouched = high_watermarks(kafka_bootstrap, sc.destination)
    strict = {"policy": "Automatic", "thresholds": {"maxInvalidRatio": 1.0, "maxChangedRatio": 0.01}}
    with driver.running():
        driver.create("auto", spec(sc, unique, strict))
        driver.create("never", spec(sc, unique, {"policy": "Never"}))

        auto = when(
            driver,
            "auto",
            "gate closed",
            lambda r: driver.condition(r, "Promoted").get("reason") == "ThresholdExceeded",
        )
        report = check_report(auto, sc)
        message = driver.condition(auto, "Promoted")["message"]
        assert "maxChangedRatio 0.01" in message and f"{report['changed']}/{report['replayedIds']}" in message
        assert "maxInvalidRatio" not in message and "maxMissingRatio" not in message
        assert driver.condition(auto, "Ready")["reason"] == "ThresholdExceeded"
        assert driver.condition(auto, "Stalled")["status"] == "False"
        driver.wait_for_event(auto, "ThresholdExceeded")

        never = when(driver, "never", "ready", lambda r: driver.condition(r, "Ready").get("status") == "True")
        check_report(never, sc)
        assert driver.condition(never, "Promoted")["reason"] == "PolicyNever"
        assert never["status"]["phase"] == "Reconciled"

        # The checkpoints expire with the ledger TTL: the final totals (what the gate judged) stay.
        auto_uid = auto["metadata"]["uid"]
        expired = [checkpoint_key(namespace, auto_uid, p["partition"]) for p in auto["status"]["partitions"]]
        assert redis_client.delete(*expired) > 0
        time.sleep(6)
        for got in (driver.get("auto"), driver.get("never")):
            assert promote_jobs(driver, got) == []
            assert "promotion" not in got["status"]
        assert driver.get("auto")["status"]["totals"] == auto["status"]["totals"]
        assert high_watermarks(kafka_bootstrap, sc.destination) == untouched


def test_a_second_replay_and_a_refresh_after_promotion_write_nothing(
    steps: StepDriver, driver: OperatorDriver, *, namespace: str, kafka_bootstrap: str, unique: str
) -> None:
    sc = steps.build(per_partition=800, seed=31, run_workers=False)
    manual = {"policy": "Manual"}
    with driver.running():
        driver.create("first", spec(sc, unique, manual))
        digest = check_report(reconciled(driver, "first"), sc)["reportHash"]
        driver.patch_spec("first", {"promotion": {"approvedReportHash": digest}})
        done = when(driver, "first", "promoted", lambda r: driver.condition(r, "Ready").get("status") == "True")
        assert done["status"]["promotion"]["written"] == len(sc.delta) > 0
        after = high_watermarks(kafka_bootstrap, sc.destination)

        # Another name, the same window and sink: the ledger says those ids are already promoted.
        driver.create("second", spec(sc, unique, manual))
        report = reconciled(driver, "second")["status"]["reconciliation"]
        assert (report["changed"], report["missing"], report["alreadyPromoted"]) == (0, 0, len(sc.delta))
        driver.patch_spec("second", {"promotion": {"approvedReportHash": report["reportHash"]}})
        second = when(driver, "second", "promoted", lambda r: driver.condition(r, "Ready").get("status") == "True")
        assert second["status"]["promotion"]["written"] == 0

        # Refreshing the first replay's report: a new hash, nothing to promote.
        driver.patch_spec("first", {"reconciliation": {"refresh": 1}})
        fresh = when(
            driver,
            "first",
            "refreshed",
            lambda r: (
                (r["status"].get("reconciliation") or {}).get("refresh") == 1
                and bool(r["status"]["reconciliation"].get("reportHash"))
            ),
        )
        rec = fresh["status"]["reconciliation"]
        assert rec["reportHash"] != digest and (rec["changed"], rec["missing"]) == (0, 0)
        driver.patch_spec("first", {"promotion": {"approvedReportHash": rec["reportHash"]}})
        final = when(
            driver,
            "first",
            "refresh promoted",
            lambda r: (
                (r["status"].get("promotion") or {}).get("reportHash") == rec["reportHash"]
                and driver.condition(r, "Ready").get("status") == "True"
            ),
        )
        assert final["status"]["promotion"]["written"] == 0
        assert high_watermarks(kafka_bootstrap, sc.destination) == after


def test_suspend_holds_an_approved_promotion_until_cleared(
    steps: StepDriver, driver: OperatorDriver, *, namespace: str, kafka_bootstrap: str, unique: str
) -> None:
    sc = steps.build(per_partition=1000, seed=31, run_workers=False)
    untouched = high_watermarks(kafka_bootstrap, sc.destination)
    with driver.running():
        driver.create("held", spec(sc, unique, {"policy": "Manual"}))
        digest = check_report(reconciled(driver, "held"), sc)["reportHash"]
        # Approved and suspended in one commit (a GitOps pause): the open gate starts nothing.
        approval = {
            "metadata": {"annotations": {APPROVED_BY: "reviewer"}},
            "spec": {"suspend": True, "promotion": {"approvedReportHash": digest}},
        }
        path = f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/held"
        driver.k.call("PATCH", path, approval, content_type=MERGE)
        held = seen(driver, "held", "suspended", lambda r: driver.condition(r, "Ready").get("reason") == "Suspended")
        time.sleep(6)  # a few more passes
        held = driver.get("held")
        assert driver.condition(held, "Ready")["reason"] == "Suspended" and promote_jobs(driver, held) == []
        assert high_watermarks(kafka_bootstrap, sc.destination) == untouched, "written while suspended"

        driver.patch_spec("held", {"suspend": False})
        done = when(driver, "held", "promoted", lambda r: driver.condition(r, "Ready").get("status") == "True")
        assert done["status"]["promotion"]["written"] == len(sc.delta)
        assert len(promote_jobs(driver, done)) == 1
        check_sink(kafka_bootstrap, sc, namespace, "held", digest)
