"""The operator reads the fetched object through the root model: metadata, a stalled invalid spec, a lenient status."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any, cast

from operator_fixtures import operator_config

from eventreplay.operator.clients import Clients
from eventreplay.operator.sync import sync

OBJ: dict[str, Any] = {
    "apiVersion": "eventreplay.io/v1alpha1",
    "kind": "EventReplay",
    "metadata": {
        "name": "r",
        "namespace": "ns",
        "uid": "u-1",
        "generation": 4,
        "managedFields": [{"manager": "kubectl"}],
    },
    # Passes admission of an older CRD, not the model: the operator must stall, not plan.
    "spec": {
        "source": {"bootstrapServers": "k:9092", "topic": "orders"},
        "window": {"offsets": {"from": 5, "to": 5}},
        "dedup": {"redis": {"url": "redis://r:6379/0"}, "ledger": "orders"},
        "sink": {"topic": "orders-out"},
    },
}


class FakeKube:
    """Serves one object; records status patches. Nothing else may be called on this path."""

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj, self.patches = obj, cast(list[dict[str, Any]], [])

    def get_replay(self, ns: str, name: str) -> dict[str, Any]:
        return self.obj

    def patch_replay_status(self, ns: str, name: str, patch: dict[str, Any]) -> int:
        self.patches.append(patch)
        return len(str(patch))  # bytes sent


def run(obj: dict[str, Any]) -> FakeKube:
    kube = FakeKube(obj)
    clients = Clients(
        kube=cast(Any, kube), kafka=cast(Any, None), checkpoints=cast(Any, None), config=operator_config()
    )
    sync(clients, "ns", "r", now=datetime(2026, 11, 20, 12, tzinfo=UTC))
    return kube


def test_an_invalid_spec_stalls_with_invalid_spec_and_the_models_message() -> None:
    kube = run(copy.deepcopy(OBJ))
    [patch] = kube.patches
    stalled = next(c for c in patch["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "InvalidSpec")
    assert stalled["message"] == "spec is invalid: Value error, window.offsets: to must be greater than from"
    assert patch["observedGeneration"] == 4 and stalled["observedGeneration"] == 4


def test_an_unreadable_status_is_treated_as_none() -> None:
    obj = copy.deepcopy(OBJ)
    obj["status"] = {"phase": 42, "conditions": "not a list"}
    [patch] = run(obj).patches
    assert patch["phase"] == "Stalled"
    assert {c["type"] for c in patch["conditions"]} >= {"Stalled", "Ready"}


def test_a_replay_being_deleted_is_left_alone() -> None:
    obj = copy.deepcopy(OBJ)
    obj["metadata"]["deletionTimestamp"] = "2026-11-20T12:00:00Z"
    assert run(obj).patches == []
