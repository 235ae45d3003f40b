"""Validation verdicts: the msgspec fast path never disagrees with the full JSON Schema path."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import fastjsonschema
import orjson
import pytest

from datagen.orders import ORDER_SCHEMA, generate
from eventreplay.worker.contract.tasks import Validation
from eventreplay.worker.replay.fastpath import compile_fast_path
from eventreplay.worker.replay.validate import Validator
from eventreplay.worker.runtime.formats import Rejected

AS_OF = datetime(2026, 11, 21, tzinfo=UTC)


def _mutations(rng: random.Random, doc: dict[str, Any]) -> list[bytes]:
    out = [orjson.dumps(doc)]
    for key in list(doc):
        for bad in (None, True, -1, -1.5, 0, 1.0, "", "x", [], {}, "EUR", 1e300):
            mutated = dict(doc)
            mutated[key] = bad
            out.append(orjson.dumps(mutated))
        dropped = dict(doc)
        del dropped[key]
        out.append(orjson.dumps(dropped))
    out.append(orjson.dumps({**doc, "extra": {"nested": [1, 2]}}))
    out.append(b"[1, 2]")
    out.append(b'"just a string"')
    out.append(b"{not json")
    return out


@pytest.mark.parametrize(
    "schema",
    [
        ORDER_SCHEMA,
        {
            **ORDER_SCHEMA,
            "additionalProperties": False,
            "properties": {
                **ORDER_SCHEMA["properties"],
                "customer_id": {"type": "string"},
                "order_id": {"type": "string"},
                "status": {"type": "string", "enum": ["created", "paid", "shipped"]},
                "channel": {"type": "string", "maxLength": 7},
                "occurred_at": {"type": "string", "minLength": 20},
            },
        },
    ],
)
def test_fast_path_agrees_with_fastjsonschema(schema: dict[str, Any]) -> None:
    assert compile_fast_path(schema, "event_id") is not None, "this schema is inside the fast subset"
    full = fastjsonschema.compile(schema)
    fast = Validator(Validation(json_schema=schema), AS_OF)
    rng = random.Random(3)
    checked = 0
    for record in generate(300, seed=8):
        if record.kind not in ("ok", "schema", "conflict"):
            continue
        for raw in _mutations(rng, orjson.loads(record.value)):
            verdict = fast.check(raw, 0)
            try:
                doc = orjson.loads(raw)
                ok = isinstance(doc, dict) and isinstance(doc.get("event_id"), str) and doc["event_id"] != ""
                if ok:
                    full(doc)
            except (orjson.JSONDecodeError, fastjsonschema.JsonSchemaException):
                ok = False
            assert (not isinstance(verdict, Rejected)) == ok, raw
            if ok:
                assert verdict == (doc["event_id"], doc)
            checked += 1
    assert checked > 3000


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "required": ["event_id"], "properties": {"n": {"type": "integer"}}},
        {"type": "object", "required": ["event_id"], "properties": {"n": {"anyOf": [{"type": "string"}]}}},
        {"type": "object", "required": ["event_id"], "properties": {"n": {"type": ["string", "null"]}}},
        {"type": "object", "properties": {"event_id": {"type": "string"}}},  # id not required
        # msgspec would run a pattern on Python's backtracking `re`: patterns take the RE2 path.
        {"type": "object", "required": ["event_id"], "properties": {"s": {"type": "string", "pattern": "^a$"}}},
    ],
)
def test_schemas_outside_the_subset_get_no_fast_path(schema: dict[str, Any]) -> None:
    assert compile_fast_path(schema, "event_id") is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "tombstone"),
        (b"x" * 2000, "oversized"),
        (b'{"event_id": ', "malformed_json"),
        (b"[1]", "schema"),
        (b'{"amount": 3}', "missing_id"),
        (b'{"event_id": ""}', "missing_id"),
        (b'{"event_id": true}', "missing_id"),
        (
            b'{"event_id": "a", "amount": -1, "currency": "EUR", "order_id": "o", "occurred_at": "t"}',
            "schema",
        ),
    ],
)
def test_reasons(raw: bytes | None, reason: str) -> None:
    validator = Validator(Validation(json_schema=ORDER_SCHEMA, max_event_bytes=1000), AS_OF)
    verdict = validator.check(raw, 0)
    assert isinstance(verdict, Rejected) and verdict.reason == reason


def test_integer_ids_and_future_skew() -> None:
    validator = Validator(Validation(timestamp_field="at", max_future_skew_seconds=60), AS_OF)
    assert validator.check(b'{"event_id": 7, "at": "2026-11-21T00:00:30Z"}', 0) == (
        "7",
        {"event_id": 7, "at": "2026-11-21T00:00:30Z"},
    )
    late = validator.check(b'{"event_id": 8, "at": "2026-11-21T00:02:00Z"}', 0)
    assert isinstance(late, Rejected) and late.reason == "invariant"
    record_time = Validator(Validation(max_future_skew_seconds=0), AS_OF)
    assert isinstance(record_time.check(b'{"event_id": "x"}', int(AS_OF.timestamp() * 1000) + 1), Rejected)


def test_a_made_up_field_name_never_hides_a_rule() -> None:
    """Properties that are not identifiers get names f<index>; one equal to a real property
    must not let the fast path drop a rule: such a schema gets no fast path at all."""
    schema = {
        "type": "object",
        "required": ["event_id", "_a"],
        "properties": {"_a": {"type": "string"}, "event_id": {"type": "string"}, "f0": {"type": "string"}},
    }
    assert compile_fast_path(schema, "event_id") is None
    verdict = Validator(Validation(json_schema=schema), AS_OF).check(b'{"event_id": "x", "_a": 1}', 0)
    assert isinstance(verdict, Rejected) and verdict.reason == "schema"
