"""The status phase's pure decisions, as tables: the Reconciled / Promoted placeholders, and when
a replay is finished for good (its Jobs handed to the TTL controller)."""

from __future__ import annotations

import pytest
from operator_fixtures import spec

from eventreplay.operator.api.v1alpha1 import Condition
from eventreplay.operator.phases.status import decide_placeholders, finished_for_good


def condition(kind: str, status: str, reason: str) -> Condition:
    return Condition(type=kind, status=status, reason=reason, last_transition_time="t")


NEVER = {"promotion": {"policy": "Never"}}


@pytest.mark.parametrize(
    ("old", "overrides", "wanted"),
    [
        ([], {}, [("Reconciled", "AwaitingReplay"), ("Promoted", "AwaitingReconciliation")]),
        ([], NEVER, [("Reconciled", "AwaitingReplay"), ("Promoted", "PolicyNever")]),
        (
            [condition("Reconciled", "Unknown", "AwaitingReplay")],
            {},
            [("Reconciled", "AwaitingReplay"), ("Promoted", "AwaitingReconciliation")],
        ),
        ([condition("Reconciled", "False", "Reconciling")], {}, [("Promoted", "AwaitingReconciliation")]),
        (
            [condition("Reconciled", "True", "Reconciled"), condition("Promoted", "True", "Promoted")],
            {},
            [],
        ),
        (
            [condition("Promoted", "False", "PolicyNever")],
            {},
            [("Reconciled", "AwaitingReplay"), ("Promoted", "AwaitingReconciliation")],
        ),
    ],
)
def test_placeholders_never_replace_what_a_step_set(
    old: list[Condition], overrides: dict[str, object], wanted: list[tuple[str, str]]
) -> None:
    assert [(w.type, w.reason) for w in decide_placeholders(old, spec(**overrides))] == wanted


def test_an_invalid_spec_gets_no_placeholders() -> None:
    assert decide_placeholders([], None) == []


@pytest.mark.parametrize(
    ("ready", "wanted"),
    [
        (condition("Ready", "True", "Promoted"), True),
        (condition("Ready", "True", "Reconciled"), True),  # a Never gate: reconciled for good
        (condition("Ready", "True", "DryRun"), False),
        (condition("Ready", "True", "Replayed"), False),
        (condition("Ready", "False", "Promoted"), False),
        (None, False),
    ],
)
def test_a_replay_is_finished_for_good_once_promoted_or_reconciled(ready: Condition | None, wanted: bool) -> None:
    assert finished_for_good([ready] if ready is not None else []) is wanted
