"""The partitions phase's pure decisions, as tables: what the status records of this plan, when
the last status is carried forward instead of read, and when the sandbox topics are created."""

from __future__ import annotations

from typing import Any

import pytest
from operator_fixtures import plan

from eventreplay.operator.api.v1alpha1 import EventReplayStatus, PartitionProgress, Totals
from eventreplay.operator.phases.partitions import decide_carry_forward, decide_recorded, decide_topics
from eventreplay.operator.schedule import Actions

PLAN = plan([(0, 0, 100), (1, 0, 50)])
OTHER = PLAN.model_copy(update={"hash": "f" * 16})
DONE = [PartitionProgress(partition=0, state="Done"), PartitionProgress(partition=1, state="Done")]
HALF = [PartitionProgress(partition=0, state="Done"), PartitionProgress(partition=1, state="Running")]


@pytest.mark.parametrize(
    ("old", "replanned", "wanted"),
    [
        ({"plan": PLAN, "partitions": HALF}, False, [0, 1]),
        ({"plan": PLAN, "partitions": HALF}, True, []),  # this pass made a new plan
        ({"plan": OTHER, "partitions": HALF}, False, []),  # another plan's partitions
        ({"partitions": HALF}, False, []),
    ],
)
def test_only_this_plans_partitions_are_recorded(old: dict[str, Any], replanned: bool, wanted: list[int]) -> None:
    recorded = decide_recorded(EventReplayStatus.model_validate(old), PLAN, replanned=replanned)
    assert sorted(recorded) == wanted
    assert all(recorded[n] == entry for n, entry in enumerate(HALF) if n in recorded)


@pytest.mark.parametrize(
    ("old", "wanted"),
    [
        ({"partitions": DONE, "totals": Totals(read=150)}, True),
        ({"partitions": DONE}, False),  # no totals to keep
        ({"partitions": HALF, "totals": Totals(read=150)}, False),
        ({"partitions": DONE[:1], "totals": Totals(read=150)}, False),  # not every partition of the plan
        ({}, False),
    ],
)
def test_final_figures_are_carried_forward(old: dict[str, Any], wanted: bool) -> None:
    assert decide_carry_forward(EventReplayStatus.model_validate(old), PLAN) is wanted


@pytest.mark.parametrize(
    ("actions", "by_operator", "ensured", "wanted"),
    [
        (Actions(create=[(0, 0)]), True, False, True),
        (Actions(create=[(0, 0)]), True, True, False),  # this process created them already
        (Actions(create=[(0, 0)]), False, False, False),  # topicsCreatedBy: tenant
        (Actions(resume=["r-0"]), True, False, False),  # no Job is about to start
        (Actions(), True, False, False),
    ],
)
def test_sandbox_topics_are_created_once_before_the_first_jobs(
    actions: Actions, by_operator: bool, ensured: bool, wanted: bool
) -> None:
    assert decide_topics(actions, created_by_operator=by_operator, ensured=ensured) is wanted
