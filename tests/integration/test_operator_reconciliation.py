"""Reconciliation and promotion driven by the operator, end to end on the real stack.

The seeded scenario (tests/support/reconciliation_scenario.py: a destination written by a processor that
missed events and wrote wrong values in a failure window) is replayed by the operator's Jobs;
the report must equal the seeded truth, and the gate must keep the destination untouched until
it opens.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from operator_helpers import (
    condition,
    create_replay,
    events_of,
    get_replay,
    jobs_of,
    patch_spec,
    replay_manifest,
    running_operator,
    wait_for,
    wait_for_condition,
    wait_for_event,
    wait_for_replay,
)

from eventreplay.operator.api.v1alpha1 import APPROVED_BY
from eventreplay.operator.job_names import LABEL_UID
from eventreplay.operator.kube import MERGE, Kube
from eventreplay.worker.contract.names import checkpoint_key
from support.kafka_tools import watermarks
from support.reconciliation_checks import check_destination, check_report, replay_spec
from support.reconciliation_scenario import DEST_PARTITIONS, Scenario, build

pytestmark = pytest.mark.stack


def spec(sc: Scenario, unique: str, promotion: dict[str, Any]) -> dict[str, Any]:
    return replay_spec(sc, unique, promotion)


def high_watermarks(bootstrap: str, topic: str) -> list[int]:
    return [high for _, high in watermarks(bootstrap, topic, DEST_PARTITIONS)]


def when(k: Kube, ns: str, name: str, what: str, test: Any, *, timeout: float = 300) -> dict[str, Any]:
    return wait_for_replay(k, ns, name, test, what, timeout=timeout, stalled_fails=what != "stalled")


def reconciled(k: Kube, ns: str, name: str) -> dict[str, Any]:
    return wait_for_condition(k, ns, name, "Reconciled", timeout=300)


def promote_jobs(k: Kube, got: dict[str, Any]) -> list[str]:
    return [j["metadata"]["name"] for j in jobs_of(k, got) if "-promote-" in j["metadata"]["name"]]


def test_manual_gate_waits_for_the_right_approval_then_promotes_the_delta_once(
    k: Kube, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    sc = build(kafka_bootstrap, kafka_admin, unique, per_partition=1500, seed=23, run_workers=False)
    untouched = high_watermarks(kafka_bootstrap, sc.destination)
    # Finished Jobs expire as soon as the promotion is recorded (the default keeps them 10 min).
    with running_operator(k, namespace, tmp_path, args=("--finished-job-ttl", "0")) as op:
        create_replay(k, replay_manifest(namespace, "manual", spec(sc, unique, {"policy": "Manual"})))
        got = reconciled(k, namespace, "manual")
        report = check_report(got, sc)
        digest = report["reportHash"]
        gate = condition(got, "Promoted")
        assert (gate["status"], gate["reason"]) == ("False", "AwaitingApproval") and digest in gate["message"]
        assert condition(got, "Ready")["status"] == "False" and condition(got, "Reconciling")["status"] == "False"
        assert got["status"]["phase"] == "Reconciled"
        wait_for_event(k, got, "AwaitingApproval")

        # A wrong (stale) approval names another report: the gate stays shut.
        patch_spec(k, namespace, "manual", {"promotion": {"approvedReportHash": "0" * 64}})
        stale = when(
            k,
            namespace,
            "manual",
            "stale approval seen",
            lambda r: (
                r["status"].get("observedGeneration") == r["metadata"]["generation"]
                and "0" * 64 in condition(r, "Promoted").get("message", "")
            ),
        )
        time.sleep(6)  # a few more passes
        stale = get_replay(k, namespace, "manual")
        assert condition(stale, "Promoted")["reason"] == "AwaitingApproval"
        assert promote_jobs(k, stale) == []
        assert high_watermarks(kafka_bootstrap, sc.destination) == untouched, "written before approval"

        # The approval as `eventreplay approve` writes it: the hash and the approver in one patch.
        approval = {
            "metadata": {"annotations": {APPROVED_BY: "reviewer"}},
            "spec": {"promotion": {"approvedReportHash": digest}},
        }
        k.call(
            "PATCH",
            f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/manual",
            approval,
            content_type=MERGE,
        )
        done = when(k, namespace, "manual", "promoted", lambda r: condition(r, "Ready").get("status") == "True")
        assert condition(done, "Promoted")["status"] == "True" and done["status"]["phase"] == "Promoted"
        promotion = done["status"]["promotion"]
        assert promotion["reportHash"] == digest
        assert promotion["written"] == len(sc.delta) == report["changed"] + report["missing"]
        assert promotion["skippedIdentical"] == report["unchanged"]
        assert len(promotion["sha256"]) == 64
        assert promotion["approvedBy"] == "reviewer" and promotion["approvedAt"] <= promotion["completedAt"]
        wait_for_event(k, done, "Approved")
        assert f"report {digest} approved by reviewer" in [e["message"] for e in events_of(k, done)]
        check_destination(kafka_bootstrap, sc, namespace, "manual", digest)
        wait_for_event(k, done, "Promoted")

        # Promoted: Kubernetes' TTL controller deletes the finished Jobs and, with them, their pods.
        uid = done["metadata"]["uid"]
        wait_for(lambda: not jobs_of(k, done), 60, "the finished Jobs deleted by their TTL")
        wait_for(lambda: not k.list_pods(namespace, f"{LABEL_UID}={uid}"), 60, "their pods deleted")

        # Re-applying the approved replay (no change) promotes nothing more and runs no Job again.
        after = high_watermarks(kafka_bootstrap, sc.destination)
        patch_spec(k, namespace, "manual", spec(sc, unique, {"policy": "Manual", "approvedReportHash": digest}))
        op.kill()  # and the operator forgets everything it held in memory
        op.start()
        time.sleep(12)
        again = get_replay(k, namespace, "manual")
        assert again["status"]["promotion"] == promotion
        assert condition(again, "Ready")["status"] == "True"
        assert [p["state"] for p in again["status"]["partitions"]] == ["Done"] * len(again["status"]["partitions"])
        assert jobs_of(k, again) == [], "no Job of the promoted replay is created again"
        assert high_watermarks(kafka_bootstrap, sc.destination) == after


def test_automatic_over_threshold_and_never_leave_the_destination_untouched(
    k: Kube, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, redis_client: Any, unique: str, tmp_path: Path
) -> None:
    sc = build(kafka_bootstrap, kafka_admin, unique, per_partition=1000, seed=31, run_workers=False)
    untouched = high_watermarks(kafka_bootstrap, sc.destination)
    strict = {"policy": "Automatic", "thresholds": {"maxInvalidRatio": 1.0, "maxChangedRatio": 0.01}}
    with running_operator(k, namespace, tmp_path):
        create_replay(k, replay_manifest(namespace, "auto", spec(sc, unique, strict)))
        create_replay(k, replay_manifest(namespace, "never", spec(sc, unique, {"policy": "Never"})))

        auto = when(
            k, namespace, "auto", "gate closed", lambda r: condition(r, "Promoted").get("reason") == "ThresholdExceeded"
        )
        report = check_report(auto, sc)
        message = condition(auto, "Promoted")["message"]
        assert "maxChangedRatio 0.01" in message and f"{report['changed']}/{report['replayedIds']}" in message
        assert "maxInvalidRatio" not in message and "maxMissingRatio" not in message
        assert condition(auto, "Ready")["reason"] == "ThresholdExceeded"
        assert condition(auto, "Stalled")["status"] == "False"
        wait_for_event(k, auto, "ThresholdExceeded")

        never = when(k, namespace, "never", "ready", lambda r: condition(r, "Ready").get("status") == "True")
        check_report(never, sc)
        assert condition(never, "Promoted")["reason"] == "PolicyNever"
        assert never["status"]["phase"] == "Reconciled"

        # The checkpoints expire with the ledger TTL: the final totals (what the gate judged) stay.
        auto_uid = auto["metadata"]["uid"]
        expired = [checkpoint_key(auto_uid, p["partition"]) for p in auto["status"]["partitions"]]
        assert redis_client.delete(*expired) > 0
        time.sleep(6)
        for got in (get_replay(k, namespace, "auto"), get_replay(k, namespace, "never")):
            assert promote_jobs(k, got) == []
            assert "promotion" not in got["status"]
        assert get_replay(k, namespace, "auto")["status"]["totals"] == auto["status"]["totals"]
        assert high_watermarks(kafka_bootstrap, sc.destination) == untouched


def test_a_second_replay_and_a_refresh_after_promotion_write_nothing(
    k: Kube, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    sc = build(kafka_bootstrap, kafka_admin, unique, per_partition=800, seed=31, run_workers=False)
    manual = {"policy": "Manual"}
    with running_operator(k, namespace, tmp_path):
        create_replay(k, replay_manifest(namespace, "first", spec(sc, unique, manual)))
        digest = check_report(reconciled(k, namespace, "first"), sc)["reportHash"]
        patch_spec(k, namespace, "first", {"promotion": {"approvedReportHash": digest}})
        done = when(k, namespace, "first", "promoted", lambda r: condition(r, "Ready").get("status") == "True")
        assert done["status"]["promotion"]["written"] == len(sc.delta) > 0
        after = high_watermarks(kafka_bootstrap, sc.destination)

        # Another name, the same window and sink: the ledger says those ids are already promoted.
        create_replay(k, replay_manifest(namespace, "second", spec(sc, unique, manual)))
        report = reconciled(k, namespace, "second")["status"]["reconciliation"]
        assert (report["changed"], report["missing"], report["alreadyPromoted"]) == (0, 0, len(sc.delta))
        patch_spec(k, namespace, "second", {"promotion": {"approvedReportHash": report["reportHash"]}})
        second = when(k, namespace, "second", "promoted", lambda r: condition(r, "Ready").get("status") == "True")
        assert second["status"]["promotion"]["written"] == 0

        # Refreshing the first replay's report: a new hash, nothing to promote.
        patch_spec(k, namespace, "first", {"reconciliation": {"refresh": 1}})
        fresh = when(
            k,
            namespace,
            "first",
            "refreshed",
            lambda r: (
                (r["status"].get("reconciliation") or {}).get("refresh") == 1
                and bool(r["status"]["reconciliation"].get("reportHash"))
            ),
        )
        rec = fresh["status"]["reconciliation"]
        assert rec["reportHash"] != digest and (rec["changed"], rec["missing"]) == (0, 0)
        patch_spec(k, namespace, "first", {"promotion": {"approvedReportHash": rec["reportHash"]}})
        final = when(
            k,
            namespace,
            "first",
            "refresh promoted",
            lambda r: (
                (r["status"].get("promotion") or {}).get("reportHash") == rec["reportHash"]
                and condition(r, "Ready").get("status") == "True"
            ),
        )
        assert final["status"]["promotion"]["written"] == 0
        assert high_watermarks(kafka_bootstrap, sc.destination) == after


def test_suspend_holds_an_approved_promotion_until_cleared(
    k: Kube, *, namespace: str, kafka_admin: Any, kafka_bootstrap: str, unique: str, tmp_path: Path
) -> None:
    sc = build(kafka_bootstrap, kafka_admin, unique, per_partition=1000, seed=31, run_workers=False)
    untouched = high_watermarks(kafka_bootstrap, sc.destination)
    with running_operator(k, namespace, tmp_path):
        create_replay(k, replay_manifest(namespace, "held", spec(sc, unique, {"policy": "Manual"})))
        digest = check_report(reconciled(k, namespace, "held"), sc)["reportHash"]
        # Approved and suspended in one commit (a GitOps pause): the open gate starts nothing.
        approval = {
            "metadata": {"annotations": {APPROVED_BY: "reviewer"}},
            "spec": {"suspend": True, "promotion": {"approvedReportHash": digest}},
        }
        path = f"/apis/eventreplay.io/v1alpha1/namespaces/{namespace}/eventreplays/held"
        k.call("PATCH", path, approval, content_type=MERGE)
        held = when(
            k,
            namespace,
            "held",
            "suspended",
            lambda r: (
                r["status"].get("observedGeneration") == r["metadata"]["generation"]
                and condition(r, "Ready").get("reason") == "Suspended"
            ),
        )
        time.sleep(6)  # a few more passes
        held = get_replay(k, namespace, "held")
        assert condition(held, "Ready")["reason"] == "Suspended" and promote_jobs(k, held) == []
        assert high_watermarks(kafka_bootstrap, sc.destination) == untouched, "written while suspended"

        patch_spec(k, namespace, "held", {"suspend": False})
        done = when(k, namespace, "held", "promoted", lambda r: condition(r, "Ready").get("status") == "True")
        assert done["status"]["promotion"]["written"] == len(sc.delta)
        assert len(promote_jobs(k, done)) == 1
        check_destination(kafka_bootstrap, sc, namespace, "held", digest)
