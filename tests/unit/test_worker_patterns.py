"""Schema patterns run on RE2 (linear time): a backtracking pattern cannot hang a worker, one RE2
cannot run is refused by name, and ordinary patterns keep their JSON Schema meaning."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from typing import Any

import fastjsonschema
import pytest

from eventreplay.worker.contract.exit_codes import PermanentFailure
from eventreplay.worker.contract.tasks import Validation
from eventreplay.worker.replay.schema_patterns import UnsafePattern, bind, linear, schema_patterns
from eventreplay.worker.replay.validate import Validator
from eventreplay.worker.runtime.formats import Rejected

AS_OF = datetime(2026, 11, 21, tzinfo=UTC)
EVIL = "^(a+)+$"
HOSTILE = "a" * 5000 + "!"


def schema(pattern: str, **more: Any) -> dict[str, Any]:
    props = {"event_id": {"type": "string"}, "s": {"type": "string", "pattern": pattern}}
    return {"type": "object", "required": ["event_id"], "properties": props, **more}


def test_every_pattern_of_a_schema_is_found_at_any_depth_but_not_in_data() -> None:
    doc = {
        "properties": {"a": {"pattern": "x"}, "b": {"items": [{"pattern": "y"}]}},
        "patternProperties": {"^k_": {"type": "string"}},
        "enum": [{"pattern": "data, not a rule"}],
    }
    assert sorted(schema_patterns(doc)) == ["^k_", "x", "y"]


def test_a_backtracking_pattern_is_judged_at_once_in_a_child_process() -> None:
    # In a child with a hard timeout: were it Python's `re`, this would run for longer than the
    # universe has existed, and the timeout would fail the test instead of hanging the suite.
    code = textwrap.dedent(f"""
        from datetime import UTC, datetime
        from eventreplay.worker.contract.tasks import Validation
        from eventreplay.worker.replay.validate import Validator
        from eventreplay.worker.runtime.formats import Rejected
        import orjson
        v = Validator(Validation(json_schema={schema(EVIL)!r}), datetime(2026, 11, 21, tzinfo=UTC))
        verdict = v.check(orjson.dumps({{"event_id": "e", "s": {HOSTILE!r}}}), 0)
        assert isinstance(verdict, Rejected) and verdict.reason == "schema", verdict
        print("rejected")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "rejected", done.stderr[-2000:]


def test_the_validator_holds_re2_objects_for_the_schemas_patterns() -> None:
    validate = fastjsonschema.compile(schema(EVIL))
    bind(validate, schema(EVIL))
    table = validate.__globals__["REGEX_PATTERNS"]  # type: ignore[attr-defined]
    assert type(table[EVIL]).__module__.startswith("re2")


@pytest.mark.parametrize("pattern", [r"^(a)\1$", r"^(?=a)a$", r"^a(?!b)", r"(?<=x)y"])
def test_a_pattern_re2_cannot_run_is_a_permanent_failure_naming_it(pattern: str) -> None:
    with pytest.raises(UnsafePattern):
        linear(pattern)
    with pytest.raises(PermanentFailure, match="cannot run in linear time") as err:
        Validator(Validation(json_schema=schema(pattern)), AS_OF)
    assert repr(pattern) in str(err.value)


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("^[A-Z]{3}$", "EUR", True),
        ("^[A-Z]{3}$", "EURO", False),
        ("^[A-Z]{3}$", "EUR\n", False),  # `$` is the end of the input, as in JSON Schema
        ("ab", "xaby", True),  # unanchored: found anywhere
        (r"^\d+$", "123", True),
        (r"^\d+$", "١٢٣", False),  # ECMA-262 \d is ASCII
        ("^(created|paid|shipped)$", "paid", True),
        ("^(created|paid|shipped)$", "paidx", False),
        (r"\$", "a$b", True),  # an escaped `$` is a dollar sign
    ],
)
def test_ordinary_patterns_keep_their_meaning(pattern: str, value: str, matches: bool) -> None:
    v = Validator(Validation(json_schema=schema(pattern)), AS_OF)
    verdict = v.check(f'{{"event_id": "e", "s": "{value}"}}'.encode().replace(b"\n", b"\\n"), 0)
    assert (not isinstance(verdict, Rejected)) == matches


def test_pattern_properties_run_on_re2_too() -> None:
    evil = {"type": "object", "required": ["event_id"], "patternProperties": {EVIL: {"type": "integer"}}}
    v = Validator(Validation(json_schema=evil), AS_OF)
    assert isinstance(v.check(b'{"event_id": "e", "aaa": "not an integer"}', 0), Rejected)
    assert not isinstance(v.check(('{"event_id": "e", "' + HOSTILE + '": "x"}').encode(), 0), Rejected)
