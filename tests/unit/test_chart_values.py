"""values.yaml: every key commented, every key declared in values.schema.json, defaults valid."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

CHART = Path(__file__).resolve().parents[2] / "charts" / "eventreplay-operator"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z][\w-]*):")
OPAQUE = {("resources",)}
"""Values whose content is Kubernetes data (requests/limits), documented as a whole."""


def _values() -> dict[str, Any]:
    return dict(yaml.safe_load((CHART / "values.yaml").read_text()))


def _schema() -> dict[str, Any]:
    return dict(json.loads((CHART / "values.schema.json").read_text()))


def _key_lines() -> list[tuple[tuple[str, ...], int, str, str]]:
    """(path, line number, the line, the previous non-blank line) for every key in values.yaml."""
    out: list[tuple[tuple[str, ...], int, str, str]] = []
    stack: list[tuple[int, str]] = []
    previous = ""
    for number, line in enumerate((CHART / "values.yaml").read_text().splitlines(), start=1):
        match = KEY.match(line)
        if match:
            indent = len(match["indent"])
            stack = [(i, k) for i, k in stack if i < indent] + [(indent, match["key"])]
            out.append((tuple(k for _, k in stack), number, line, previous))
        if line.strip():
            previous = line
    return out


def test_every_key_has_a_comment() -> None:
    missing = [
        f"values.yaml:{number}: {'.'.join(path)}"
        for path, number, line, previous in _key_lines()
        if not any(path[: i + 1] in OPAQUE for i in range(len(path) - 1))
        and not previous.lstrip().startswith("#")
        and " #" not in line
    ]
    assert missing == []


def _declared(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return dict(defs[ref.rsplit("/", 1)[-1]]) if ref else schema


def _undeclared(values: dict[str, Any], schema: dict[str, Any], defs: dict[str, Any], path: str) -> list[str]:
    found: list[str] = []
    props = schema.get("properties")
    if props is None:
        return found  # a free-form object (labels, affinity, ...)
    for key, value in values.items():
        if key not in props:
            found.append(f"{path}{key}")
        elif isinstance(value, dict):
            found += _undeclared(value, _declared(props[key], defs), defs, f"{path}{key}.")
    return found


def test_every_value_is_declared_in_the_schema_and_the_defaults_are_valid() -> None:
    schema, values = _schema(), _values()
    assert schema["additionalProperties"] is False
    assert _undeclared(values, schema, schema["definitions"], "") == []
    assert sorted(schema["properties"]) == sorted(values)
    jsonschema.Draft7Validator(schema).validate(values)


@pytest.mark.parametrize(
    ("override", "where"),
    [
        ({"watchNamespaces": "payments"}, "watchNamespaces"),
        ({"serviceMonitor": {"enabled": "yes"}}, "enabled"),
        ({"metrics": {"port": "9090"}}, "port"),
        ({"image": {"repository": "r", "digest": "latest"}}, "digest"),
        ({"operator": {"kafka": {"settingsSecretRef": {"name": "k", "key": "s", "namespace": "other"}}}}, "namespace"),
        ({"replicas": 2}, "replicas"),
    ],
)
def test_schema_rejects_wrong_types_and_unknown_keys(override: dict[str, Any], where: str) -> None:
    values = {**_values(), **override}
    with pytest.raises(jsonschema.ValidationError) as err:
        jsonschema.Draft7Validator(_schema()).validate(values)
    assert where in str(err.value)
