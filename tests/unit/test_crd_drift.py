"""The committed CRD equals the one generated from the pydantic models, and is complete."""

from __future__ import annotations

from typing import Any

import yaml

from eventreplay.operator import crdgen


def test_committed_crd_matches_the_models() -> None:
    assert crdgen.CRD_PATH.read_text() == crdgen.render(), (
        "crds/ drifted from operator/api/v1alpha1: run `python -m eventreplay.operator.crdgen`"
    )


def _walk(node: dict[str, Any], path: str, out: list[str]) -> None:
    for name, sub in (node.get("properties") or {}).items():
        here = f"{path}.{name}"
        if "description" not in sub and here not in (".apiVersion", ".kind", ".metadata"):
            out.append(here)
        _walk(sub, here, out)
    if isinstance(node.get("items"), dict):
        _walk(node["items"], path + "[]", out)


def test_every_field_has_a_description_and_no_json_schema_leftovers() -> None:
    schema = crdgen.openapi_schema()
    missing: list[str] = []
    _walk(schema, "", missing)
    assert missing == []
    text = yaml.safe_dump(schema)
    for leftover in ("$ref", "anyOf", "additionalProperties: false", "title:", "$defs"):
        assert leftover not in text


def test_names_columns_and_status_subresource() -> None:
    crd = crdgen.crd()
    version = crd["spec"]["versions"][0]
    assert crd["spec"]["names"]["shortNames"] == ["er"]
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == [
        "Phase",
        "Topic",
        "Partitions",
        "Progress",
        "Rate",
        "ETA",
        "Reconciled",
        "Promoted",
        "Age",
    ]


def test_cel_rules_carry_messages() -> None:
    rules: list[dict[str, str]] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            rules.extend(node.get("x-kubernetes-validations", []))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(crdgen.openapi_schema())
    assert len(rules) >= 15
    assert all(r.get("message") for r in rules)


def test_status_schema_has_no_defaults() -> None:
    status = crdgen.openapi_schema()["properties"]["status"]
    assert "default:" not in yaml.safe_dump(status)


def test_check_mode(tmp_path: Any) -> None:
    target = tmp_path / "crd.yaml"
    assert crdgen.main(["--output", str(target), "--check"]) == 1
    assert crdgen.main(["--output", str(target)]) == 0
    assert crdgen.main(["--output", str(target), "--check"]) == 0


def test_committed_watch_crd_matches_the_models() -> None:
    assert crdgen.WATCH_CRD_PATH.read_text() == crdgen.render(crdgen.WATCH), "run `make crds`"


def test_watch_crd_is_complete_and_structural() -> None:
    schema = crdgen.openapi_schema(crdgen.WATCH)
    missing: list[str] = []
    _walk(schema, "", missing)
    assert missing == []
    text = yaml.safe_dump(schema)
    for leftover in ("$ref", "anyOf", "additionalProperties: false", "title:", "$defs"):
        assert leftover not in text
    assert "default:" not in yaml.safe_dump(schema["properties"]["status"])
    crd = crdgen.crd(crdgen.WATCH)
    assert crd["metadata"]["name"] == "eventreplaywatches.eventreplay.io"
    assert crd["spec"]["names"]["shortNames"] == ["erw"]
    assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}
