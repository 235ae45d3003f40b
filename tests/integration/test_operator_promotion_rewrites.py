"""A report does not age silently, driven by the operator on the real stack: production rewrites
some delta ids while the Manual gate waits; the approved promotion leaves them to production and
says so in status.promotion and the Promoted condition."""

from __future__ import annotations

import random

import pytest

from support.operator_driver import OperatorDriver
from support.reconciliation_checks import check_report, check_sink, replay_spec
from support.reconciliation_scenario import production_rewrites
from support.step_driver import StepDriver

pytestmark = pytest.mark.stack


def test_ids_production_rewrote_while_the_gate_waited_are_left_counted_and_listed(
    steps: StepDriver, driver: OperatorDriver, *, namespace: str, kafka_bootstrap: str, unique: str
) -> None:
    sc = steps.build(per_partition=1000, seed=47, run_workers=False)
    with driver.running():
        driver.create("aged", replay_spec(sc, unique, {"policy": "Manual"}))
        got = driver.wait_for_condition("aged", "Reconciled", timeout=300)
        digest = check_report(got, sc)["reportHash"]
        assert driver.condition(got, "Promoted")["reason"] == "AwaitingApproval"

        rewritten = sorted(random.Random(3).sample(sorted(sc.delta), 12))
        newer = production_rewrites(kafka_bootstrap, sc, rewritten)  # hours later, as far as the report knows
        driver.patch_spec("aged", {"promotion": {"approvedReportHash": digest}})
        done = driver.wait_for_replay(
            "aged", lambda r: driver.condition(r, "Ready").get("status") == "True", "promoted", timeout=300
        )

    promotion = done["status"]["promotion"]
    assert (promotion["rewritten"], promotion["rewrittenIds"]) == (len(rewritten), rewritten)
    assert promotion["written"] == len(sc.delta) - len(rewritten)
    promoted = driver.condition(done, "Promoted")
    assert promoted["status"] == "True"
    assert f"{len(rewritten)} left as production rewrote them after the report" in promoted["message"]
    check_sink(kafka_bootstrap, sc, namespace, "aged", digest, rewritten=newer)
