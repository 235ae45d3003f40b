"""Deterministic transforms: the same event always gives the same output bytes.

Built-ins: `identity` (the input bytes, untouched) and `project` (keep `fields`, sorted keys).
A registered `module:function` (`registry.py`) takes the event as a dict and returns a dict
(encoded with sorted keys), bytes or str; with `spec.sink.key: transform` it returns a `Record`
(`contract/transform_record.py`): that value, the sink key and headers to add. Determinism is
checked on the first batch (each event transformed twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from ..contract.exit_codes import PermanentFailure
from ..contract.headers import RESERVED_PREFIX
from ..contract.tasks import Transform
from ..contract.transform_record import Record
from ..runtime.formats import Rejected
from ..runtime.sink_encoding import Encode
from .registry import TRANSFORMS, resolve

Fn = Callable[[dict[str, Any], bytes], bytes]
Output = Callable[[dict[str, Any], bytes], "bytes | Rejected"]
Shaped = tuple[bytes | None, list[tuple[str, bytes]]]
"""What a `Record` adds to its value: the sink key and the headers."""


def _encode(result: Any) -> bytes:
    if isinstance(result, bytes):
        return result
    if isinstance(result, str):
        return result.encode()
    return orjson.dumps(result, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class BuiltTransform:
    """A transform ready to run, and what the replay may skip because of it."""

    fn: Fn
    identity: bool
    """The output is the input bytes: the engine does not call `fn`."""
    user_code: bool
    """Registered user code: its determinism must be checked."""
    record: bool = False
    """`fn` returns a `Record` (`spec.sink.key: transform`), not only the value."""

    @property
    def needs_doc(self) -> bool:
        """Whether the validator must hand over the parsed event (the identity never reads it)."""
        return not self.identity


def build(spec: Transform, *, record: bool = False) -> BuiltTransform:
    """The transform of a task; the one place that decides whether it is the identity. `record`: the
    user function returns a `Record` (the sink record's key and headers too)."""
    if spec.function == "identity":
        return BuiltTransform(lambda _doc, raw: raw, identity=True, user_code=False)
    if spec.function == "project":
        fields = tuple(spec.fields or ())
        return BuiltTransform(
            lambda doc, _raw: _encode({k: doc[k] for k in fields if k in doc}), identity=False, user_code=False
        )
    user = resolve(TRANSFORMS, spec.function)
    if not callable(user):
        raise PermanentFailure(f"transform {spec.function!r} is not callable")
    if record:
        return BuiltTransform(lambda doc, _raw: user(doc), identity=False, user_code=True, record=True)
    return BuiltTransform(lambda doc, _raw: _encode(user(doc)), identity=False, user_code=True)


def record_parts(result: Any) -> tuple[bytes, Shaped] | Rejected:
    """A `Record`'s value bytes, key and headers; a dead letter for anything else or a reserved header."""
    if type(result) is not Record:
        return Rejected("transform", f"returned {type(result).__name__}, not a Record (spec.sink.key: transform)")
    key = result.key.encode() if isinstance(result.key, str) else result.key
    if key is not None and not isinstance(key, bytes):
        return Rejected("transform", f"Record.key is {type(key).__name__}: bytes, str or None")
    headers: list[tuple[str, bytes]] = []
    for name, raw in result.headers:
        if not isinstance(name, str) or not name or name.startswith(RESERVED_PREFIX):
            return Rejected("transform", f"Record header {name!r}: a non-empty name outside `er-*` (the replay's)")
        if not isinstance(raw, bytes | str):
            return Rejected("transform", f"Record header {name!r} is {type(raw).__name__}: bytes or str")
        headers.append((name, raw.encode() if isinstance(raw, str) else raw))
    return _encode(result.value), (key, headers)


def check_deterministic(fn: Fn, name: str, samples: list[tuple[dict[str, Any], bytes]]) -> None:
    for doc, raw in samples:
        try:
            first, second = fn(dict(doc), raw), fn(dict(doc), raw)
        except Exception:  # noqa: BLE001 - a failing event is dead-lettered later, not judged here
            continue
        if first != second:
            raise PermanentFailure(
                f"transform {name!r} is not deterministic: the same event gave two different outputs"
            )


def output_step(
    built: BuiltTransform, encode: Encode | None, unencoded: list[bytes] | None, shaped: list[Shaped] | None
) -> Output | None:
    """What follows validation: the transform, then the sink's encoding; `unencoded` collects the
    JSON outputs, `shaped` a `Record`'s key and headers, of the outputs that passed (in order). None
    when the output is the validated value as it is."""
    transform = None if built.identity else built.fn
    if transform is None and encode is None:
        return None
    record = built.record

    def output(doc: dict[str, Any], value: bytes) -> bytes | Rejected:
        out, parts = value, None
        if transform is not None:
            try:
                out = transform(doc, value)
            except Exception as err:  # noqa: BLE001 - user code: the event is dead-lettered with the error
                return Rejected("transform", f"{type(err).__name__}: {err}"[:300])
            if record:
                if type(split := record_parts(out)) is Rejected:
                    return split
                out, parts = split  # type: ignore[misc]
        coded = out if encode is None else encode(out)
        if type(coded) is not Rejected:
            if unencoded is not None:
                unencoded.append(out)
            if shaped is not None and parts is not None:
                shaped.append(parts)
        return coded

    return output
