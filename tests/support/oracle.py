"""An independent reference for what a replay of one partition must produce.

Written separately from the worker (plain dicts, the `jsonschema` reference library, hashlib),
so the worker's counts and output are checked against a second implementation, not itself.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import orjson


@dataclass
class Expected:
    emitted: list[tuple[bytes, bytes]] = field(default_factory=list)
    emitted_offsets: list[int] = field(default_factory=list)
    duplicate: int = 0
    processed: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    dead_offsets: list[int] = field(default_factory=list)

    @property
    def dead_lettered(self) -> int:
        return sum(self.reasons.values())

    @property
    def digest(self) -> str:
        """Emitted records grouped by blocks of 1024 source offsets; per block one SHA-256 over
        the length-prefixed keys and values, chained in block order."""
        blocks: dict[int, Any] = {}
        for offset, (key, value) in zip(self.emitted_offsets, self.emitted, strict=True):
            record = len(key).to_bytes(4, "big") + key + len(value).to_bytes(4, "big") + value
            blocks.setdefault(offset // 1024, hashlib.sha256()).update(record)
        state = bytes(32)
        for number in sorted(blocks):
            state = hashlib.sha256(state + blocks[number].digest()).digest()
        return state.hex()


def replay(
    values: Iterable[tuple[int, bytes | None]],
    schema: dict[str, Any] | None,
    id_field: str = "event_id",
    production: dict[str, bytes] | None = None,
) -> Expected:
    """values: (offset, raw value) in offset order. production: id -> raw value already processed."""
    out = Expected()
    first: dict[str, bytes] = {}
    validator = jsonschema.Draft7Validator(schema) if schema else None

    def dead(offset: int, reason: str) -> None:
        out.reasons[reason] += 1
        out.dead_offsets.append(offset)

    for offset, raw in values:
        if raw is None:
            dead(offset, "tombstone")
            continue
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            dead(offset, "malformed_json")
            continue
        if not isinstance(doc, dict):
            dead(offset, "schema")
            continue
        event_id = doc.get(id_field)
        if not isinstance(event_id, str | int) or isinstance(event_id, bool) or event_id == "":
            dead(offset, "missing_id")
            continue
        if validator is not None and not validator.is_valid(doc):
            dead(offset, "schema")
            continue
        key = str(event_id)
        if production is not None and key in production:
            if production[key] == raw:
                out.processed += 1
            else:
                dead(offset, "conflict")
            continue
        if key in first:
            if first[key] == raw:
                out.duplicate += 1
            else:
                dead(offset, "conflict")
            continue
        first[key] = raw
        out.emitted.append((key.encode(), raw))
        out.emitted_offsets.append(offset)
    return out
