"""When the operator carries chart 0.1.0's sink ledgers over (`CheckpointReader.carry_legacy_sink_ledgers`):
at the first call for a Redis; again, at most every `CARRY_AGAIN_SECONDS`, while a 0.1.0 promotion
holds claims; never again once they are carried for good. On a real Redis:
tests/integration/test_legacy_sink_ledgers.py."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from eventreplay.operator import checkpoints, legacy_sink_ledgers
from eventreplay.operator.checkpoints import CARRY_AGAIN_SECONDS, CheckpointReader, CheckpointsUnavailable
from eventreplay.operator.legacy_sink_ledgers import CarryOver

URL = "redis://r:6379/0"
OPEN = CarryOver(carried=4, open_claims={"er:{dst:c1:out}:promoted": 2})


class Redis:
    """What each carry-over of the fake Redis finds, in turn; the clock the reader reads."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *outcomes: CarryOver | redis.RedisError) -> None:
        self.outcomes, self.carries, self.claims_asked, self.now = list(outcomes), 0, 0, 1000.0
        monkeypatch.setattr(legacy_sink_ledgers, "carry_over_once", self.carry_over_once)
        monkeypatch.setattr(legacy_sink_ledgers, "open_legacy_claims", self.open_legacy_claims)
        monkeypatch.setattr(checkpoints.time, "monotonic", lambda: self.now)

    def carry_over_once(self, client: Any) -> CarryOver:
        self.carries += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, redis.RedisError):
            raise outcome
        return outcome

    def open_legacy_claims(self, client: Any, cluster: str, topic: str) -> int:
        self.claims_asked += 1
        return 2


def test_carried_again_while_claims_are_open_then_never(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, reader = Redis(monkeypatch, OPEN, OPEN, CarryOver(carried=1)), CheckpointReader()
    assert reader.carry_legacy_sink_ledgers(URL) is False and fake.carries == 1
    fake.now += CARRY_AGAIN_SECONDS / 2
    assert reader.carry_legacy_sink_ledgers(URL) is False and fake.carries == 1, "not every pass"
    assert reader.legacy_sink_claims(URL, "c1", "out") == 2, "the sink's own ledger is read every pass"
    fake.now += CARRY_AGAIN_SECONDS
    assert reader.carry_legacy_sink_ledgers(URL) is False and fake.carries == 2
    fake.now += CARRY_AGAIN_SECONDS
    assert reader.carry_legacy_sink_ledgers(URL) is True and fake.carries == 3
    fake.now += 10 * CARRY_AGAIN_SECONDS
    assert reader.carry_legacy_sink_ledgers(URL) is True and fake.carries == 3, "carried for good"
    assert reader.legacy_sink_claims(URL, "c1", "out") == 0 and fake.claims_asked == 1


def test_the_marker_found_settles_it_at_the_first_call(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, reader = Redis(monkeypatch, CarryOver(skipped=True)), CheckpointReader()
    assert reader.carry_legacy_sink_ledgers(URL) is True
    assert reader.carry_legacy_sink_ledgers(URL) is True and fake.carries == 1


def test_a_redis_error_is_unavailable_and_tried_again_next_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    fake, reader = Redis(monkeypatch, redis.ConnectionError("refused"), CarryOver()), CheckpointReader()
    with pytest.raises(CheckpointsUnavailable, match="carrying legacy sink ledgers over in redis://r:6379/0"):
        reader.carry_legacy_sink_ledgers(URL)
    assert reader.carry_legacy_sink_ledgers(URL) is True and fake.carries == 2, "no wait after a failure"
