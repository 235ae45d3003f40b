"""Deterministic transforms: the same event always gives the same output bytes.

Built-ins: `identity` (the input bytes, untouched) and `project` (keep `fields`, sorted keys).
A registered `module:function` (`registry.py`) takes the event as a dict and returns a dict
(encoded with sorted keys), bytes or str. Determinism is checked on the first batch (each event transformed twice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from ..contract.exit_codes import PermanentFailure
from ..contract.tasks import Transform
from ..runtime.formats import Encode, Rejected
from .registry import TRANSFORMS, resolve

Fn = Callable[[dict[str, Any], bytes], bytes]
Output = Callable[[dict[str, Any], bytes], "bytes | Rejected"]


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

    @property
    def needs_doc(self) -> bool:
        """Whether the validator must hand over the parsed event (the identity never reads it)."""
        return not self.identity


def build(spec: Transform) -> BuiltTransform:
    """The transform of a task; the one place that decides whether it is the identity."""
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
    return BuiltTransform(lambda doc, _raw: _encode(user(doc)), identity=False, user_code=True)


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


def output_step(built: BuiltTransform, encode: Encode | None, unencoded: list[bytes] | None) -> Output | None:
    """What follows validation: the transform, then the sink's encoding (`unencoded` collects the JSON
    outputs that encoded); None when the output is the validated value as it is."""
    transform = None if built.identity else built.fn
    if transform is None and encode is None:
        return None

    def output(doc: dict[str, Any], value: bytes) -> bytes | Rejected:
        out = value
        if transform is not None:
            try:
                out = transform(doc, value)
            except Exception as err:  # noqa: BLE001 - user code: the event is dead-lettered with the error
                return Rejected("transform", f"{type(err).__name__}: {err}"[:300])
        if encode is None:
            return out
        coded = encode(out)
        if unencoded is not None and type(coded) is not Rejected:
            unencoded.append(out)
        return coded

    return output
