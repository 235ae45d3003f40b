"""Reconciliation's destination ids from a header (`eventId.source: header`) and the record key as
part of the compared content (`compareKey`): the canonical form, the id reading, admission and the
tasks the operator builds."""

from __future__ import annotations

from typing import Any

import pytest
from operator_fixtures import plan, spec
from pydantic import ValidationError

from eventreplay.cli.report_source import existing_id
from eventreplay.operator import crdgen
from eventreplay.operator.api.v1alpha1 import EventIdSource as ApiEventIdSource
from eventreplay.operator.api.v1alpha1 import Reconciliation
from eventreplay.operator.job_names import Owner
from eventreplay.operator.job_tasks import build_gap_task, build_reconcile_task
from eventreplay.worker.contract.headers import SINK_KEY_HEADER
from eventreplay.worker.contract.sink_record import sink_key
from eventreplay.worker.contract.step_tasks import (
    EVENT_ID_FIELD_RULE,
    EVENT_ID_HEADER_RULE,
    EventIdSource,
    ReconcileTask,
)
from eventreplay.worker.contract.summaries import EventIdPlan
from eventreplay.worker.contract.tasks import ValueFormat
from eventreplay.worker.promotion.rewrites import production_ids
from eventreplay.worker.reconciliation.reconcile import CANONICAL_FORM, form_name
from eventreplay.worker.runtime.canonical import UNCOMPARED, canonical_form, canonical_hash, event_id_of, id_at

VALUE = b'{"id": "e-1", "amount": 3}'
BY_HEADER = EventIdSource(source="header", header="x-id")


# -- the canonical form --------------------------------------------------------------------------


def test_without_the_key_the_form_is_what_it_always_was() -> None:
    framed = len(b'j{"amount":3,"id":"e-1"}').to_bytes(4, "big") + b'j{"amount":3,"id":"e-1"}'
    assert canonical_form(VALUE, None, ()) == canonical_form(VALUE, None, (), UNCOMPARED) == framed
    # An uncompared key changes nothing, whatever the records' keys are.
    assert canonical_hash(VALUE, [("h", b"v")], ["h"]) == canonical_hash(VALUE, [("h", b"v")], ["h"], UNCOMPARED)


def test_a_compared_key_is_part_of_the_content() -> None:
    assert canonical_hash(VALUE, key=b"customer-1") == canonical_hash(VALUE, key=b"customer-1")
    assert canonical_hash(VALUE, key=b"customer-1") != canonical_hash(VALUE, key=b"customer-2")
    assert canonical_hash(VALUE, key=b"customer-1") != canonical_hash(VALUE)  # compared or not: other forms
    # A null key is not an empty one, and neither is the value's absence.
    assert len({canonical_hash(VALUE, key=None), canonical_hash(VALUE, key=b""), canonical_hash(VALUE)}) == 3
    # Framed: the key cannot borrow bytes from a header value.
    assert canonical_form(VALUE, [("h", b"ab")], ["h"], b"c") != canonical_form(VALUE, [("h", b"a")], ["h"], b"bc")


def test_the_replayed_side_is_compared_with_the_key_promotion_writes() -> None:
    assert sink_key(b"e-1", [("trace", b"t"), (SINK_KEY_HEADER, b"customer-7")]) == b"customer-7"
    assert sink_key(b"e-1", [(SINK_KEY_HEADER, None)]) is None  # a source record without a key
    assert sink_key(b"e-1", [("trace", b"t")]) == b"e-1"  # keyed by event id: the sandbox key
    assert sink_key(b"e-1", None) == b"e-1"


# -- ids from a header ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("x-id", b"e-7")], "e-7"),
        ([("other", b"x"), ("x-id", b"e-7"), ("x-id", b"e-8")], "e-7"),  # the first, as validation reads it
        ([("x-id", b"")], None),
        ([("x-id", None)], None),
        ([("x-id", b"\xff")], None),
        ([("X-ID", b"e-7")], None),  # names are case-sensitive
        (None, None),
    ],
)
def test_an_id_from_a_header(headers: Any, expected: str | None) -> None:
    assert event_id_of(b"key", VALUE, BY_HEADER, headers) == expected
    assert id_at(BY_HEADER.ref, b"key", VALUE, headers) == expected
    # The CLI's report reader finds the same id by the report's plan.
    assert existing_id(b"key", VALUE, EventIdPlan(source="header", header="x-id"), headers) == expected


def test_the_reference_is_parsed_once_per_task() -> None:
    assert BY_HEADER.ref is BY_HEADER.ref
    assert (BY_HEADER.ref.kind, BY_HEADER.ref.name) == ("header", "x-id")
    assert EventIdSource().ref.kind == "key"
    assert EventIdSource(source="valueField", field="a.b").ref.path == ("a", "b")


def test_promotion_reads_production_ids_from_the_header_too() -> None:
    records = [(b"k1", b"{}", [("x-id", b"e-1")]), (b"k2", b"{}", []), (b"k3", b"{}", [("x-id", b"e-3")])]
    assert production_ids(records, BY_HEADER) == {"e-1", "e-3"}


# -- admission and the contract --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"source": "header"}, EVENT_ID_HEADER_RULE),
        ({"source": "key", "header": "x-id"}, EVENT_ID_HEADER_RULE),
        ({"source": "valueField", "field": "id", "header": "x-id"}, EVENT_ID_HEADER_RULE),
        ({"source": "header", "header": "x-id", "field": "id"}, EVENT_ID_FIELD_RULE),
        ({"source": "header", "header": "x id"}, "should match pattern"),
        ({"source": "header", "header": ""}, "should match pattern"),
    ],
)
def test_a_bad_event_id_source_is_refused(body: dict[str, Any], message: str) -> None:
    for model in (ApiEventIdSource, EventIdSource):
        with pytest.raises(ValidationError, match=message):
            model.model_validate(body)


def test_admission_checks_the_header_rule_with_the_same_message() -> None:
    event_id = crdgen.openapi_schema()["properties"]["spec"]["properties"]["reconciliation"]["properties"]["eventId"]
    rules = {r["message"]: r["rule"] for r in event_id["x-kubernetes-validations"]}
    assert rules[EVENT_ID_HEADER_RULE] == "(self.source == 'header') == has(self.header)"
    assert rules[EVENT_ID_FIELD_RULE] == "(self.source == 'valueField') == has(self.field)"
    assert "header" in event_id["properties"]["source"]["enum"]


def test_compare_key_is_off_unless_asked_and_has_no_schema_default() -> None:
    assert Reconciliation().compare_key is False
    schema = crdgen.openapi_schema()["properties"]["spec"]["properties"]["reconciliation"]["properties"]
    assert schema["compareKey"]["type"] == "boolean" and "default" not in schema["compareKey"]
    with pytest.raises(ValidationError):
        Reconciliation.model_validate({"compareKey": "sometimes"})


OWNER = Owner("ns", "r", "uid-1")
PLAN = plan([(0, 0, 100)])


def test_the_tasks_carry_the_header_source_and_compare_key() -> None:
    s = spec(reconciliation={"eventId": {"source": "header", "header": "x-id"}, "compareKey": True})
    task = build_reconcile_task(s, PLAN, OWNER)
    assert (task.event_id.source, task.event_id.header, task.canonical.key) == ("header", "x-id", True)
    assert ReconcileTask.model_validate_json(task.to_json()) == task
    gaps = build_gap_task(s, PLAN, 60)
    assert (gaps.event_id.source, gaps.event_id.header) == ("header", "x-id")
    default = build_reconcile_task(spec(), PLAN, OWNER)
    assert (default.event_id.source, default.event_id.header, default.canonical.key) == ("key", None, False)
    assert "key" not in default.canonical.model_dump(exclude_defaults=True)


def test_the_report_names_the_form_it_compared() -> None:
    plain = build_reconcile_task(spec(), PLAN, OWNER)
    assert form_name(plain) == CANONICAL_FORM == "sorted-key-json+headers/v1"  # the hash of old reports holds
    keyed = plain.model_copy(update={"canonical": plain.canonical.model_copy(update={"key": True})})
    assert form_name(keyed) == "sorted-key-json+headers+key/v1"
    avro = keyed.model_copy(update={"sink_format": ValueFormat.model_construct(format="avro")})
    assert form_name(avro) == "avro-decoded+sorted-key-json+headers+key/v1"
