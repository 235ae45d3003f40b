"""`spec.sink.key: transform`: a registered transform returns a `Record` (value, key, headers). The
worker splits it (`replay/transform.py`): the value is written like a plain transform's, the key
and headers travel to the sink record; anything else it returns, or a reserved header, is a dead
letter with the reason `transform`. Admission refuses the key without a registered transform."""

from __future__ import annotations

import re
from typing import Any

import pytest
from operator_fixtures import spec
from pydantic import ValidationError

from eventreplay.operator.api.v1alpha1.sink import RECORD_NEEDS_USER_TRANSFORM
from eventreplay.worker.contract.transform_record import Record
from eventreplay.worker.replay.transform import BuiltTransform, Shaped, output_step, record_parts
from eventreplay.worker.runtime.formats import Rejected


@pytest.mark.parametrize(
    ("record", "parts"),
    [
        (
            Record({"b": 1, "a": 2}, "cust-1", [("fixed-by", "vat")]),
            (b'{"a":2,"b":1}', (b"cust-1", [("fixed-by", b"vat")])),
        ),
        (Record(b"raw", b"\x00k", ()), (b"raw", (b"\x00k", []))),
        (Record("text"), (b"text", (None, []))),
    ],
)
def test_a_record_splits_into_value_key_and_headers(record: Record, parts: tuple[bytes, Shaped]) -> None:
    assert record_parts(record) == parts


@pytest.mark.parametrize(
    ("result", "why"),
    [
        ({"a": 1}, "returned dict, not a Record"),
        (Record({}, 7), "Record.key is int"),  # type: ignore[arg-type]
        (Record({}, "k", [("er-replay-uid", "forged")]), "outside `er-\\*`"),
        (Record({}, "k", [("", "x")]), "a non-empty name"),
        (Record({}, "k", [("h", 1)]), "is int: bytes or str"),  # type: ignore[list-item]
    ],
)
def test_anything_else_is_a_transform_dead_letter(result: Any, why: str) -> None:
    rejected = record_parts(result)
    assert isinstance(rejected, Rejected) and rejected.reason == "transform"
    assert re.search(why, rejected.message), rejected.message


def test_the_output_step_keeps_the_parts_of_outputs_that_passed_in_order() -> None:
    def fix(doc: dict[str, Any], _raw: bytes) -> Any:
        return Record({**doc, "fixed": True}, doc["c"], [("n", str(doc["n"]))]) if doc["n"] != 2 else {"bad": 1}

    built = BuiltTransform(fix, identity=False, user_code=True, record=True)
    shaped: list[Shaped] = []
    output = output_step(built, None, None, shaped)
    assert output is not None
    outs = [output({"n": n, "c": f"c{n}"}, b"") for n in range(4)]
    assert isinstance(outs[2], Rejected)
    assert [o for o in outs if not isinstance(o, Rejected)] == [
        b'{"c":"c%d","fixed":true,"n":%d}' % (n, n) for n in (0, 1, 3)
    ]
    assert shaped == [(b"c0", [("n", b"0")]), (b"c1", [("n", b"1")]), (b"c3", [("n", b"3")])]


def test_admission_wants_a_registered_transform_for_a_record_key() -> None:
    with pytest.raises(ValidationError, match="registered transform"):
        spec(sink={"topic": "out", "key": "transform"})
    assert RECORD_NEEDS_USER_TRANSFORM.startswith("sink.key transform")
    replay = spec(sink={"topic": "out", "key": "transform"}, transform={"function": "fixes:vat"})
    shape = replay.sink.record()
    assert shape.from_transform and shape.timestamp == "source" and shape.headers is not None
