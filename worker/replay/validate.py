"""Turn a raw record into a valid event, or into a dead-letter reason. Never raises on data.

Reason classes (the `er-reason` header and the checkpoint's `reasons` keys):
tombstone, oversized, malformed_json, schema, missing_id, invariant, transform, conflict; and
the decode step's format, schema-unknown, decode (`formats.py`).
Libraries chosen by measurement (bench/bench_validation.py): orjson to parse, fastjsonschema
for inline JSON Schema (compiled once, `$ref` resolved inside the schema only), msgspec or
pydantic for registered `module:Class` models (`registry.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import fastjsonschema
import msgspec
import orjson

from ..contract.exit_codes import PermanentFailure
from ..contract.schema_file import load
from ..contract.source_ref import Headers, parse
from ..contract.tasks import Validation
from ..runtime.canonical import epoch_ms
from ..runtime.formats import Rejected
from . import schema_patterns
from .fastpath import compile_fast_path
from .registry import MODELS, resolve
from .schema_refs import NO_REMOTE, RemoteRef

_NO_DOC: dict[str, Any] = {}
"""Handed to transforms that never read the parsed event (identity): parsing is skipped."""

Valid = tuple[str, dict[str, Any]]
"""(event id as a string, the parsed event)."""


def _model_checker(ref: str) -> Callable[[dict[str, Any]], object]:
    model = resolve(MODELS, ref)
    if isinstance(model, type) and issubclass(model, msgspec.Struct):
        return lambda doc: msgspec.convert(doc, model)
    validate = getattr(model, "model_validate", None)
    if validate is None:
        raise PermanentFailure(f"validation model {ref!r} is neither a pydantic model nor a msgspec Struct")
    checker: Callable[[dict[str, Any]], object] = validate
    return checker


class Validator:
    def __init__(self, spec: Validation, as_of: datetime, needs_doc: bool = True) -> None:
        self._id_spec, self._ts_spec = spec.event_id_field, spec.timestamp_field
        self._id_ref = parse(spec.event_id_field)
        self._id_field = self._id_ref.top_level  # None: the id is in the key, a header or a nested field
        self._max_bytes = spec.max_event_bytes
        self._schema: Callable[[Any], Any] | None = None
        # A Job's task names the mounted schema file; `eventreplay run` passes it inline.
        json_schema = load(spec.json_schema_file) if spec.json_schema_file is not None else spec.json_schema
        if json_schema is not None:
            try:
                self._schema = fastjsonschema.compile(json_schema, handlers=NO_REMOTE)
                schema_patterns.bind(self._schema, json_schema)
            except (fastjsonschema.JsonSchemaDefinitionException, re.error) as err:
                # re.error: a pattern fastjsonschema cannot compile (e.g. `$` inside a []-set).
                raise PermanentFailure(f"validation.jsonSchema is not a valid JSON Schema: {err}") from err
            except (schema_patterns.UnsafePattern, RemoteRef) as err:
                raise PermanentFailure(str(err)) from err
        self._model = _model_checker(spec.model) if spec.model else None
        self._fast: Callable[[bytes], Any] | None = None
        self._fast_attr = ""
        self._needs_doc = needs_doc
        fast_ok = self._id_field is not None and spec.max_future_skew_seconds is None
        if json_schema is not None and self._model is None and fast_ok:
            compiled = compile_fast_path(json_schema, spec.event_id_field)
            if compiled is not None:
                self._fast, self._fast_attr = compiled[0].decode, compiled[1]
        self._ts_ref = parse(spec.timestamp_field) if spec.timestamp_field else None
        self.reads_record = self._id_ref.reads_record or (self._ts_ref is not None and self._ts_ref.reads_record)
        """Whether `check_full` needs the record's key and headers."""
        self._latest_ms: float | None = None
        if spec.max_future_skew_seconds is not None:
            self._latest_ms = as_of.timestamp() * 1000.0 + spec.max_future_skew_seconds * 1000.0

    def check(self, value: bytes | None, record_ts_ms: int) -> Valid | Rejected:
        return self.check_fast(value) or self.check_full(value, record_ts_ms)

    def check_fast(self, value: bytes | None) -> Valid | None:
        """The verdict for an event the fast path accepts, else None (then `check_full` decides).

        Needs no record timestamp: the fast path only exists when no invariant reads it, so the
        hot loop skips fetching it for the common case.
        """
        fast = self._fast
        if fast is None or value is None or len(value) > self._max_bytes:
            return None
        try:
            event = fast(value)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None  # the full path gives the verdict and the reason
        event_id = getattr(event, self._fast_attr)
        if type(event_id) is str and event_id:
            return event_id, (orjson.loads(value) if self._needs_doc else _NO_DOC)
        return None

    def check_full(
        self, value: bytes | None, record_ts_ms: int, key: bytes | None = None, headers: Headers = None
    ) -> Valid | Rejected:
        if value is None:
            return Rejected("tombstone", "null value (tombstone)")
        if len(value) > self._max_bytes:
            return Rejected("oversized", f"{len(value)} bytes > maxEventBytes {self._max_bytes}")
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError as err:
            return Rejected("malformed_json", str(err)[:200])
        if not isinstance(doc, dict):
            return Rejected("schema", f"event is a JSON {type(doc).__name__}, not an object")
        field = self._id_field
        event_id = doc.get(field) if field is not None else self._id_ref.read(doc, key, headers)
        if type(event_id) is not str or not event_id:  # the common case costs one test
            if type(event_id) is not int:
                return Rejected("missing_id", f"no usable {self._id_spec!r} (string or integer)")
            event_id = str(event_id)
        if self._schema is not None:
            try:
                self._schema(doc)
            except fastjsonschema.JsonSchemaException as err:
                return Rejected("schema", str(err)[:300])
            except Exception as err:  # noqa: BLE001 - e.g. RecursionError: the event's fault, not the Job's
                return Rejected("schema", f"{type(err).__name__}: {err}"[:300])
        if self._model is not None:
            try:
                self._model(doc)
            except (ValueError, TypeError, msgspec.ValidationError) as err:
                return Rejected("schema", str(err)[:300])
            except Exception as err:  # noqa: BLE001 - user code: whatever it raises rejects this event only
                return Rejected("schema", f"{type(err).__name__}: {err}"[:300])
        if self._latest_ms is not None:
            ref = self._ts_ref
            stamp = epoch_ms(ref.read_time(doc, key, headers)) if ref is not None else float(record_ts_ms)
            if stamp is None:
                return Rejected("invariant", f"timestamp field {self._ts_spec!r} missing or unparsable")
            if stamp > self._latest_ms:
                return Rejected("invariant", "event time is later than asOf + maxFutureSkewSeconds")
        return event_id, doc
