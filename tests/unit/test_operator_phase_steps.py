"""The steps phase's guards, as tables: when the post-replay steps run, wait, stall on an
unbounded existing output, or stay suspended (their Jobs too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from operator_fixtures import spec

from eventreplay.operator.api.v1alpha1 import ReconciliationStatus
from eventreplay.operator.job_state import JobState, JobView
from eventreplay.operator.phases.steps import (
    StepsChoice,
    decide_sizing,
    decide_step_suspension,
    decide_steps,
    decide_unbounded,
)

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
UNBOUNDED = "an offsets window compares with the whole retained orders-out"


@pytest.mark.parametrize(
    ("overrides", "replayed", "unbounded", "wanted"),
    [
        ({}, True, None, "run"),
        ({}, False, None, "wait"),
        ({"dryRun": True}, True, None, "wait"),
        ({}, True, UNBOUNDED, "unbounded"),
        ({"suspend": True}, True, UNBOUNDED, "unbounded"),  # the stall says more than the suspension
        ({"suspend": True}, True, None, "suspend"),
        ({"suspend": True}, False, None, "wait"),
    ],
)
def test_the_steps_run_only_after_a_real_replay_and_no_guard_holds(
    overrides: dict[str, Any], replayed: bool, unbounded: str | None, wanted: StepsChoice
) -> None:
    assert decide_steps(spec(**overrides), replayed=replayed, unbounded=unbounded) == wanted


def reconcile_job() -> list[JobView]:
    return [JobView("r-reconcile-0", None, 0, "Running", step="reconcile")]


TIMES = {"from": "2026-11-19T00:00:00Z", "to": "2026-11-20T00:00:00Z"}


@pytest.mark.parametrize(
    ("overrides", "recorded", "jobs", "wanted"),
    [
        ({}, None, [], "orders-out"),
        ({"reconciliation": {"comparisonTopic": "orders-archive"}}, None, [], "orders-archive"),
        ({"window": {"timestamps": TIMES}}, None, [], None),  # a time window bounds the existing output
        ({"window": {"relative": {"fromSecondsAgo": 60}}}, None, [], None),
        ({"reconciliation": {"existingOffsets": [{"partition": 0, "from": 0, "to": 9}]}}, None, [], None),
        ({"reconciliation": {"existingTimestamps": TIMES}}, None, [], None),
        ({}, ReconciliationStatus(job="r-reconcile-0"), [], None),  # decided already
        ({}, None, reconcile_job(), None),
    ],
)
def test_only_an_unbounded_existing_output_is_sized(
    overrides: dict[str, Any], recorded: ReconciliationStatus | None, jobs: list[JobView], wanted: str | None
) -> None:
    assert decide_sizing(spec(**overrides), NOW, recorded, jobs) == wanted


@pytest.mark.parametrize(
    ("retained", "wanted"),
    [
        (None, None),
        (10, None),
        (100, None),
        (101, "the whole retained orders-out (101 records > 100): set spec.reconciliation.existingOffsets"),
    ],
)
def test_an_existing_output_above_the_limit_stalls(retained: int | None, wanted: str | None) -> None:
    said = decide_unbounded("orders-out", retained, 100)
    assert said == wanted if wanted is None else (said is not None and wanted in said)


def views(*states: tuple[str, JobState, bool]) -> list[JobView]:
    return [
        JobView(name, None if step else 0, 0, state, step="promote" if step else None) for name, state, step in states
    ]


JOBS = views(
    ("p-run", "Running", True),
    ("p-sus", "Suspended", True),
    ("p-done", "Succeeded", True),
    ("r-0", "Running", False),
    ("r-1", "Suspended", False),
)


@pytest.mark.parametrize(("suspend", "wanted"), [(True, ["p-run"]), (False, ["p-sus"])])
def test_only_step_jobs_are_suspended_or_resumed(suspend: bool, wanted: list[str]) -> None:
    assert decide_step_suspension(JOBS, suspend=suspend) == wanted
