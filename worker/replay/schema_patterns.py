"""JSON Schema `pattern` and `patternProperties` run in linear time: RE2 instead of Python's `re`.

A tenant's schema is code the worker runs on every event. Python's backtracking `re` takes
exponential time on patterns such as `^(a+)+$` against "aaaa…!": one record would hang its
partition until the Job's deadline. RE2 guarantees time linear in the input; a pattern it cannot
run that way (backreferences, lookarounds) is refused up front with the pattern named, a permanent
failure, rather than run slowly. RE2's classes (`\\d`, `\\w`) are ASCII, as in ECMA-262, the
dialect JSON Schema specifies.

fastjsonschema keeps the compiled patterns of a validator in its `REGEX_PATTERNS` global (keyed
by the pattern as written; `pattern` compiled with un-escaped `$` as `\\Z`); `bind` replaces the
schema's own entries there with RE2 objects, leaving the library's `format` expressions alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import re2

# An un-escaped `$` (also inside []-sets, as fastjsonschema finds it): end of the input in JSON
# Schema, `\z` in RE2 (Python's `$` also matches before a final newline).
_DOLLAR = re.compile(r"(?<!\\)\$")


class UnsafePattern(ValueError):
    """A schema pattern RE2 cannot run in linear time (or cannot parse)."""


def linear(pattern: str) -> Any:
    """The pattern compiled by RE2; UnsafePattern when RE2 refuses it."""
    try:
        return re2.compile(_DOLLAR.sub(r"\\z", pattern))
    except re2.error as err:
        raise UnsafePattern(
            f"validation.jsonSchema pattern {pattern!r} cannot run in linear time (RE2: {err}); "
            "backreferences and lookarounds are not supported"
        ) from err


def schema_patterns(schema: Any) -> Iterator[str]:
    """Every `pattern` value and `patternProperties` key in a schema, at any depth."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from (k for k in value if isinstance(k, str))
            if key not in ("enum", "const", "examples", "default"):  # values there are data
                yield from schema_patterns(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from schema_patterns(item)


def bind(validator: Callable[[Any], Any], schema: Any) -> None:
    """Swap the Python regexes a fastjsonschema validator holds for the schema's patterns with RE2."""
    patterns = set(schema_patterns(schema))
    compiled = {p: linear(p) for p in patterns}  # refuse before anything runs
    if not compiled:
        return
    table = getattr(validator, "__globals__", {}).get("REGEX_PATTERNS")
    if not isinstance(table, dict):
        raise RuntimeError("fastjsonschema no longer keeps REGEX_PATTERNS: schema patterns would run on `re`")
    for pattern, rx in compiled.items():
        if pattern in table:
            table[pattern] = rx
