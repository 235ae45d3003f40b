"""The upgrade window from chart 0.1.0: a 0.1.0 promotion Job still running holds open claims in its
sink's legacy ledger, which new promoters do not see. The operator holds new promotions of THAT sink
(reason `LegacyClaimsOpen`, naming the key and the count) and looks again each pass; the ledger's
committed entries are carried before the hold lifts (`CheckpointReader.legacy_sink_claims`). Once the
legacy ledgers are carried for good (the marker), nothing is asked of Kafka or the legacy ledger."""

from __future__ import annotations

import pytest
from operator_fake_backends import CLUSTER_ID
from operator_fakes import PROMOTE, REPORT_HASH, World, reconciled

from eventreplay.operator import conditions as cond
from eventreplay.operator.conditions import Want
from eventreplay.operator.steps.facts import LegacyClaims
from eventreplay.operator.steps.promotion import LEGACY_CLAIMS_OPEN, legacy_hold
from eventreplay.worker.contract.sink_keys import legacy_sink_ledger_key

SINK = "orders-out"
"""The sink of the fakes' replay (`operator_fakes.SPEC`)."""
LEGACY = legacy_sink_ledger_key(CLUSTER_ID, SINK)
APPROVED = {"policy": "Manual", "approvedReportHash": REPORT_HASH}
RECONCILED = Want(cond.RECONCILED, "True", "Reconciled", "the report")


def message(world: World, kind: str) -> str:
    return str(next(c["message"] for c in world.status["conditions"] if c["type"] == kind))


@pytest.mark.parametrize("claims", [None, LegacyClaims(LEGACY, 0)])
def test_no_open_legacy_claim_holds_nothing(claims: LegacyClaims | None) -> None:
    assert legacy_hold(claims, RECONCILED) is None


def test_open_legacy_claims_hold_with_the_key_and_the_count() -> None:
    held = legacy_hold(LegacyClaims(LEGACY, 3), RECONCILED)
    assert held is not None and held.create is None
    promoted = next(w for w in held.wants if w.type == cond.PROMOTED)
    assert (promoted.status, promoted.reason) == ("False", LEGACY_CLAIMS_OPEN)
    assert promoted.message.startswith(f"3 open claims of a chart 0.1.0 promotion in {LEGACY}:")
    assert RECONCILED in held.wants


def test_a_promotion_waits_for_the_0_1_0_promotion_of_its_sink_then_starts() -> None:
    world = reconciled(promotion=APPROVED)
    world.checkpoints.legacy_claims[LEGACY] = 3
    world.sync()
    assert PROMOTE not in world.kube.created
    assert world.condition("Promoted") == ("False", LEGACY_CLAIMS_OPEN)
    assert world.kstatus() == ("False", "True", "False", LEGACY_CLAIMS_OPEN), "waiting, not stalled"
    assert LEGACY in message(world, "Promoted") and "3 open claims" in message(world, "Promoted")
    assert world.checkpoints.legacy_asked == [(CLUSTER_ID, SINK)], "the sink as promoters name it"
    world.checkpoints.legacy_claims[LEGACY] = 1  # re-checked each pass
    world.sync()
    assert PROMOTE not in world.kube.created and "1 open claims" in message(world, "Promoted")
    world.checkpoints.legacy_claims[LEGACY] = 0  # the 0.1.0 Job committed (its entries carried meanwhile)
    world.sync()
    assert world.kube.created[-1] == PROMOTE
    assert world.condition("Promoted") == ("False", "Promoting")


def test_a_retry_waits_too() -> None:
    world = reconciled(promotion=APPROVED)
    world.sync()
    world.kube.finish(PROMOTE, failed="BackoffLimitExceeded")
    world.checkpoints.legacy_claims[LEGACY] = 2
    world.edit(retry=1)
    world.sync()
    assert f"{PROMOTE}-r1" not in world.kube.created
    assert world.condition("Promoted") == ("False", LEGACY_CLAIMS_OPEN)
    world.checkpoints.legacy_claims[LEGACY] = 0
    world.sync()
    assert world.kube.created[-1] == f"{PROMOTE}-r1"


def test_another_sinks_open_claims_hold_nothing_here() -> None:
    world = reconciled(promotion=APPROVED)
    world.checkpoints.legacy_claims[legacy_sink_ledger_key(CLUSTER_ID, "payments-out")] = 5
    world.checkpoints.legacy_claims[legacy_sink_ledger_key("another-cluster", SINK)] = 5
    world.sync()
    assert world.kube.created[-1] == PROMOTE


def test_carried_for_good_nothing_is_asked() -> None:
    world = reconciled(promotion=APPROVED)
    world.sync()
    assert world.kube.created[-1] == PROMOTE
    assert (world.kafka.cluster_asked, world.checkpoints.legacy_asked) == (0, [])


def test_a_closed_gate_asks_nothing_of_the_legacy_ledger() -> None:
    world = reconciled(promotion={"policy": "Manual"})
    world.checkpoints.legacy_claims[LEGACY] = 3
    world.sync()
    assert world.condition("Promoted") == ("False", "AwaitingApproval")
    assert (world.kafka.cluster_asked, world.checkpoints.legacy_asked) == (0, [])


def test_no_promotion_while_the_sinks_cluster_cannot_be_named() -> None:
    world = reconciled(promotion=APPROVED)
    world.checkpoints.legacy_claims[LEGACY] = 0
    world.checkpoints.legacy_claims[legacy_sink_ledger_key(CLUSTER_ID, "payments-out")] = 1  # not carried for good
    world.kafka.down = "kafka down"
    world.sync()
    assert PROMOTE not in world.kube.created
    assert world.kstatus() == ("False", "True", "False", "KafkaUnavailable")
    assert message(world, "Ready").startswith("the promote Job waits: cannot tell whether a chart 0.1.0 promotion")
    world.kafka.down = ""
    world.sync()
    assert world.kube.created[-1] == PROMOTE
