"""A promotion waiting on another replay's claim in the sink: its promoter's mirror says whose and
since when, the operator shows it in status.promotion and the Promoted condition while the Job
retries, and clears it once the promotion moves on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from operator_fakes import PROMOTE, REPORT_HASH, reconciled

from eventreplay.operator.api.v1alpha1 import PromotionStatus
from eventreplay.operator.steps.promotion import with_wait
from eventreplay.worker.contract.checkpoints import PromotionCheckpoint
from eventreplay.worker.contract.exit_codes import CLAIM_HELD

SINCE = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()
OTHER = "0f0f0f0f-other-replay"


def mirror(partition: int, *, blocked_by: str = "", since: float = 0.0, **more: Any) -> PromotionCheckpoint:
    """A running promoter's mirror of `partition` (`more`: other checkpoint fields)."""
    fields: dict[str, Any] = {"report_hash": REPORT_HASH, "start_offset": 0, "end_offset": 10, "committed_offset": 0}
    return PromotionCheckpoint(partition=partition, blocked_by=blocked_by, blocked_since=since, **{**fields, **more})


@pytest.mark.parametrize(
    ("mirrors", "expected"),
    [
        ({}, (None, None)),
        ({0: mirror(0)}, (None, None)),
        ({0: mirror(0), 1: mirror(1, blocked_by=OTHER, since=SINCE)}, (OTHER, "2026-11-20T12:00:00.000Z")),
        (
            {1: mirror(1, blocked_by="later", since=SINCE + 60), 0: mirror(0, blocked_by=OTHER, since=SINCE)},
            (OTHER, "2026-11-20T12:00:00.000Z"),
        ),
        ({0: mirror(0, blocked_by=OTHER, since=SINCE, report_hash="cd" * 32)}, (None, None)),  # another report's
        ({0: mirror(0, blocked_by=OTHER, since=SINCE, state="done")}, (None, None)),
    ],
)
def test_with_wait_names_the_longest_held_claim(
    mirrors: dict[int, PromotionCheckpoint], expected: tuple[str | None, str | None]
) -> None:
    promo = with_wait(PromotionStatus(report_hash=REPORT_HASH, job=PROMOTE), mirrors)
    assert (promo.blocked_by, promo.blocked_since) == expected


def test_a_waiting_promotion_shows_whose_claim_until_it_moves_on() -> None:
    world = reconciled(promotion={"policy": "Manual", "approvedReportHash": REPORT_HASH})
    world.sync()
    assert world.kube.created[-1] == PROMOTE
    world.checkpoints.promotions_done = {1: mirror(1, blocked_by=OTHER, since=SINCE)}
    world.sync()
    assert world.condition("Promoted") == ("False", "PromotionBlocked")
    assert world.kstatus() == ("False", "True", "False", "PromotionBlocked")
    promotion = world.status["promotion"]
    assert (promotion["blockedBy"], promotion["blockedSince"]) == (OTHER, "2026-11-20T12:00:00.000Z")
    message = next(c["message"] for c in world.status["conditions"] if c["type"] == "Promoted")
    assert message.startswith(f"{CLAIM_HELD}: waiting since 2026-11-20T12:00:00.000Z on replay {OTHER}")
    world.checkpoints.promotions_done = {1: mirror(1, committed_offset=5)}  # committed past the claim
    world.sync()
    assert world.condition("Promoted") == ("False", "Promoting")
    assert "blockedBy" not in world.status["promotion"]
    world.promotion_finished()
    world.sync()
    assert world.kstatus()[3] == "Promoted" and "blockedBy" not in world.status["promotion"]
