"""Admission of `spec.validation.jsonSchema`: bounded in size, and every `$ref` resolved inside it.

The schema is code the worker compiles: a `$ref` to another document (`http://`, `file:`, a
relative path) would make the worker fetch it, and a `$id` with a scheme would make a `#` ref
resolve against a remote document. Both are refused here with the offending value named (the
worker refuses any fetch on its own too: worker/replay/schema_refs.py). The size bound keeps the
one ConfigMap that carries the schema to the Jobs small (`operator/schema_config_map.py`).
CEL cannot serialize an object of preserved unknown fields, so these checks are the model's only:
the operator stalls such a replay as InvalidSpec before planning.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import orjson

MAX_INLINE_SCHEMA_BYTES = 64 * 1024
"""The largest inline schema admitted, serialized as compact JSON."""


def _remote(node: Any, path: str) -> Iterator[str]:
    """`what at /json/pointer` for each `$ref` not starting with `#` and each `$id`/`id` URI with a scheme."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _remote(item, f"{path}/{i}")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        where = f"{path}/{key}"
        if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
            yield f"$ref {value!r} at {where}"
        elif key in ("$id", "id") and isinstance(value, str) and urlsplit(value).scheme:
            yield f"{key} {value!r} at {where}"
        else:
            yield from _remote(value, where)


def check(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema, or a ValueError naming what is refused."""
    try:
        size = len(orjson.dumps(schema))
    except orjson.JSONEncodeError as err:  # nested deeper than orjson's 255 levels: bounds the walk below
        raise ValueError(f"validation.jsonSchema cannot be serialized: {err}") from err
    if size > MAX_INLINE_SCHEMA_BYTES:
        raise ValueError(
            f"validation.jsonSchema is {size} bytes serialized, above the {MAX_INLINE_SCHEMA_BYTES}-byte bound; "
            "validate with a registered model (validation.model) instead"
        )
    for found in _remote(schema, ""):
        raise ValueError(
            f"validation.jsonSchema: {found} points outside the schema; only refs inside it "
            "('#/definitions/...') are resolved, nothing is fetched"
        )
    return schema
