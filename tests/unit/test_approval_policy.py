"""The chart's approval policy and the operator agree on the annotation names, and the operator
records who approved (in-process)."""

from __future__ import annotations

from pathlib import Path

import orjson
from operator_fakes import FakeKube, World, replay
from test_operator_sync_stages import HASH, PROMOTE, SUMMARY

from eventreplay.operator.api.v1alpha1 import APPROVED_BY, CREATED_BY
from eventreplay.worker.contract.names import report_key

POLICY = Path(__file__).resolve().parents[2] / "charts/eventreplay-operator/templates/approval-policy.yaml"


def test_the_chart_policy_names_the_operators_annotations() -> None:
    text = POLICY.read_text()
    for name in (APPROVED_BY, CREATED_BY):
        assert f"'{name}' in variables" in text, name


def test_the_approver_is_recorded_in_status_and_named_in_the_promoting_message() -> None:
    world = World(kube=FakeKube(replay(promotion={"policy": "Manual", "approvedReportHash": HASH})))
    assert world.kube.obj is not None
    world.kube.obj["metadata"]["annotations"] = {APPROVED_BY: "bob"}
    world.sync()
    world.kube.finish("r-0")
    world.kube.finish("r-1")
    world.sync()
    world.kube.finish("r-reconcile")
    world.checkpoints.keys[report_key("u-1")] = orjson.dumps(SUMMARY)
    outcome = world.sync()
    assert world.kube.created[-1] == PROMOTE
    promotion = world.status["promotion"]
    assert promotion["approvedBy"] == "bob" and promotion["approvedAt"] == promotion["startedAt"]
    reconciling = next(c for c in world.status["conditions"] if c["type"] == "Reconciling")
    assert (reconciling["reason"], reconciling["message"]) == ("Promoting", f"report {HASH} approved by bob")
    # The Promoting Event (from the Promoted condition) names the approver too.
    promoting = [e for e in outcome.events if e.reason == "Promoting"]
    assert promoting and promoting[0].message.endswith("(approved by bob)")
