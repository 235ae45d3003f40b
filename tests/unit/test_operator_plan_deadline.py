"""Planning has one overall deadline: every broker call gets what is left, and a plan that runs
out waits with its own reason (PlanDeadlineExceeded), retried on a later pass."""

from __future__ import annotations

import time

import pytest
from operator_fakes import World

from eventreplay.operator.kafka import Deadline, KafkaUnavailable, PlanDeadlineExceeded


def test_each_call_gets_at_most_its_step_and_never_more_than_is_left() -> None:
    deadline = Deadline(seconds=0.3, step=10.0)
    assert 0 < deadline.left("metadata") <= 0.3
    assert Deadline(seconds=60.0, step=2.0).left("watermarks") == 2.0


def test_a_spent_deadline_names_the_step_it_stopped_before() -> None:
    deadline = Deadline(seconds=0.01, step=10.0)
    time.sleep(0.02)
    with pytest.raises(PlanDeadlineExceeded, match=r"0\.01 s deadline before watermarks") as raised:
        deadline.left("watermarks")
    assert isinstance(raised.value, KafkaUnavailable)  # retried like an unreachable cluster


class SlowKafka:
    def observe(self, spec: object, as_of: object) -> None:
        raise PlanDeadlineExceeded("planning exceeded its 30 s deadline before offsets_for_times")


def test_a_plan_past_its_deadline_waits_with_that_reason() -> None:
    world = World()
    world.kafka = SlowKafka()  # type: ignore[assignment]
    world.sync()
    assert world.condition("Planned") == ("False", "PlanDeadlineExceeded")
    assert world.condition("Stalled")[0] == "False"  # not stalled: retried on the next pass
    assert "30 s deadline" in next(c for c in world.status["conditions"] if c["type"] == "Ready")["message"]
    assert world.kube.created == []
