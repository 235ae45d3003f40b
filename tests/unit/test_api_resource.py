"""The root EventReplay model: objects from the API server parse and round-trip; wrong headers are refused."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from eventreplay.operator.api.v1alpha1 import API_VERSION, KIND, MAX_NAME, EventReplay, EventReplayStatus, Plan
from eventreplay.operator.crdgen import crd

SPEC: dict[str, Any] = {
    "source": {"bootstrapServers": "k:9092", "topic": "orders", "partitions": ["0-2"]},
    "window": {"timestamps": {"from": "2026-11-20T10:00:00Z", "to": "2026-11-20T11:00:00Z"}},
    "dedup": {"redis": {"url": "redis://r:6379/0"}, "ledger": "orders", "mode": "skipProcessed"},
    "sink": {"topic": "orders-out"},
    "promotion": {"policy": "Manual", "approvedReportHash": "ab" * 8},
}
STATUS = EventReplayStatus(
    observed_generation=3,
    phase="Planned",
    plan=Plan(
        as_of="2026-11-20T12:00:00.000Z",
        hash="0" * 16,
        input_hash="1" * 16,
        topic="orders",
        topic_partitions=3,
        sandbox_topic="eventreplay.payments.orders-lost.sandbox",
        dead_letter_topic="eventreplay.payments.orders-lost.dlq",
        records=0,
    ),
).to_wire()


def server_object() -> dict[str, Any]:
    """An EventReplay as a GET returns it: server-set metadata the model does not name included."""
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": "orders-lost",
            "namespace": "payments",
            "uid": "6f1c1c1e-1b7e-4c9e-9a52-1d0f4a1e2b3c",
            "generation": 3,
            "resourceVersion": "4711",
            "creationTimestamp": "2026-11-20T12:00:00Z",
            "labels": {"app.kubernetes.io/managed-by": "argocd"},
            "annotations": {"argocd.argoproj.io/tracking-id": "payments:eventreplay.io/EventReplay:orders-lost"},
            "finalizers": ["eventreplay.io/finalizer"],
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1"}],
        },
        "spec": copy.deepcopy(SPEC),
        "status": copy.deepcopy(STATUS),
    }


def errors(obj: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        EventReplay.model_validate(obj)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in caught.value.errors()]


def test_an_object_from_the_api_server_parses_with_its_metadata() -> None:
    replay = EventReplay.model_validate(server_object())
    meta = replay.metadata
    assert (meta.name, meta.namespace, meta.uid, meta.generation) == (
        "orders-lost",
        "payments",
        "6f1c1c1e-1b7e-4c9e-9a52-1d0f4a1e2b3c",
        3,
    )
    assert meta.deletion_timestamp is None
    assert meta.labels == {"app.kubernetes.io/managed-by": "argocd"}
    assert replay.spec.dedup.mode == "skipProcessed"
    assert replay.status is not None and replay.status.plan is not None
    assert replay.status.plan.topic_partitions == 3


def test_a_parsed_object_round_trips_to_the_same_json() -> None:
    obj = server_object()
    assert EventReplay.model_validate(obj).to_wire() == obj
    with_deletion = server_object()
    with_deletion["metadata"]["deletionTimestamp"] = "2026-11-20T13:00:00Z"
    replay = EventReplay.model_validate(with_deletion)
    assert replay.metadata.deletion_timestamp == "2026-11-20T13:00:00Z"
    assert replay.to_wire() == with_deletion


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("apiVersion", "eventreplay.io/v1", "must be eventreplay.io/v1alpha1 (got 'eventreplay.io/v1')"),
        ("apiVersion", None, "must be eventreplay.io/v1alpha1 (got None)"),
        ("kind", "ConfigMap", "must be EventReplay (got 'ConfigMap')"),
    ],
)
def test_a_wrong_header_is_refused_with_what_was_expected(field: str, value: Any, message: str) -> None:
    obj = server_object()
    if value is None:
        del obj[field]
    else:
        obj[field] = value
    assert errors(obj) == [(field, f"Value error, {message}")]


def test_missing_parts_and_bad_names_are_refused() -> None:
    assert errors({"apiVersion": API_VERSION, "kind": KIND}) == [
        ("metadata", "Value error, required (with a name)"),
        ("spec", "Value error, required (a mapping)"),
    ]
    obj = server_object()
    obj["metadata"]["name"] = "x" * (MAX_NAME + 1)
    obj["metadata"]["namespace"] = "Pay ments"
    found = dict(errors(obj))
    assert found["metadata.name"].endswith(f"at most {MAX_NAME} characters")
    assert found["metadata.namespace"] == "Value error, 'Pay ments' is not a valid namespace name"


def test_desired_leaves_the_status_out_and_ignores_unknown_top_level_fields() -> None:
    obj = server_object()
    obj["status"] = {"phase": 42, "bogus": True}  # an old operator's status does not block the spec
    obj["extra"] = "pruned by the API server"
    replay = EventReplay.desired(obj)
    assert replay.status is None
    assert replay.spec.source.topic == "orders"


def test_the_crd_names_come_from_the_root_model() -> None:
    names = crd()["spec"]["names"]
    assert (names["kind"], names["plural"], names["shortNames"]) == (KIND, "eventreplays", ["er"])
    assert crd()["spec"]["group"] + "/" + crd()["spec"]["versions"][0]["name"] == API_VERSION
