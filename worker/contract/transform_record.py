"""What a transform returns when it shapes the whole sink record (`spec.sink.key: transform`).

A registered transform is a function of the event (a dict); by default it returns the new value.
With `spec.sink.key: transform` it returns a `Record` instead: the value as a plain transform
returns it (a dict, written as sorted-key JSON, or bytes, or str), the promoted record's key (bytes,
str as UTF-8, or None for a null key) and headers to add to it (after the source headers the sink
keeps; names `er-*` are the replay's and refused). It stays a pure function of the event: the
worker checks that, and reports and retries depend on it.

    from eventreplay.worker.contract.transform_record import Record

    def fix_vat(order: dict) -> Record:
        fixed = {**order, "vat": round(order["net"] * 0.2, 2)}
        return Record(value=fixed, key=order["customer_id"], headers=[("fixed-by", "vat-2026-12")])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Record:
    """A transform's whole sink record: value, key and the headers it adds."""

    value: Any
    key: bytes | str | None = None
    headers: Sequence[tuple[str, bytes | str]] = ()
