"""Frozen once planned: the generated CRD carries one transition rule per output-deciding field,
each naming its field and telling the user to create a new replay; operational fields get none."""

from __future__ import annotations

from typing import Any

from eventreplay.operator import crdgen

FROZEN = {
    ".spec.source",
    ".spec.window",
    ".spec.validation",
    ".spec.transform",
    ".spec.sink",
    ".spec.dedup.redis.url",
    ".spec.dedup.ledger",
    ".spec.dedup.mode",
    ".spec.reconciliation.slackSeconds",
    ".spec.reconciliation.comparisonTopic",
    ".spec.reconciliation.existingOffsets",
    ".spec.reconciliation.existingTimestamps",
    ".spec.reconciliation.eventId",
    ".spec.reconciliation.canonicalHeaders",
    ".spec.reconciliation.compareKey",
    ".spec.reconciliation.sampleSize",
}
MUTABLE = (
    "suspend",
    "retry",
    "dryRun",
    "promotion",
    "worker",
    "dedup.ttlSeconds",
    "dedup.redis.passwordSecretRef",
    "reconciliation",  # the parent as a whole: a future sibling (a refresh counter) stays mutable
    "dedup",
    "dedup.redis",
)


def _root_rules() -> list[dict[str, Any]]:
    schema = crdgen.openapi_schema()
    rules: list[dict[str, Any]] = schema["x-kubernetes-validations"]
    return rules


def test_every_output_deciding_field_is_frozen_once_planned_with_a_clear_message() -> None:
    frozen = {r["fieldPath"]: r for r in _root_rules() if "immutable once the replay is planned" in r["message"]}
    assert set(frozen) == FROZEN
    for path, found in frozen.items():
        assert found["message"].startswith(f"{path[1:]} is immutable once the replay is planned")
        assert "create a new EventReplay" in found["message"]
        # Only once planned, dry run or not (issue 25: a dry run unfroze the sink an approval was for),
        # and only this field is compared.
        assert found["rule"].startswith("!has(oldSelf.status) || !has(oldSelf.status.plan) || ")
        assert "dryRun" not in found["rule"]
        assert f"self{path} == oldSelf{path}" in found["rule"]


def test_operational_fields_stay_mutable() -> None:
    text = " ".join(r["rule"] for r in _root_rules())
    for field in MUTABLE:
        assert f"self.spec.{field} == oldSelf.spec.{field})" not in text, field
