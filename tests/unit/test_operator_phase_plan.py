"""The plan phase's pure decisions, as tables: admission (status, spec, image, policy) and
whether to keep the pinned plan, make a new one, or wait for a spec change."""

from __future__ import annotations

from typing import Any

import pytest
from operator_fixtures import operator_config, plan, spec

from eventreplay.operator.api.v1alpha1 import Condition, EventReplaySpec, EventReplayStatus
from eventreplay.operator.phases.plan import PlanChoice, Refused, decide_admission, decide_plan

CONFIG = operator_config(image_allowlist=frozenset({"registry.example/worker:2"}))
PINNED = plan([(0, 0, 100)])  # input_hash "1" * 16


@pytest.mark.parametrize(
    ("invalid_status", "desired", "wanted"),
    [
        ("", spec(), None),
        ("", spec(worker={"image": "registry.example/worker:2"}), None),
        ("", spec(worker={"image": CONFIG.worker_image}), None),
        ("status.totals.read: bad", spec(), ("InvalidStatus", "status.totals.read: bad; fix or remove", True)),
        ("status.x: bad", None, ("InvalidStatus", "kubectl edit --subresource=status", True)),
        ("", None, ("InvalidSpec", "spec is invalid: no", False)),
        ("", spec(worker={"image": "evil:1"}), ("ImageNotAllowed", "worker image evil:1 is not in the", False)),
        (
            "",
            spec(source={"cluster": "main", "topic": "orders"}),
            ("NotAllowed", "policy rule kafkaClusters: source.cluster main", False),
        ),
    ],
)
def test_admission_refuses_in_order(
    invalid_status: str, desired: EventReplaySpec | None, wanted: tuple[str, str, bool] | None
) -> None:
    refused = decide_admission(invalid_status, desired, "spec is invalid: no", CONFIG, "ns")
    if wanted is None:
        assert refused is None
        return
    assert isinstance(refused, Refused)
    reason, text, keep_rest = wanted
    assert (refused.reason, refused.keep_rest) == (reason, keep_rest) and text in refused.message


def planned(status: str, reason: str) -> Condition:
    return Condition(type="Planned", status=status, reason=reason, last_transition_time="t", observed_generation=1)


@pytest.mark.parametrize(
    ("old", "spec_hash", "replaceable", "wanted"),
    [
        ({}, "1" * 16, True, "replan"),
        ({}, "1" * 16, False, "replan"),
        ({"plan": PINNED}, "1" * 16, True, "keep"),
        ({"plan": PINNED}, "2" * 16, False, "keep"),  # a partition Job depends on it
        ({"plan": PINNED}, "2" * 16, True, "frozen"),  # a pinned plan is never remade, dry run or not
        ({"conditions": [planned("False", "EmptyWindow")], "observed_generation": 1}, "1" * 16, True, "refused"),
        ({"conditions": [planned("False", "EmptyWindow")], "observed_generation": 0}, "1" * 16, True, "replan"),
        ({"conditions": [planned("False", "KafkaUnavailable")], "observed_generation": 1}, "1" * 16, True, "replan"),
        ({"conditions": [planned("True", "Planned")], "observed_generation": 1}, "1" * 16, True, "replan"),
        (
            {"plan": PINNED, "conditions": [planned("False", "EmptyWindow")], "observed_generation": 1},
            "2" * 16,
            True,
            "frozen",
        ),
    ],
)
def test_the_plan_is_kept_remade_or_waits_for_a_spec_change(
    old: dict[str, Any], spec_hash: str, replaceable: bool, wanted: PlanChoice
) -> None:
    status = EventReplayStatus.model_validate(old)
    assert decide_plan(status, 1, spec_hash, replaceable=replaceable) == wanted
