"""An inline JSON Schema carried to the workers as one file: its bytes, their digest, and the
worker's verified load of the file a task names (`tasks.SchemaFile`).

The operator writes the bytes once per replay (an immutable ConfigMap, mounted read-only into
every partition Job) instead of copying the schema into each Job's env: a Job's env is bounded
(128 KiB per value) and every retry's Job and pod would hold another copy in etcd. The task names
the file and its sha256; the worker refuses a file whose digest differs (a permanent failure, with
the reason), so a schema edited after the plan was frozen never validates that plan.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from .exit_codes import PermanentFailure
from .tasks import SchemaFile

SCHEMA_KEY = "schema.json"
"""The file's name: the ConfigMap's key, and so the file's name in the mounted directory."""


def encode(schema: dict[str, Any]) -> bytes:
    """The file's bytes: compact JSON with sorted keys, so one schema always gives one digest."""
    return orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load(ref: SchemaFile) -> dict[str, Any]:
    """The schema the file holds; PermanentFailure when it is missing, altered or not a JSON object
    (retrying would read the same immutable file)."""
    try:
        with open(ref.path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise PermanentFailure(f"validation.jsonSchema file {ref.path} cannot be read: {err}") from err
    found = digest(data)
    if found != ref.sha256:
        raise PermanentFailure(
            f"validation.jsonSchema file {ref.path} has sha256 {found}, not the planned {ref.sha256}: "
            "the schema changed after the plan was frozen"
        )
    try:
        schema = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise PermanentFailure(f"validation.jsonSchema file {ref.path} is not JSON: {err}") from err
    if not isinstance(schema, dict):
        raise PermanentFailure(f"validation.jsonSchema file {ref.path} does not hold a JSON object")
    return schema
