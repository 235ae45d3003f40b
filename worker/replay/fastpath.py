"""A msgspec fast path for inline JSON Schemas: decode and validate in one C call.

Measured (bench/bench_validation.py): orjson + fastjsonschema cost ~3.6 µs per order event,
msgspec decoding into a Struct ~0.7 µs. The schema is translated into Structs only for a
conservative subset where msgspec accepting an event implies the JSON Schema accepts it; an event
msgspec rejects goes through the full path (orjson + fastjsonschema) for its verdict and reason,
so the result never depends on which path ran. Schemas outside the subset get no fast path.
"""

from __future__ import annotations

import keyword
from typing import Annotated, Any, Literal, Union

import msgspec

_ANNOTATIONS = {"title", "description", "$comment", "examples", "default"}
_TOP = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties", "$schema"}
# No `pattern`: msgspec runs it on Python's backtracking `re`; schemas with patterns take the full
# path, where they run on RE2 (`schema_patterns.py`).
_STRING = {"minLength", "maxLength", "enum"}
_NUMBER = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}
_META = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "minLength": "min_length",
    "maxLength": "max_length",
}


class NoFastPath(Exception):
    pass


def _bounded(base: Any, schema: dict[str, Any], allowed: set[str]) -> Any:
    extra = set(schema) - allowed - _ANNOTATIONS - {"type"}
    if extra:
        raise NoFastPath(", ".join(sorted(extra)))
    meta = {_META[k]: v for k, v in schema.items() if k in _META}
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if key in schema and (isinstance(schema[key], bool) or not isinstance(schema[key], int | float)):
            raise NoFastPath(key)
    return Annotated[base, msgspec.Meta(**meta)] if meta else base


def _type_for(schema: Any, name: str) -> Any:
    if schema is True or schema == {}:
        return Any
    if not isinstance(schema, dict):
        raise NoFastPath(repr(schema))
    kind = schema.get("type")
    if "enum" in schema:
        options = schema["enum"]
        if kind not in (None, "string") or set(schema) - _ANNOTATIONS - {"type", "enum"}:
            raise NoFastPath("enum with other keywords")
        if not options or not all(isinstance(o, str) for o in options):
            raise NoFastPath("non-string enum")
        return Literal[tuple(options)]
    if kind == "string":
        return _bounded(str, schema, _STRING - {"enum"})
    if kind == "number":
        # msgspec's float accepts JSON integers too, as "number" does; it refuses booleans, as it should.
        return _bounded(float, schema, _NUMBER)
    if kind == "boolean":
        return _bounded(bool, schema, set())
    if kind == "array":
        if set(schema) - _ANNOTATIONS - {"type", "items"}:
            raise NoFastPath("array keywords")
        return list[_type_for(schema.get("items", True), name)]  # type: ignore[misc]
    if kind == "object":
        return _struct(schema, name)
    # "integer" (JSON Schema accepts 1.0, msgspec does not), "null", unions, $ref, ...: no fast path.
    raise NoFastPath(f"type {kind!r}")


def _struct(schema: dict[str, Any], name: str) -> type[msgspec.Struct]:
    if set(schema) - _TOP:
        raise NoFastPath(", ".join(sorted(set(schema) - _TOP)))
    extra = schema.get("additionalProperties", True)
    if not isinstance(extra, bool):
        raise NoFastPath("additionalProperties as a schema")
    props: dict[str, Any] = schema.get("properties", {})
    required = list(schema.get("required", []))
    fields: list[Any] = []
    rename: dict[str, str] = {}
    for index, prop in enumerate(sorted(set(props) | set(required))):
        attr = prop if prop.isidentifier() and not keyword.iskeyword(prop) and not prop.startswith("_") else f"f{index}"
        if attr in rename:  # a made-up name equal to a real property: one rule would be lost
            raise NoFastPath(f"field name clash on {prop!r}")
        rename[attr] = prop
        typ = _type_for(props.get(prop, True), f"{name}_{index}")
        if prop in required:
            fields.append((attr, typ))
        else:
            fields.append((attr, Union[typ, msgspec.UnsetType], msgspec.UNSET))  # noqa: UP007
    fields.sort(key=lambda f: len(f) == 3)  # required fields first, as Structs require
    return msgspec.defstruct(name, fields, rename=rename, forbid_unknown_fields=not extra, kw_only=True)


def compile_fast_path(schema: dict[str, Any], id_field: str) -> tuple[msgspec.json.Decoder[Any], str] | None:
    """A decoder and the attribute holding the event id, or None where the schema is out of the subset."""
    if schema.get("type") != "object" or id_field not in schema.get("required", ()):
        return None
    try:
        struct = _struct(schema, "Event")
    except NoFastPath:
        return None
    attr = struct.__struct_fields__[struct.__struct_encode_fields__.index(id_field)]
    return msgspec.json.Decoder(struct), attr
