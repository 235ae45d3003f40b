"""The spec models refuse what the CRD's CEL rules refuse (the operator relies on them too)."""

from __future__ import annotations

from typing import Any

import pytest
from operator_fixtures import spec
from pydantic import ValidationError

BAD: list[tuple[str, dict[str, Any], str]] = [
    (
        "two windows",
        {"window": {"offsets": {"from": 0, "to": 1}, "relative": {"fromSecondsAgo": 60}}},
        "exactly one",
    ),
    ("no window", {"window": {}}, "exactly one"),
    ("to before from", {"window": {"offsets": {"from": 5, "to": 5}}}, "greater than from"),
    ("from without to", {"window": {"offsets": {"from": 5}}}, "both from and to"),
    (
        "zone-less timestamp",
        {"window": {"timestamps": {"from": "2026-11-20T10:00:00", "to": "2026-11-20T11:00:00Z"}}},
        "explicit zone",
    ),
    (
        "timestamps reversed",
        {"window": {"timestamps": {"from": "2026-11-20T11:00:00Z", "to": "2026-11-20T10:00:00Z"}}},
        "after from",
    ),
    (
        "relative reversed",
        {"window": {"relative": {"fromSecondsAgo": 60, "toSecondsAgo": 120}}},
        "greater than",
    ),
    (
        "partition range reversed",
        {"source": {"bootstrapServers": "k", "topic": "t", "partitions": ["5-2"]}},
        "N <= M",
    ),
    (
        "negative partition",
        {"source": {"bootstrapServers": "k", "topic": "t", "partitions": ["-1"]}},
        "pattern",
    ),
    ("bad topic", {"source": {"bootstrapServers": "k", "topic": "a/b"}}, "pattern"),
    ("project without fields", {"transform": {"function": "project"}}, "non-empty fields"),
    (
        "secret ref with namespace",
        {
            "source": {
                "bootstrapServers": "k",
                "topic": "t",
                "credentialsSecretRef": {"name": "s", "namespace": "x"},
            }
        },
        "Extra inputs",
    ),
    ("schema ref over http", {"validation": {"jsonSchema": {"$ref": "http://10.0.0.1/s.json"}}}, "points outside"),
    (
        "schema ref to a file",
        {"validation": {"jsonSchema": {"allOf": [{"$ref": "file:///etc/passwd"}]}}},
        r"\$ref 'file:///etc/passwd' at /allOf/0/\$ref points outside the schema",
    ),
    (
        "schema ref to a relative file",
        {"validation": {"jsonSchema": {"properties": {"a": {"$ref": "other.json"}}}}},
        "'other.json' at /properties/a/",
    ),
    ("schema with a remote $id", {"validation": {"jsonSchema": {"$id": "https://evil.example/"}}}, "points outside"),
    (
        "schema of 300 KB",
        {"validation": {"jsonSchema": {"description": "x" * 300_000}}},
        "above the 65536-byte bound",
    ),
    (
        "unknown mode",
        {"dedup": {"redis": {"url": "redis://r"}, "ledger": "l", "mode": "sometimes"}},
        "withinReplay",
    ),
]


@pytest.mark.parametrize(("case", "override", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_specs_are_refused(case: str, override: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        spec(**override)


def test_partition_selection() -> None:
    s = spec(source={"bootstrapServers": "k", "topic": "t", "partitions": ["0", "3-5", "4"]})
    assert s.source.selected(10) == [0, 3, 4, 5]
    assert spec().source.selected(10) is None


def test_defaults() -> None:
    s = spec()
    assert (s.dry_run, s.suspend, s.retry) == (False, False, 0)
    assert s.promotion.policy == "Manual"
    assert s.worker.parallelism == 10 and s.worker.backoff_limit == 3
    assert s.transform.function == "identity"


def test_a_schema_with_local_refs_within_the_bound_is_admitted() -> None:
    schema = {
        "definitions": {"id": {"type": "string"}},
        "properties": {"event_id": {"$ref": "#/definitions/id"}, "id": {"type": "string"}, "self": {"$ref": "#"}},
        "description": "x" * 60_000,
    }
    assert spec(validation={"jsonSchema": schema}).validation.json_schema == schema
