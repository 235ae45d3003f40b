"""Pure parts of reconciliation: canonical content hash, id order, checksums, classes, report hash.

Canonical form of one record (what "same output" means):
  value:   null -> b"n"; JSON -> b"j" + compact JSON with keys sorted at every depth (orjson
           OPT_SORT_KEYS), so key order and whitespace do not matter but types do (1 != 1.0);
           anything orjson cannot parse (not JSON, NaN, ints beyond 64 bits) -> b"r" + raw bytes.
  headers: for each chosen name in sorted order: the name and the value of its LAST occurrence
           (absent and empty are different).
  key:     only when compared (`canonical.key`, spec.reconciliation.compareKey), last: the record
           key's raw bytes (null and empty are different). A replayed record's key is the one it is
           promoted with (`sink_record.sink_key`), so it matches the sink record promotion would write.
  Every piece is length-prefixed (4 bytes, big endian; absent = 0xFFFFFFFF), so no two
  different forms concatenate to the same bytes. Per-id hash = SHA-256(form)[:16].

Id order: ids are ordered by (BLAKE2b-128(id), id). Redis buckets are the top bits of that
digest, so walking buckets in index order and sorting inside each bucket visits ids in the global
order whatever the bucket count: checksums do not depend on how the work was spilled.

Checksum of one side = SHA-256 over, for each id in id order: len(id) (4 bytes) || id || per-id
hash. It depends only on the set of (id, content) pairs (not arrival order, partition or
duplicates), is collision resistant (unlike a sum or XOR of hashes, which cancel), and needs one
bucket in memory at a time.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from hashlib import blake2b
from typing import Any, Final, Literal

import msgspec
import orjson

from ..contract import source_ref
from ..contract.source_ref import SourceRef
from ..contract.step_tasks import EventIdSource

Class = Literal["unchanged", "changed", "missing", "extra"]
CLASSES: tuple[Class, ...] = ("unchanged", "changed", "missing", "extra")
HASH_BYTES = 16
_ABSENT = b"\xff\xff\xff\xff"
HeaderValue = bytes | str | None
Headers = Iterable[tuple[str, HeaderValue]] | Mapping[str, HeaderValue]


def _framed(piece: bytes) -> bytes:
    return len(piece).to_bytes(4, "big") + piece


def canonical_value(value: bytes | None) -> bytes:
    if value is None:
        return b"n"
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return b"r" + value
    return b"j" + orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


class _Uncompared(Enum):
    KEY = "uncompared"


UNCOMPARED: Final = _Uncompared.KEY
"""The key argument when the key is not part of the content: the form is then what it was before keys were."""
Key = bytes | None | Literal[_Uncompared.KEY]


def canonical_form(value: bytes | None, headers: Headers | None, names: Iterable[str], key: Key = UNCOMPARED) -> bytes:
    parts = [_framed(canonical_value(value))]
    wanted = sorted(set(names))
    if wanted:
        last: dict[str, bytes | None] = {}
        pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
        for name, raw in pairs:
            if name in wanted:
                last[name] = raw.encode() if isinstance(raw, str) else raw
        for name in wanted:
            parts.append(_framed(name.encode()))
            got = last.get(name)
            parts.append(_ABSENT if got is None else _framed(got))
    if key is not UNCOMPARED:
        parts.append(_ABSENT if key is None else _framed(key))
    return b"".join(parts)


def canonical_hash(
    value: bytes | None, headers: Headers | None = None, names: Iterable[str] = (), key: Key = UNCOMPARED
) -> bytes:
    return hashlib.sha256(canonical_form(value, headers, names, key)).digest()[:HASH_BYTES]


def bucket_bits(entries: int, per_bucket: int = 48) -> int:
    """Bits of id digest naming a bucket, so a bucket holds ~per_bucket entries (listpack-sized)."""
    want = max(1, entries // per_bucket)
    return min(24, (want - 1).bit_length())


def bucket_of(event_id: str, bits: int) -> int:
    return int.from_bytes(id_digest(event_id)[:4], "big") >> (32 - bits)


def id_order(event_id: str) -> tuple[bytes, str]:
    return id_digest(event_id), event_id


def event_id_of(
    key: bytes | None, value: bytes | None, spec: EventIdSource, headers: source_ref.Headers = None
) -> str | None:
    """The event id of a destination record, or None when it has none (counted as unidentified)."""
    return id_at(spec.ref, key, value, headers)


def id_at(ref: SourceRef, key: bytes | None, value: bytes | None, headers: source_ref.Headers = None) -> str | None:
    """The id a source reference names in a record (its value parsed as JSON only when a field is read)."""
    doc: Any = None
    if not ref.reads_record:
        if value is None:
            return None
        try:
            doc = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    raw = ref.read(doc, key, headers)
    # Same rule as the worker's validator: a non-empty string or an integer (not a bool).
    if isinstance(raw, bool) or not isinstance(raw, str | int) or raw == "":
        return None
    return str(raw)


def classify(replayed: bytes | None, existing: bytes | None) -> Class:
    if replayed is None:
        if existing is None:
            raise ValueError("an id must be on at least one side")
        return "extra"
    if existing is None:
        return "missing"
    return "unchanged" if replayed == existing else "changed"


class Checksum:
    """SHA-256 over (id, per-id hash) in id order; refuses out-of-order input (a bug, not data)."""

    def __init__(self) -> None:
        self._sha = hashlib.sha256()
        self._last: tuple[bytes, str] | None = None
        self.count = 0

    def add(self, event_id: str, digest: bytes) -> None:
        order = id_order(event_id)
        if self._last is not None and order <= self._last:
            raise ValueError(f"checksum input out of id order at {event_id!r}")
        self._last = order
        raw = event_id.encode()
        self._sha.update(len(raw).to_bytes(4, "big") + raw + digest)
        self.count += 1

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


class Samples:
    """The k smallest ids (by string order) seen for one class: deterministic, O(k) memory."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.ids: list[str] = []

    def add(self, event_id: str) -> None:
        if self.k == 0 or (len(self.ids) == self.k and event_id >= self.ids[-1]):
            return
        bisect.insort(self.ids, event_id)
        del self.ids[self.k :]


def report_hash(report: object) -> str:
    """SHA-256 (hex) of the report's canonical JSON (sorted keys, compact); a `summaries.Report` is
    hashed as its JSON object."""
    return hashlib.sha256(orjson.dumps(msgspec.to_builtins(report), option=orjson.OPT_SORT_KEYS)).hexdigest()


def epoch_ms(value: Any) -> float | None:
    """An event-time value (epoch ms number, or RFC 3339 with a zone) as epoch ms; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return None
        return parsed.timestamp() * 1000.0
    return None


def id_digest(event_id: str) -> bytes:
    """An event id's 16-byte BLAKE2b digest: its ledger field and its promotion bucket."""
    return blake2b(event_id.encode(), digest_size=16).digest()
